{{- /*
ceilometer.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "ceilometer.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "ceilometer.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "ceilometer" "component" .component) -}}
{{- end -}}

{{- /*
ceilometer.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "ceilometer.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "ceilometer.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "ceilometer" "component" .component) -}}
{{- end -}}

{{- /*
ceilometer.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "ceilometer.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "ceilometer.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "ceilometer" "component" .component) -}}
{{- end -}}
