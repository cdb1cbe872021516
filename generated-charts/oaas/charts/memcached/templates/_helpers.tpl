{{- /*
memcached.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "memcached.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "memcached.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "memcached" "component" .component) -}}
{{- end -}}

{{- /*
memcached.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "memcached.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "memcached.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "memcached" "component" .component) -}}
{{- end -}}

{{- /*
memcached.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "memcached.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "memcached.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "memcached" "component" .component) -}}
{{- end -}}
