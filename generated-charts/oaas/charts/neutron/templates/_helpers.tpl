{{- /*
neutron.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "neutron.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "neutron.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "neutron" "component" .component) -}}
{{- end -}}

{{- /*
neutron.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "neutron.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "neutron.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "neutron" "component" .component) -}}
{{- end -}}

{{- /*
neutron.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "neutron.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "neutron.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "neutron" "component" .component) -}}
{{- end -}}
