{{- /*
heat.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "heat.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "heat.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "heat" "component" .component) -}}
{{- end -}}

{{- /*
heat.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "heat.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "heat.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "heat" "component" .component) -}}
{{- end -}}

{{- /*
heat.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "heat.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "heat.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "heat" "component" .component) -}}
{{- end -}}
