{{- /*
horizon.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "horizon.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "horizon.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "horizon" "component" .component) -}}
{{- end -}}

{{- /*
horizon.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "horizon.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "horizon.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "horizon" "component" .component) -}}
{{- end -}}

{{- /*
horizon.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "horizon.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "horizon.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "horizon" "component" .component) -}}
{{- end -}}
