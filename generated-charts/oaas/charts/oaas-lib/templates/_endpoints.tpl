{{- /*
oaas-lib.endpoints.members: one entry per pod of a quorum/members component, following its replica
count, e.g. "oaas-rabbitmq-server-0.oaas-rabbitmq-server:5672,oaas-rabbitmq-server-1...".
Usage: {{ include "oaas-lib.endpoints.members" (dict "context" $ "service" "rabbitmq" "component" "server" "governing" "" "replicas" 3 "port" "5672" "format" "[host]:[port]" "separator" ",") }}
Params: context (root context, required); service, component (strings, required); governing (string,
  required: suffix of the governing headless Service, "" or "-headless"); replicas (int, required);
  port (string, may be empty); format (string, required: [host] [fqdn] [port] [ordinal] [name] are
  replaced, and [rest:TEXT] becomes TEXT on every member but the first; [fqdn] is [host] with the
  namespace and cluster domain, for resolvers that do not apply the pod's search domains, e.g.
  HAProxy's); separator (string, required)
*/ -}}
{{- define "oaas-lib.endpoints.members" -}}
{{- $name := include "oaas-lib.names.fullname" . -}}
{{- $domain := printf "%s%s" $name .governing -}}
{{- $entries := list -}}
{{- range $ordinal := until (int .replicas) -}}
{{- $pod := printf "%s-%d" $name $ordinal -}}
{{- $fqdn := printf "%s.%s.%s.svc.%s" $pod $domain $.context.Release.Namespace ($.context.Values.global.clusterDomain | default "cluster.local") -}}
{{- $entry := $.format | replace "[host]" (printf "%s.%s" $pod $domain) | replace "[fqdn]" $fqdn | replace "[port]" $.port | replace "[ordinal]" (toString $ordinal) | replace "[name]" $pod -}}
{{- $entry = regexReplaceAll "\\[rest:([^\\]]*)\\]" $entry (ternary "" "${1}" (eq $ordinal 0)) -}}
{{- $entries = append $entries $entry -}}
{{- end -}}
{{- join .separator $entries -}}
{{- end -}}
