{{- /*
glance.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "glance.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "glance.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "glance" "component" .component) -}}
{{- end -}}

{{- /*
glance.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "glance.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "glance.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "glance" "component" .component) -}}
{{- end -}}

{{- /*
glance.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "glance.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "glance.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "glance" "component" .component) -}}
{{- end -}}
