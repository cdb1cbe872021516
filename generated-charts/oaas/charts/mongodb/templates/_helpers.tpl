{{- /*
mongodb.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "mongodb.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "mongodb.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "mongodb" "component" .component) -}}
{{- end -}}

{{- /*
mongodb.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "mongodb.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "mongodb.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "mongodb" "component" .component) -}}
{{- end -}}

{{- /*
mongodb.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "mongodb.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "mongodb.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "mongodb" "component" .component) -}}
{{- end -}}
