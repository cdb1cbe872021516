{{- /*
oaas-lib.labels.standard: the labels of every object (Helm and Kubernetes recommended labels).
Usage: {{ include "oaas-lib.labels.standard" (dict "context" $ "service" "galera" "component" "server") | nindent 4 }}
Params: context (root context, required), service (string, required), component (string, required)
*/ -}}
{{- define "oaas-lib.labels.standard" -}}
{{ include "oaas-lib.labels.selector" . }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
app.kubernetes.io/part-of: oaas
app.kubernetes.io/version: {{ .context.Chart.AppVersion | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
helm.sh/chart: {{ printf "%s-%s" .context.Chart.Name .context.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- /*
oaas-lib.labels.selector: the immutable selector labels (never version or chart: those change).
Usage: {{ include "oaas-lib.labels.selector" (dict "context" $ "service" "galera" "component" "server") | nindent 6 }}
Params: context (root context, required), service (string, required), component (string, required)
*/ -}}
{{- define "oaas-lib.labels.selector" -}}
app.kubernetes.io/name: {{ .service }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
