{{- /*
etcd.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "etcd.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "etcd.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "etcd" "component" .component) -}}
{{- end -}}

{{- /*
etcd.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "etcd.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "etcd.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "etcd" "component" .component) -}}
{{- end -}}

{{- /*
etcd.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "etcd.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "etcd.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "etcd" "component" .component) -}}
{{- end -}}
