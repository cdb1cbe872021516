{{- /*
nova.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "nova.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "nova.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "nova" "component" .component) -}}
{{- end -}}

{{- /*
nova.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "nova.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "nova.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "nova" "component" .component) -}}
{{- end -}}

{{- /*
nova.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "nova.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "nova.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "nova" "component" .component) -}}
{{- end -}}
