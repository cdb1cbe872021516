{{- /*
oaas-lib.secrets.value: the base64 value of one generated secret key, in this order of precedence:
the deployer's override (values secrets.<key>), the value already stored in the cluster (so upgrades
keep it), else a new random value. Never a default literal.
Usage: {{ include "oaas-lib.secrets.value" (dict "context" $ "secret" $name "key" "dbPassword" "format" "alphanumeric" "length" 32) }}
Params: context (root context, required); secret (string, required: the Secret's name); key (string,
  required); format ("alphanumeric" or "fernet", required); length (int, required for alphanumeric)
*/ -}}
{{- define "oaas-lib.secrets.value" -}}
{{- $override := index (.context.Values.secrets | default dict) .key -}}
{{- $existing := lookup "v1" "Secret" .context.Release.Namespace .secret -}}
{{- if $override -}}
{{- $override | b64enc -}}
{{- else if and $existing $existing.data (index $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else if eq .format "fernet" -}}
{{- randAlphaNum 32 | b64enc | replace "+" "-" | replace "/" "_" | b64enc -}}
{{- else -}}
{{- randAlphaNum (int .length) | b64enc -}}
{{- end -}}
{{- end -}}
