{{- /*
galera.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "galera.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "galera.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "galera" "component" .component) -}}
{{- end -}}

{{- /*
galera.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "galera.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "galera.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "galera" "component" .component) -}}
{{- end -}}

{{- /*
galera.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "galera.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "galera.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "galera" "component" .component) -}}
{{- end -}}
