{{- /*
oaas-lib.secrets.overrides: the Secret holding the deployer's values (values secrets.<key>), read by
the secrets Job, which copies each into the service's Secret. Rendered only when one is set; its
data comes from values alone, so rendering stays deterministic.
Usage: {{ include "oaas-lib.secrets.overrides" (dict "context" $ "service" "keystone") }}
Params: context (root context, required); service (string, required); hook (bool, optional: the
  upgrade hook's object, see oaas-lib.secrets.upgradeHook)
*/ -}}
{{- define "oaas-lib.secrets.overrides" -}}
{{- $set := include "oaas-lib.secrets.overrideData" .context | fromYaml -}}
{{- if $set }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "oaas-lib.secrets.overridesName" . }}
  {{- include "oaas-lib.secrets.metadata" (merge (dict "weight" -3) .) | nindent 2 }}
type: Opaque
data:
  {{- range $key, $value := $set }}
  {{ $key }}: {{ $value | b64enc | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{- /*
oaas-lib.secrets.overrideData: the non-empty values of secrets.<key>, as YAML (empty when none).
Usage: {{ include "oaas-lib.secrets.overrideData" $ | fromYaml }}
Params: the root context
*/ -}}
{{- define "oaas-lib.secrets.overrideData" -}}
{{- $set := dict -}}
{{- range $key, $value := (.Values.secrets | default dict) -}}
{{- if $value }}{{ $_ := set $set $key ($value | toString) }}{{ end -}}
{{- end -}}
{{- if $set }}{{ toYaml $set }}{{ end -}}
{{- end -}}

{{- /*
oaas-lib.secrets.overridesName: name of the Secret of the deployer's values, `<secret>-overrides`.
The upgrade hook's copy is `<secret>-overrides-upgrade` (see oaas-lib.secrets.upgradeHook).
Usage: {{ include "oaas-lib.secrets.overridesName" (dict "context" $ "service" "keystone") }}
Params: context (root context, required); service (string, required); hook (bool, optional)
*/ -}}
{{- define "oaas-lib.secrets.overridesName" -}}
{{- printf "%s-overrides%s" (include "oaas-lib.names.secret" .) (ternary "-upgrade" "" (.hook | default false)) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /*
oaas-lib.secrets.name: name of the secrets Job's objects (ServiceAccount, Role, RoleBinding, Job
prefix): component `secrets`, or `upgrade-secrets` for the upgrade hook's.
Usage: {{ include "oaas-lib.secrets.name" (dict "context" $ "service" "keystone") }}
Params: context (root context, required); service (string, required); hook (bool, optional)
*/ -}}
{{- define "oaas-lib.secrets.name" -}}
{{- include "oaas-lib.names.fullname" (dict "context" .context "service" .service "component" (include "oaas-lib.secrets.component" .)) -}}
{{- end -}}

{{- /*
oaas-lib.secrets.component: the component label of the secrets Job's objects (see oaas-lib.secrets.name).
Params: hook (bool, optional)
*/ -}}
{{- define "oaas-lib.secrets.component" -}}
{{- ternary "upgrade-secrets" "secrets" (.hook | default false) -}}
{{- end -}}

{{- /*
oaas-lib.secrets.metadata: labels of a secrets Job object and, for the upgrade hook's, its hook
annotations (pre-upgrade at the given weight; deleted once the hooks succeeded, or before the
next upgrade creates them again).
Usage: {{ include "oaas-lib.secrets.metadata" (dict "context" $ "service" "keystone" "hook" true "weight" -3) | nindent 2 }}
Params: context (root context, required); service (string, required); hook (bool, optional);
  weight (int, required with hook)
*/ -}}
{{- define "oaas-lib.secrets.metadata" -}}
labels:
  {{- include "oaas-lib.labels.standard" (dict "context" .context "service" .service "component" (include "oaas-lib.secrets.component" .)) | nindent 2 }}
{{- if .hook }}
annotations:
  helm.sh/hook: pre-upgrade
  helm.sh/hook-weight: {{ .weight | quote }}
  helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}
{{- end -}}

{{- /*
oaas-lib.secrets.serviceAccount: the ServiceAccount of a service's secrets Job.
Usage: {{ include "oaas-lib.secrets.serviceAccount" (dict "context" $ "service" "keystone") }}
Params: context (root context, required); service (string, required); hook (bool, optional: the
  upgrade hook's object, see oaas-lib.secrets.upgradeHook)
*/ -}}
{{- define "oaas-lib.secrets.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "oaas-lib.secrets.name" . }}
  {{- include "oaas-lib.secrets.metadata" (merge (dict "weight" -3) .) | nindent 2 }}
automountServiceAccountToken: false
{{- end -}}

{{- /*
oaas-lib.secrets.role: what the secrets Job may do: get and patch its service's Secret and read the
overrides Secret, by name. Kubernetes cannot limit `create` by resourceNames (the name is not known
when a create is authorised), so create is a rule of its own: it can add a Secret, never read or
change another one.
Usage: {{ include "oaas-lib.secrets.role" (dict "context" $ "service" "keystone") }}
Params: context (root context, required); service (string, required); hook (bool, optional: the
  upgrade hook's object, see oaas-lib.secrets.upgradeHook)
*/ -}}
{{- define "oaas-lib.secrets.role" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "oaas-lib.secrets.name" . }}
  {{- include "oaas-lib.secrets.metadata" (merge (dict "weight" -3) .) | nindent 2 }}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: [{{ include "oaas-lib.names.secret" . | quote }}]
    verbs: ["get", "patch"]
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: [{{ include "oaas-lib.secrets.overridesName" . | quote }}]
    verbs: ["get"]
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["create"]
{{- end -}}

{{- /*
oaas-lib.secrets.roleBinding: binds the secrets Job's Role to its ServiceAccount.
Usage: {{ include "oaas-lib.secrets.roleBinding" (dict "context" $ "service" "keystone") }}
Params: context (root context, required); service (string, required); hook (bool, optional: the
  upgrade hook's object, see oaas-lib.secrets.upgradeHook)
*/ -}}
{{- define "oaas-lib.secrets.roleBinding" -}}
{{- $name := include "oaas-lib.secrets.name" . -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  {{- include "oaas-lib.secrets.metadata" (merge (dict "weight" -3) .) | nindent 2 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ .context.Release.Namespace }}
{{- end -}}

{{- /*
oaas-lib.secrets.job: the Job that creates a service's Secret once (chartgen/shared/secret-gen.py)
in global.testImage, the release's kolla-toolbox (Python, no new image). A plain Job, not a hook:
its name ends in a hash of its pod spec, so re-applying the same manifest (Argo CD) or an upgrade
that changes nothing leaves it alone; new keys or overrides make a new Job. Pods that read the
Secret wait for it: a missing secretKeyRef holds a container until the Secret exists.
Usage: {{ include "oaas-lib.secrets.job" (dict "context" $ "service" "keystone" "keys" "dbPassword:alphanumeric:32 fernetKey0:fernet:32") }}
Params: context (root context, required); service (string, required); keys (string, required:
  space-separated key:format:length); hook (bool, optional: see oaas-lib.secrets.upgradeHook)
*/ -}}
{{- define "oaas-lib.secrets.job" -}}
{{- $name := include "oaas-lib.secrets.name" . -}}
{{- $pod := include "oaas-lib.secrets.jobPod" . -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%s" ($name | trunc 54 | trimSuffix "-") ($pod | sha256sum | trunc 8) }}
  {{- include "oaas-lib.secrets.metadata" (merge (dict "weight" -2) .) | nindent 2 }}
spec:
  backoffLimit: 6
  activeDeadlineSeconds: 900
  template:
    {{- $pod | nindent 4 }}
{{- end -}}

{{- /*
oaas-lib.secrets.jobPod: the pod template of the secrets Job (see oaas-lib.secrets.job).
The Secret it creates carries no app.kubernetes.io/instance label: Argo CD's label tracking would
take an object with it that is not in the manifest for an orphan and prune it.
Usage: {{ include "oaas-lib.secrets.jobPod" (dict "context" $ "service" "keystone" "keys" "dbPassword:alphanumeric:32") }}
Params: as oaas-lib.secrets.job
*/ -}}
{{- define "oaas-lib.secrets.jobPod" -}}
{{- $context := .context -}}
{{- $overrides := include "oaas-lib.secrets.overrideData" $context -}}
{{- $labels := dict "app.kubernetes.io/name" .service "app.kubernetes.io/component" "secrets" "app.kubernetes.io/part-of" "oaas" -}}
metadata:
  labels:
    {{- include "oaas-lib.labels.selector" (dict "context" $context "service" .service "component" (include "oaas-lib.secrets.component" .)) | nindent 4 }}
    app.kubernetes.io/part-of: oaas
  {{- if $overrides }}
  annotations:
    {{- /* a changed override makes a new Job, which copies it */}}
    checksum/overrides: {{ $overrides | sha256sum }}
  {{- end }}
spec:
  serviceAccountName: {{ include "oaas-lib.secrets.name" . }}
  automountServiceAccountToken: true
  enableServiceLinks: false
  restartPolicy: OnFailure
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    runAsGroup: 65534
    seccompProfile:
      type: RuntimeDefault
  nodeSelector:
    {{- include "oaas-lib.pods.nodeSelector" (dict "context" $context "role" "controller") | nindent 4 }}
  containers:
    - name: secrets
      image: {{ include "oaas-lib.pods.image" $context.Values.global.testImage }}
      imagePullPolicy: {{ $context.Values.global.testImage.pullPolicy | default "IfNotPresent" }}
      command:
        - /bin/sh
        - -c
        - exec "$(command -v python3 || command -v python)" -c "$0"
        - {{ include "oaas-lib.shared.secret-gen.py" $context | quote }}
      env:
        - name: SECRET_NAME
          value: {{ include "oaas-lib.names.secret" . | quote }}
        - name: SECRET_KEYS
          value: {{ .keys | quote }}
        - name: SECRET_LABELS
          value: {{ toJson $labels | quote }}
        {{- if $overrides }}
        - name: OVERRIDES_NAME
          value: {{ include "oaas-lib.secrets.overridesName" . | quote }}
        {{- end }}
      resources:
        requests: {cpu: 10m, memory: 32Mi, ephemeral-storage: 8Mi}
        limits: {cpu: 200m, memory: 128Mi, ephemeral-storage: 32Mi}
      securityContext:
        {{- include "oaas-lib.pods.restrictedSecurity" . | nindent 8 }}
{{- end -}}

{{- /*
oaas-lib.secrets.upgradeHook: the secrets Job once more, as pre-upgrade hooks that run before the
release's upgrade Jobs (weights -3 and -2; theirs start at 0). Hooks run before Helm applies any
plain object, so a service that a `helm upgrade` enables, or that a release adds (placement in
Stein), would otherwise have no Secret when its upgrade Jobs start, and they would wait for it until
their deadline. The same script: it creates the Secret once and adds only missing keys, so for a
service already installed it sends nothing. Its own ServiceAccount, Role, RoleBinding and copy of
the overrides (the plain ones may not exist yet); Helm deletes them all once the hooks succeeded.
Rendered only when there is work for it (see oaas-lib.secrets.upgradeHookNeeded).
Usage: {{ include "oaas-lib.secrets.upgradeHook" (dict "context" $ "service" "keystone" "keys" "dbPassword:alphanumeric:32") }}
Params: as oaas-lib.secrets.job
*/ -}}
{{- define "oaas-lib.secrets.upgradeHook" -}}
{{- if include "oaas-lib.secrets.upgradeHookNeeded" . }}
{{- $hook := merge (dict "hook" true) . -}}
{{- with include "oaas-lib.secrets.overrides" $hook }}
{{- . }}
---
{{- end }}
{{ include "oaas-lib.secrets.serviceAccount" $hook }}
---
{{ include "oaas-lib.secrets.role" $hook }}
---
{{ include "oaas-lib.secrets.roleBinding" $hook }}
---
{{ include "oaas-lib.secrets.job" $hook }}
{{- end }}
{{- end -}}

{{- /*
oaas-lib.secrets.upgradeHookNeeded: "true" unless the service's Secret already holds every key and
no override is set: then the hook would send nothing, and its pod would only slow the upgrade.
Only a shortcut: where lookup finds nothing (helm template, Argo CD) the hook is always rendered,
so the rendered bytes stay the same and a first sync still gets its Secret first.
Params: context (root context, required); service (string, required); keys (as oaas-lib.secrets.job)
*/ -}}
{{- define "oaas-lib.secrets.upgradeHookNeeded" -}}
{{- $found := lookup "v1" "Secret" .context.Release.Namespace (include "oaas-lib.names.secret" .) -}}
{{- $needed := or (not $found) (include "oaas-lib.secrets.overrideData" .context) -}}
{{- range $entry := splitList " " .keys -}}
{{- if not (hasKey ($found.data | default dict) (first (splitList ":" $entry))) }}{{ $needed = true }}{{ end -}}
{{- end -}}
{{- if $needed }}true{{ end -}}
{{- end -}}
