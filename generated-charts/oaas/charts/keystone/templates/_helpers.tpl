{{- /*
keystone.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "keystone.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "keystone.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "keystone" "component" .component) -}}
{{- end -}}

{{- /*
keystone.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "keystone.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "keystone.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "keystone" "component" .component) -}}
{{- end -}}

{{- /*
keystone.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "keystone.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "keystone.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "keystone" "component" .component) -}}
{{- end -}}
