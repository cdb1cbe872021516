{{- /*
rabbitmq.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "rabbitmq.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "rabbitmq.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "rabbitmq" "component" .component) -}}
{{- end -}}

{{- /*
rabbitmq.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "rabbitmq.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "rabbitmq.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "rabbitmq" "component" .component) -}}
{{- end -}}

{{- /*
rabbitmq.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "rabbitmq.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "rabbitmq.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "rabbitmq" "component" .component) -}}
{{- end -}}
