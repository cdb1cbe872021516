{{- /*
cinder.fullname: name of a component's objects. Delegates to oaas-lib.names.fullname.
Usage: {{ include "cinder.fullname" (dict "context" $ "component" "api") }}
*/ -}}
{{- define "cinder.fullname" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" "cinder" "component" .component) -}}
{{- end -}}

{{- /*
cinder.labels: standard labels of a component's objects. Delegates to oaas-lib.labels.standard.
Usage: {{ include "cinder.labels" (dict "context" $ "component" "api") | nindent 4 }}
*/ -}}
{{- define "cinder.labels" -}}
{{- include "oaas-lib.labels.standard" (dict "context" .context "service" "cinder" "component" .component) -}}
{{- end -}}

{{- /*
cinder.selectorLabels: immutable selector labels of a component. Delegates to oaas-lib.labels.selector.
Usage: {{ include "cinder.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}
*/ -}}
{{- define "cinder.selectorLabels" -}}
{{- include "oaas-lib.labels.selector" (dict "context" .context "service" "cinder" "component" .component) -}}
{{- end -}}
