{{- /*
zookeeper.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "zookeeper.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "zookeeper.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "zookeeper" "component" .component) -}}
{{- end -}}

{{- /*
zookeeper.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "zookeeper.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "zookeeper.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "zookeeper" "component" .component) -}}
{{- end -}}

{{- /*
zookeeper.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "zookeeper.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "zookeeper.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "zookeeper" "component" .component) -}}
{{- end -}}
