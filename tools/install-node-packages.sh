#!/usr/bin/env bash
# Installs the Debian packages a real Kubernetes node needs on this machine
# (tests/realpods): the container runtime, its CNI plugins, the tools that
# pack images without a registry, and what kube-proxy and `kubectl
# port-forward` call. A no-op (one dpkg-query) when everything is present.
#
#   tools/install-node-packages.sh          install what is missing
#   tools/install-node-packages.sh --check  only report; exit 1 if something is missing
#
# Needs root and apt (Debian 12 or later). On failure the last line says which
# packages are missing and how to install them by hand.
set -euo pipefail

# containerd + runc: the CRI and OCI runtime (containerd is started by the
# tests themselves: these machines have no systemd). containernetworking-plugins:
# bridge, host-local, loopback in /usr/lib/cni. mmdebstrap + umoci + busybox-static:
# OCI images built here. iptables + conntrack: kube-proxy. ipset: the address sets of
# kube-router's NetworkPolicy rules. socat: port-forward.
PACKAGES=(containerd runc containernetworking-plugins mmdebstrap umoci busybox-static
    iptables conntrack ipset socat)

# How long to wait for another apt/dpkg (another helper, unattended-upgrades).
LOCK_TIMEOUT=300

die() {
    echo "install-node-packages: $*" >&2
    exit 1
}

missing_packages() {
    local pkg status
    for pkg in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [[ $status == installed ]] || echo "$pkg"
    done
}

main() {
    local check_only=0
    case "${1:-}" in
        --check) check_only=1 ;;
        "") ;;
        *) die "unknown argument: $1 (use --check or nothing)" ;;
    esac
    command -v dpkg-query >/dev/null || die "dpkg-query not found: a Debian-based machine is required"

    local missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        echo "node packages: all present (${PACKAGES[*]})"
        return
    fi
    local fix="apt-get install -y --no-install-recommends ${missing[*]}"
    ((check_only)) && die "missing Debian packages: ${missing[*]}; fix: $fix"
    ((EUID == 0)) || die "missing Debian packages ${missing[*]} and not root; fix: sudo $fix"

    echo "node packages: installing ${missing[*]}"
    local log
    log=$(mktemp)
    local apt=(apt-get -o "DPkg::Lock::Timeout=$LOCK_TIMEOUT" -q)
    # The package lists may be stale or absent (fresh image): refresh once, then install.
    if ! { DEBIAN_FRONTEND=noninteractive "${apt[@]}" update &&
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; } \
        >"$log" 2>&1; then
        tail -n 15 "$log" >&2
        rm -f "$log"
        mapfile -t missing < <(missing_packages)
        die "apt-get failed; still missing: ${missing[*]:-none}; fix: $fix (see the apt output above)"
    fi
    rm -f "$log"
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]} == 0)) || die "apt-get succeeded but still missing: ${missing[*]}; fix: $fix"
    echo "node packages: installed"
}

main "$@"
