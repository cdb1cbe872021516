{{- /*
gnocchi.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "gnocchi.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "gnocchi.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "gnocchi" "component" .component) -}}
{{- end -}}

{{- /*
gnocchi.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "gnocchi.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "gnocchi.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "gnocchi" "component" .component) -}}
{{- end -}}

{{- /*
gnocchi.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "gnocchi.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "gnocchi.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "gnocchi" "component" .component) -}}
{{- end -}}
