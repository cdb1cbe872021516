{{- /*
aodh.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "aodh.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "aodh.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "aodh" "component" .component) -}}
{{- end -}}

{{- /*
aodh.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "aodh.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "aodh.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "aodh" "component" .component) -}}
{{- end -}}

{{- /*
aodh.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "aodh.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "aodh.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "aodh" "component" .component) -}}
{{- end -}}
