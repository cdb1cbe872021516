#!/usr/bin/env bash
# Builds the binaries of the e2e control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok) from the Go module
# proxy into $CHARTGEN_TOOLS_DIR/k8s/<k8s version>/bin (default ~/.cache/chartgen/tools,
# linked as <repo>/.tools).
#
# Each component group carries a stamp holding a fingerprint of everything
# that goes into it (versions, wrapper module files, Go version, ldflags), so
# a rerun with nothing changed only compares stamps and returns at once
# (tools/build-lib.sh). The node binaries (kubelet, kube-proxy) come from the
# same wrapper module but are built by tools/build-node.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/control-plane.env
source "$repo/tools/control-plane.env"

source "$repo/tools/tools-dir.sh"
# shellcheck source=tools/build-lib.sh
source "$repo/tools/build-lib.sh"
build_lib_name=build-control-plane
tools_dir=$(chartgen_tools_dir "$repo")
version_dir=$tools_dir/k8s/$K8S_VERSION
bin_dir=$version_dir/bin
stamp_dir=$version_dir/stamps

k8s_module=$repo/tools/controlplane
etcd_module=$repo/tools/etcd
k8s_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

# Static binaries without a C toolchain, never a toolchain download, and no
# VCS stamping (the wrapper modules live in a work tree others edit).
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# /version must report the real release: the apiserver derives its binary and
# emulation version from it, and tests assert on it.
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
k8s_ldflags="-s -w \
-X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
-X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$minor \
-X k8s.io/component-base/version.gitTreeState=clean"

# The env file and the wrapper modules both name the versions; a mismatch
# would silently build something else than what the stamp claims.
check_pins() {
    grep -qE "^\s*(require\s+)?k8s\.io/kubernetes $K8S_VERSION\b" "$k8s_module/go.mod" ||
        die "tools/controlplane/go.mod does not require k8s.io/kubernetes $K8S_VERSION (see tools/control-plane.env)"
    local staging=v0.${K8S_VERSION#v1.}
    if grep -E '^\s*k8s\.io/[a-z-]+ => k8s\.io/' "$k8s_module/go.mod" | grep -vq " $staging\$"; then
        die "tools/controlplane/go.mod has staging replaces not at $staging"
    fi
    grep -qE "^\s*(require\s+)?go\.etcd\.io/etcd/server/v3 $ETCD_VERSION\b" "$etcd_module/go.mod" ||
        die "tools/etcd/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION (see tools/control-plane.env)"
}

# One `go build` for all four so the packages they share compile once.
build_kubernetes() {
    echo "  building Kubernetes $K8S_VERSION (several minutes when the Go cache is cold)..."
    (cd "$k8s_module" && go build -trimpath -ldflags "$k8s_ldflags" -o "$bin_dir/" "${k8s_binaries[@]/#/./cmd/}")
}

build_etcd() {
    echo "  building etcd $ETCD_VERSION..."
    (cd "$etcd_module" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd" .)
}

build_kwok() {
    echo "  building kwok $KWOK_VERSION..."
    GOBIN=$bin_dir go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
}

main() {
    command -v go >/dev/null || die "go is not installed"
    check_pins
    go_version=$(go env GOVERSION)
    fingerprint_versions="$K8S_VERSION $ETCD_VERSION $KWOK_VERSION"
    fingerprint_flags=$k8s_ldflags
    mkdir -p "$bin_dir" "$stamp_dir"
    echo "control plane $K8S_VERSION (etcd $ETCD_VERSION, kwok $KWOK_VERSION, $go_version) in $version_dir"

    local total=$SECONDS k8s_inputs etcd_inputs
    k8s_inputs=(tools/controlplane/go.mod tools/controlplane/go.sum)
    for b in "${k8s_binaries[@]}"; do
        k8s_inputs+=("tools/controlplane/cmd/$b/main.go")
    done
    etcd_inputs=(tools/etcd/go.mod tools/etcd/go.sum tools/etcd/main.go)

    build_group kubernetes build_kubernetes "${k8s_binaries[@]/#/$bin_dir/}" -- "${k8s_inputs[@]}"
    build_group etcd build_etcd "$bin_dir/etcd" -- "${etcd_inputs[@]}"
    build_group kwok build_kwok "$bin_dir/kwok" --

    # A stable path for tests and humans; relative so the tools dir can move.
    ln -sfn "$K8S_VERSION" "$tools_dir/k8s/current"
    echo "done in $((SECONDS - total))s: $tools_dir/k8s/current/bin"
}

main "$@"
