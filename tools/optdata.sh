#!/usr/bin/env bash
# Generates chartgen/optdata/<RELEASE>/: the option registries of the release's OpenStack projects,
# which `chartgen lint` gives to oslo-config-validator --opt-data (only oslo.config is needed then).
#
#   tools/optdata.sh RELEASE        (make optdata RELEASE=2025.1)
#
# Inputs, in tools/optdata/<RELEASE>/:
#   projects.txt            name==version of each project (one per line), and `# python: X.Y`
#                           for the interpreter (default: python3)
#   upper-constraints.txt   the release's openstack/requirements upper-constraints.txt
# Cache, outside the clone: ~/.cache/chartgen/oslo/<RELEASE>/ (venv/ with the projects installed
# under the constraints, sdists/ with their source archives, whose oslo-config-generator
# configurations name the namespaces). The venv is remade only when an input file changes.
# Needs network: PyPI. Takes minutes (the 2025.1 set installs ~860 MB).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RELEASE=${1:?usage: tools/optdata.sh RELEASE}
INPUTS="$REPO_ROOT/tools/optdata/$RELEASE"
PROJECTS="$INPUTS/projects.txt"
CONSTRAINTS="$INPUTS/upper-constraints.txt"
[[ -f $PROJECTS && -f $CONSTRAINTS ]] ||
  { echo "optdata: $INPUTS needs projects.txt and upper-constraints.txt" >&2; exit 2; }

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/chartgen/oslo/$RELEASE"
VENV="$CACHE/venv"
SDISTS="$CACHE/sdists"
LOG="$CACHE/install.log"
mkdir -p "$CACHE"

python_version=$(sed -n 's/^# *python: *\([0-9.]*\).*/\1/p' "$PROJECTS" | head -n 1)
PYTHON=python${python_version:-3}
command -v "$PYTHON" >/dev/null || { echo "optdata: $PYTHON not found (projects.txt asks for it)" >&2; exit 2; }

# The stamp: what the venv was made from. A change of either input file or interpreter remakes it.
spec="$("$PYTHON" --version 2>&1) $(sha256sum "$PROJECTS" "$CONSTRAINTS" | cut -c1-16 | tr '\n' ' ')"
if [[ ! -f $VENV/.stamp || $(<"$VENV/.stamp") != "$spec" ]]; then
  echo "optdata: installing the $RELEASE projects into $VENV (log: $LOG)"
  rm -rf "$VENV"
  if [[ $PYTHON == python2* ]]; then
    "$PYTHON" -m virtualenv "$VENV" >"$LOG" 2>&1
  else
    "$PYTHON" -m venv "$VENV" >"$LOG" 2>&1
  fi
  pip=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
  if ! { "${pip[@]}" install -c "$CONSTRAINTS" -r "$PROJECTS" &&
    rm -rf "$SDISTS" && mkdir -p "$SDISTS" &&
    "${pip[@]}" download --no-deps --no-binary :all: -d "$SDISTS" -r "$PROJECTS"; } >>"$LOG" 2>&1; then
    tail -n 30 "$LOG" >&2
    echo "optdata: installing the $RELEASE projects failed (log: $LOG)" >&2
    exit 1
  fi
  printf '%s\n' "$spec" >"$VENV/.stamp"
fi

PY="$REPO_ROOT/.venv/bin/python"
[[ -x $PY ]] || { echo "optdata: run make setup first (needs $PY)" >&2; exit 2; }
"$PY" "$REPO_ROOT/tools/optdata.py" --release "$RELEASE" --projects "$PROJECTS" \
  --venv "$VENV" --sdists "$SDISTS" --out "$REPO_ROOT/chartgen/optdata/$RELEASE"
du -sh "$REPO_ROOT/chartgen/optdata/$RELEASE" | sed 's/^/optdata: /'
