{{- /*
oaas-lib.names.fullname: name of a component's objects, `<release>-<service>-<component>`.
Usage: {{ include "oaas-lib.names.fullname" (dict "context" $ "service" "galera" "component" "server") }}
Params: context (root context, required), service (string, required), component (string, required)
*/ -}}
{{- define "oaas-lib.names.fullname" -}}
{{- printf "%s-%s-%s" .context.Release.Name .service .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /*
oaas-lib.names.secret: name of the Secret holding a service's generated credentials.
Usage: {{ include "oaas-lib.names.secret" (dict "context" $ "service" "keystone") }}
Params: context (root context, required), service (string, required)
*/ -}}
{{- define "oaas-lib.names.secret" -}}
{{- printf "%s-%s" .context.Release.Name .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /*
oaas-lib.names.config: name of the ConfigMap holding a service's configuration files.
Usage: {{ include "oaas-lib.names.config" (dict "context" $ "service" "keystone") }}
Params: context (root context, required), service (string, required)
*/ -}}
{{- define "oaas-lib.names.config" -}}
{{- printf "%s-%s-config" .context.Release.Name .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /*
oaas-lib.names.check: fails the render when a StatefulSet name would exceed 52 characters
(its pods carry a 63-character controller-revision-hash label).
Usage: {{ include "oaas-lib.names.check" (dict "name" $name) }}
Params: name (string, required)
*/ -}}
{{- define "oaas-lib.names.check" -}}
{{- if gt (len .name) 52 -}}
{{- fail (printf "object name %q is %d characters; StatefulSet names may have at most 52: choose a shorter release name" .name (len .name)) -}}
{{- end -}}
{{- end -}}
