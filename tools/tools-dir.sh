# Sourced by the tool scripts: where the tools are cached, outside the clone.
#
# chartgen_tools_dir REPO prints the absolute tools folder ($CHARTGEN_TOOLS_DIR, default
# ${XDG_CACHE_HOME:-~/.cache}/chartgen/tools), creating it, and makes REPO/.tools a symlink to it
# unless REPO/.tools is already a real folder (an older checkout's own copy is left alone).
chartgen_tools_dir() {
    local repo=$1 dir
    dir=${CHARTGEN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chartgen/tools}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ ! -e $repo/.tools || -L $repo/.tools ]]; then
        ln -sfn "$dir" "$repo/.tools"
    fi
    echo "$dir"
}
