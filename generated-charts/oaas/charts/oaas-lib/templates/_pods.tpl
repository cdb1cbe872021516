{{- /*
oaas-lib.pods.image: "repository:tag" of an image entry of values, or "repository@sha256:..." when it
has a digest (a tag can be re-published; a digest names one build).
Usage: image: {{ include "oaas-lib.pods.image" .Values.images.keystone }}
Params: the image map {repository, tag, digest (optional)}
*/ -}}
{{- define "oaas-lib.pods.image" -}}
{{- include "oaas-lib.pods.imageRef" . | quote -}}
{{- end -}}

{{- /*
oaas-lib.pods.imageRef: the same reference unquoted, to put inside another string (e.g. a list of
name=image pairs).
Usage: {{ include "oaas-lib.pods.imageRef" .Values.images.keystone }}
Params: as oaas-lib.pods.image
*/ -}}
{{- define "oaas-lib.pods.imageRef" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{- /*
oaas-lib.pods.configChecksum: the sha256 of the data of a subchart's ConfigMap, for the pod
template's checksum/config annotation. Only the files count: the ConfigMap's labels carry the
release and chart versions, and hashing them rolled every database and broker pod on each release
upgrade although not one of their files had changed.
Usage: checksum/config: {{ include "oaas-lib.pods.configChecksum" (include (print $.Template.BasePath "/configmap.yaml") $) }}
Params: the rendered ConfigMap
*/ -}}
{{- define "oaas-lib.pods.configChecksum" -}}
{{- $configMap := fromYaml . -}}
{{- if hasKey $configMap "Error" -}}
{{- fail (printf "the ConfigMap does not parse, cannot hash its files: %s" $configMap.Error) -}}
{{- end -}}
{{- pick $configMap "data" "binaryData" | toJson | sha256sum -}}
{{- end -}}

{{- /*
oaas-lib.pods.nodeSelector: the node role's label (from global.nodeRoles) plus extra labels.
Usage: {{ include "oaas-lib.pods.nodeSelector" (dict "context" $ "role" "controller" "extra" $values.nodeSelector) | nindent 8 }}
Params: context (root context, required); role (string, required: a key of global.nodeRoles); extra (map, optional)
*/ -}}
{{- define "oaas-lib.pods.nodeSelector" -}}
{{- $role := index .context.Values.global.nodeRoles .role | required (printf "global.nodeRoles.%s is not set" .role) -}}
{{- $labels := dict $role.key ($role.value | toString) -}}
{{- $labels = merge (deepCopy (.extra | default dict)) $labels -}}
{{- toYaml $labels -}}
{{- end -}}

{{- /*
oaas-lib.pods.antiAffinity: spread a component's pods over nodes (kubernetes.io/hostname).
Usage: {{ include "oaas-lib.pods.antiAffinity" (dict "context" $ "service" "galera" "component" "server" "mode" "required") | nindent 8 }}
Params: context, service, component (required); mode ("required", "preferred" or "none", required)
*/ -}}
{{- define "oaas-lib.pods.antiAffinity" -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "oaas-lib.labels.selector" . | fromYaml)) -}}
{{- if eq .mode "required" -}}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    {{- toYaml (list $term) | nindent 4 }}
{{- else if eq .mode "preferred" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    {{- toYaml (list (dict "weight" 100 "podAffinityTerm" $term)) | nindent 4 }}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{- /*
oaas-lib.pods.restrictedSecurity: the container securityContext of helper containers: nothing allowed.
Usage: securityContext: {{- include "oaas-lib.pods.restrictedSecurity" . | nindent 12 }}
*/ -}}
{{- define "oaas-lib.pods.restrictedSecurity" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65534
runAsGroup: 65534
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- /*
oaas-lib.pods.waitFor: an init container that waits, with a timeout and a message saying what it
waits for, until a TCP endpoint accepts connections. ($$ keeps Kubernetes from expanding $( ).)
Usage: {{- include "oaas-lib.pods.waitFor" (dict "context" $ "label" "galera.haproxy.mysql" "host" $host "port" 3306) | nindent 8 }}
Params: context (root context, required); label (string, required); host (string, required); port (int, required)
*/ -}}
{{- define "oaas-lib.pods.waitFor" -}}
{{- $timeout := int (.context.Values.global.waitTimeoutSeconds | default 600) -}}
- name: {{ printf "wait-%s" (.label | replace "." "-") | lower | trunc 63 | trimSuffix "-" }}
  image: {{ include "oaas-lib.pods.image" .context.Values.global.waitImage }}
  imagePullPolicy: {{ .context.Values.global.waitImage.pullPolicy | default "IfNotPresent" }}
  command: ["/bin/sh", "-c"]
  args:
    - |
      start=$$(date +%s)
      # A connect with nothing to send: busybox's nc without the optional -z (Debian's) does this too.
      until nc -w 2 {{ .host }} {{ .port }} </dev/null >/dev/null 2>&1; do
        waited=$$(( $$(date +%s) - start ))
        if [ "$waited" -ge {{ $timeout }} ]; then
          echo "gave up after {{ $timeout }}s: {{ .label }} ({{ .host }}:{{ .port }}) does not accept connections" >&2
          exit 1
        fi
        echo "waiting for {{ .label }} ({{ .host }}:{{ .port }}): ${waited}s of {{ $timeout }}s"
        sleep 2
      done
      echo "{{ .label }} ({{ .host }}:{{ .port }}) is up"
  resources:
    requests: {cpu: 10m, memory: 16Mi, ephemeral-storage: 8Mi}
    limits: {cpu: 100m, memory: 32Mi, ephemeral-storage: 32Mi}
  securityContext:
    {{- include "oaas-lib.pods.restrictedSecurity" . | nindent 4 }}
{{- end -}}

{{- /*
oaas-lib.pods.renderConfigScript: the POSIX sh script of the render-config init container. It copies
configuration files from the ConfigMap into a memory-backed volume, replacing each $(NAME) placeholder
with the value of the environment variable NAME: secrets come from Secrets at pod start and never
enter a ConfigMap or the rendered chart. Pipe through `replace "$(" "$$("` inside container args.
Usage: {{ include "oaas-lib.pods.renderConfigScript" (dict "files" (list "keystone.conf") "names" (list "DB_PASSWORD")) }}
Params: files (list of file names, required); names (list of variable names, required)
*/ -}}
{{- define "oaas-lib.pods.renderConfigScript" -}}
for file in {{ join " " .files }}; do
  cp "/oaas/config-templates/$file" "/oaas/config/$file.tmp"
  for name in {{ join " " .names }}; do
    # Shell expansion, not printenv: names are identifiers, and any POSIX sh (busybox builds
    # without the printenv applet included) has it.
    eval "defined=\${$name+yes} value=\${$name-}"
    [ "$defined" = yes ] || { echo "environment variable $name is not set" >&2; exit 1; }
    escaped=$(printf '%s' "$value" | sed -e 's/[\\|&]/\\&/g')
    sed -i "s|[$]($name)|$escaped|g" "/oaas/config/$file.tmp"
  done
  mv "/oaas/config/$file.tmp" "/oaas/config/$file"
  chmod 0400 "/oaas/config/$file"
  echo "rendered $file"
done
{{- end -}}
