# Sourced by tools/build-control-plane.sh and tools/build-node.sh: build a
# group of outputs once, and skip it while nothing that goes into it changed.
#
# Each group carries a stamp, $stamp_dir/<group>, holding a fingerprint of its
# inputs: the versions in $fingerprint_versions, the Go version ($go_version),
# the flags in $fingerprint_flags and the content of the input files named
# (paths relative to $repo). A rerun with matching stamps and present outputs
# only compares stamps and returns at once.
#
# The sourcing script sets: repo, stamp_dir, go_version, build_lib_name (the
# prefix of error messages), and fingerprint_versions / fingerprint_flags
# (globally or per call: `fingerprint_versions=X build_group ...`).

die() {
    echo "${build_lib_name:-build}: $*" >&2
    exit 1
}

# fingerprint NAME FILES... prints a hash of the inputs of one group.
fingerprint() {
    local name=$1
    shift
    {
        echo "$name $fingerprint_versions $go_version"
        echo "$fingerprint_flags"
        if (($#)); then
            (cd "$repo" && sha256sum "$@")
        fi
    } | sha256sum | cut -d' ' -f1
}

# is_cached NAME FINGERPRINT OUTPUTS... succeeds when every output exists and
# the stamp matches.
is_cached() {
    local name=$1 want=$2
    shift 2
    [[ -f $stamp_dir/$name && $(<"$stamp_dir/$name") == "$want" ]] || return 1
    local output
    for output in "$@"; do
        [[ -e $output ]] || return 1
    done
}

report() { # report STATUS SECONDS OUTPUTS...
    local status=$1 seconds=$2
    shift 2
    # Outputs of one group come out of a single build: same duration.
    local note=""
    if (($# > 1)) && [[ $status == built ]]; then
        note="  (one build for all ${#})"
    fi
    local output
    for output in "$@"; do
        printf '  %-24s %-7s %6ss%s\n' "${output##*/}" "$status" "$seconds" "$note"
    done
}

# build_group NAME BUILD_FUNCTION OUTPUTS... -- INPUT_FILES...
# OUTPUTS are absolute paths; BUILD_FUNCTION must create all of them.
build_group() {
    local name=$1 build=$2
    shift 2
    local outputs=()
    while (($#)) && [[ $1 != -- ]]; do
        outputs+=("$1")
        shift
    done
    shift
    local want start
    want=$(fingerprint "$name" "$@")
    start=$SECONDS
    if is_cached "$name" "$want" "${outputs[@]}"; then
        report cached 0 "${outputs[@]}"
        return
    fi
    rm -f "$stamp_dir/$name"
    "$build"
    local output
    for output in "${outputs[@]}"; do
        [[ -e $output ]] || die "$build did not create $output"
    done
    echo "$want" >"$stamp_dir/$name"
    report built $((SECONDS - start)) "${outputs[@]}"
}
