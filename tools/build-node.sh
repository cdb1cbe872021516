#!/usr/bin/env bash
# Builds what the real node of the real-pods tests (tests/realpods) runs, next
# to the control plane in $CHARTGEN_TOOLS_DIR/k8s/<k8s version>/ (default
# ~/.cache/chartgen/tools, linked as <repo>/.tools):
#
#   bin/kubelet, bin/kube-proxy   the wrapper module tools/controlplane
#   bin/coredns                   go install github.com/coredns/coredns@$COREDNS_VERSION
#   bin/pause                     tools/pause, the pod sandbox's process
#   bin/kube-router               go install .../kube-router/v2@$KUBE_ROUTER_VERSION
#                                 (its firewall controller enforces NetworkPolicies)
#   images/pause.tar              OCI layouts (umoci), imported into containerd
#   images/coredns.tar            by the tests: there is no registry here
#   images/busybox.tar            Debian's busybox-static, for the smoke tests
#
# Same stamps as tools/build-control-plane.sh (tools/build-lib.sh): a rerun
# with nothing changed returns at once. Run tools/build-control-plane.sh first
# when the Go cache is cold: the kubelet reuses most of its compiled packages.
# Needs go, umoci and busybox-static (tools/install-node-packages.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/control-plane.env
source "$repo/tools/control-plane.env"
source "$repo/tools/tools-dir.sh"
# shellcheck source=tools/build-lib.sh
source "$repo/tools/build-lib.sh"
build_lib_name=build-node

tools_dir=$(chartgen_tools_dir "$repo")
version_dir=$tools_dir/k8s/$K8S_VERSION
bin_dir=$version_dir/bin
image_dir=$version_dir/images
stamp_dir=$version_dir/stamps

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# Same version stamping as the control plane: the node reports it to the API.
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
k8s_ldflags="-s -w \
-X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
-X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$minor \
-X k8s.io/component-base/version.gitTreeState=clean"

# Fixed image timestamps: a rebuild of the same inputs gives the same config.
image_created=1970-01-01T00:00:00Z

build_node_binaries() {
    echo "  building kubelet and kube-proxy $K8S_VERSION (minutes when the Go cache is cold)..."
    (cd "$repo/tools/controlplane" &&
        go build -trimpath -ldflags "$k8s_ldflags" -o "$bin_dir/" ./cmd/kubelet ./cmd/kube-proxy)
}

build_coredns() {
    echo "  building coredns $COREDNS_VERSION..."
    GOBIN=$bin_dir go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
}

build_kube_router() {
    echo "  building kube-router $KUBE_ROUTER_VERSION (about 2 minutes when the Go cache is cold)..."
    local gobin
    gobin=$(mktemp -d)
    GOBIN=$gobin go install -trimpath -ldflags "-s -w" \
        "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
    mv "$gobin/kube-router" "$bin_dir/kube-router"
    rmdir "$gobin"
}

build_pause() {
    (cd "$repo/tools/pause" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/pause" .)
}

# pack_image OUT.tar ROOTFS_DIR UMOCI_CONFIG_ARGS... writes ROOTFS_DIR as the
# single layer of an OCI image layout (tag `chartgen`), archived as OUT.tar.
pack_image() {
    local out=$1 rootfs=$2
    shift 2
    local work
    work=$(mktemp -d "$image_dir/.pack.XXXXXX")
    # Root-owned files, sorted, with fixed times: the layer digest follows the content only.
    tar -C "$rootfs" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf "$work/layer.tar" .
    umoci init --layout "$work/oci"
    umoci new --image "$work/oci:chartgen"
    umoci raw add-layer --image "$work/oci:chartgen" --history.created "$image_created" "$work/layer.tar"
    umoci config --image "$work/oci:chartgen" --created "$image_created" --history.created "$image_created" \
        --os linux --architecture amd64 "$@"
    umoci gc --layout "$work/oci"
    tar -C "$work/oci" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf "$out.tmp" .
    mv "$out.tmp" "$out"
    rm -rf "$work"
}

# A rootfs folder holding only the given files: rootfs_with DIR SRC:DEST...
rootfs_with() {
    local dir=$1
    shift
    local pair
    for pair in "$@"; do
        install -D -m 0755 "${pair%%:*}" "$dir/${pair#*:}"
    done
}

build_pause_image() {
    local rootfs
    rootfs=$(mktemp -d)
    rootfs_with "$rootfs" "$bin_dir/pause:pause"
    # 65535: the nobody user upstream's pause image runs as.
    pack_image "$image_dir/pause.tar" "$rootfs" --config.entrypoint /pause --config.user 65535:65535
    rm -rf "$rootfs"
}

build_coredns_image() {
    local rootfs
    rootfs=$(mktemp -d)
    rootfs_with "$rootfs" "$bin_dir/coredns:coredns"
    # Non-root: the Corefile listens on 1053 and the Service maps 53 to it,
    # so CoreDNS needs no NET_BIND_SERVICE.
    pack_image "$image_dir/coredns.tar" "$rootfs" --config.entrypoint /coredns --config.user 65532:65532
    rm -rf "$rootfs"
}

# Debian's static busybox with a link per applet, a passwd file and /tmp:
# a shell, wget, nslookup, nc and httpd for the smoke tests, in 1 MiB.
build_busybox_image() {
    local rootfs busybox applet
    busybox=$(dpkg -L busybox-static | grep -m1 -E '/bin/busybox$') ||
        die "busybox-static is not installed (tools/install-node-packages.sh)"
    rootfs=$(mktemp -d)
    rootfs_with "$rootfs" "$busybox:bin/busybox"
    for applet in $("$busybox" --list); do
        [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
    done
    mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/www"
    chmod 1777 "$rootfs/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    pack_image "$image_dir/busybox.tar" "$rootfs" --config.cmd /bin/sh --config.user 65534:65534 \
        --config.env PATH=/bin
    rm -rf "$rootfs"
}

main() {
    command -v go >/dev/null || die "go is not installed"
    command -v umoci >/dev/null || die "umoci is not installed; run tools/install-node-packages.sh"
    go_version=$(go env GOVERSION)
    mkdir -p "$bin_dir" "$image_dir" "$stamp_dir"
    # One builder at a time: two test sessions may start together.
    exec 9>"$version_dir/.build-node.lock"
    flock 9
    echo "real node $K8S_VERSION (coredns $COREDNS_VERSION, kube-router $KUBE_ROUTER_VERSION, $go_version) in $version_dir"

    local total=$SECONDS busybox_version
    busybox_version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) ||
        die "busybox-static is not installed; run tools/install-node-packages.sh"
    local module=tools/controlplane
    fingerprint_flags=$k8s_ldflags fingerprint_versions=$K8S_VERSION \
        build_group node build_node_binaries "$bin_dir/kubelet" "$bin_dir/kube-proxy" -- \
        $module/go.mod $module/go.sum $module/cmd/kubelet/main.go $module/cmd/kube-proxy/main.go
    fingerprint_flags="-s -w" fingerprint_versions=$COREDNS_VERSION \
        build_group coredns build_coredns "$bin_dir/coredns" --
    fingerprint_flags="-s -w" fingerprint_versions=$KUBE_ROUTER_VERSION \
        build_group kube-router build_kube_router "$bin_dir/kube-router" --
    fingerprint_flags="-s -w" fingerprint_versions="" \
        build_group pause build_pause "$bin_dir/pause" -- tools/pause/go.mod tools/pause/main.go

    # The images follow their binary (its stamp) and this recipe.
    local recipe=tools/build-node.sh
    fingerprint_flags=$(<"$stamp_dir/pause") fingerprint_versions="" \
        build_group pause-image build_pause_image "$image_dir/pause.tar" -- $recipe
    fingerprint_flags=$(<"$stamp_dir/coredns") fingerprint_versions=$COREDNS_VERSION \
        build_group coredns-image build_coredns_image "$image_dir/coredns.tar" -- $recipe
    fingerprint_flags="" fingerprint_versions=$busybox_version \
        build_group busybox-image build_busybox_image "$image_dir/busybox.tar" -- $recipe

    ln -sfn "$K8S_VERSION" "$tools_dir/k8s/current"
    echo "done in $((SECONDS - total))s: $tools_dir/k8s/current/{bin,images}"
}

main "$@"
