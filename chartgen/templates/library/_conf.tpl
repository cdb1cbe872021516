{{- /*
oaas-lib.conf.render: a configuration file from structured options.
Usage: {{ include "oaas-lib.conf.render" (dict "format" "ini" "options" $options) | nindent 4 }}
Params: format ("ini", "yaml", "json" or "text", required); options (map, or string for text, required)
*/ -}}
{{- define "oaas-lib.conf.render" -}}
{{- if eq .format "ini" -}}
{{- include "oaas-lib.conf.ini" .options -}}
{{- else if eq .format "yaml" -}}
{{- toYaml .options -}}
{{- else if eq .format "json" -}}
{{- toPrettyJson .options -}}
{{- else -}}
{{- .options -}}
{{- end -}}
{{- end -}}

{{- /*
oaas-lib.conf.ini: an oslo.config style INI file; [DEFAULT] first, then sections and options sorted.
Lists are joined with commas; whole numbers print without an exponent.
Usage: {{ include "oaas-lib.conf.ini" $options }}
Params: the options map {section: {option: value}}
*/ -}}
{{- define "oaas-lib.conf.ini" -}}
{{- $sections := keys . | sortAlpha -}}
{{- if hasKey . "DEFAULT" -}}
{{- $sections = prepend (without $sections "DEFAULT") "DEFAULT" -}}
{{- end -}}
{{- range $index, $section := $sections -}}
{{- if $index }}{{ "\n" }}{{ end -}}
[{{ $section }}]
{{ range $option, $value := index $ $section -}}
{{ $option }} = {{ include "oaas-lib.conf.scalar" $value }}
{{ end -}}
{{- end -}}
{{- end -}}

{{- /*
oaas-lib.conf.scalar: one option value as text (lists comma-joined, 3.0 as 3, booleans lowercase).
Usage: {{ include "oaas-lib.conf.scalar" $value }}
*/ -}}
{{- define "oaas-lib.conf.scalar" -}}
{{- if kindIs "slice" . -}}
{{- $items := list -}}
{{- range . }}{{ $items = append $items (include "oaas-lib.conf.scalar" .) }}{{ end -}}
{{- join "," $items -}}
{{- else if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}
