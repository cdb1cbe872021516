#!/usr/bin/env bash
# Generates chartgen/optdata/<RELEASE>/: the option registries of the release's OpenStack projects,
# which `chartgen lint` gives to oslo-config-validator --opt-data (only oslo.config is needed then).
#
#   tools/optdata.sh RELEASE        (make optdata RELEASE=2025.1)
#
# Inputs, in tools/optdata/<RELEASE>/:
#   projects.txt            name==version of each project, one per line; `# python: X.Y` names the
#                           interpreter (default python3; python2.7 for newton..queens, found on PATH
#                           or under pyenv); a project whose release is not on PyPI is marked
#                           `# git: owner/name` and built from that git tag (pbr, PBR_VERSION);
#                           `name  # extra: why` installs a library a project's option listing
#                           imports without requiring it (cinder's imports mock up to train);
#                           `# override: name===version why` replaces a constraint whose pin no
#                           longer builds here (cryptography 1.x against OpenSSL 3)
#   upper-constraints.txt   the release's openstack/requirements upper-constraints.txt
# Cache, outside the clone: ~/.cache/chartgen/oslo/<RELEASE>/ (venv/ with the projects installed
# under the constraints, sdists/ with their source archives, whose oslo-config-generator
# configurations name the namespaces). The venv is remade only when an input file changes.
# Needs network: PyPI, and for `# git:` projects a git mirror ($OPTDATA_GIT_MIRRORS/<owner>+<name>/repo,
# a bare repository) or https://opendev.org. Takes minutes (2025.1 installs ~860 MB).
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

# The interpreter projects.txt asks for: on PATH, else a pyenv installation of that version.
find_python() {
  local version=$1 candidate
  for candidate in "python$version" "$(pyenv root 2>/dev/null)"/versions/"$version"*/bin/"python$version"; do
    if "$candidate" --version >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
  return 1
}
python_version=$(sed -n 's/^# *python: *\([0-9.]*\).*/\1/p' "$PROJECTS" | head -n 1)
PYTHON=$(find_python "${python_version:-3}") ||
  { echo "optdata: no working python${python_version:-3} (projects.txt asks for it)" >&2; exit 2; }

# Projects not on PyPI: an sdist from their git tag (`name==version  # git: owner/name`).
git_sdists() {
  local line name version repo mirror
  while IFS= read -r line; do
    [[ $line =~ ^([A-Za-z0-9_.-]+)==([^[:space:]]+).*#\ *git:\ *([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+) ]] || continue
    name=${BASH_REMATCH[1]} version=${BASH_REMATCH[2]} repo=${BASH_REMATCH[3]}
    mirror="${OPTDATA_GIT_MIRRORS:-/work/.mirror}/${repo/\//+}/repo"
    if [[ ! -d $mirror ]]; then
      mirror="$CACHE/git/${repo/\//+}.git"
      [[ -d $mirror ]] || git clone --quiet --bare "https://opendev.org/$repo" "$mirror"
    fi
    git --git-dir="$mirror" archive --format=tar.gz --prefix="$name-$version/" -o "$SDISTS/$name-$version.tar.gz" "refs/tags/$version"
    echo "$name==$version"
  done <"$PROJECTS"
}

# The release's constraints, with projects.txt's `# override:` pins in place of theirs.
effective_constraints() {
  local overrides names
  overrides=$(sed -n 's/^#[[:space:]]*override:[[:space:]]*\([^[:space:]]*===[^[:space:]]*\).*/\1/p' "$PROJECTS")
  names=$(for pin in $overrides; do printf '%s\n' "${pin%%===*}"; done)
  { awk -F'===' -v names="$names" 'BEGIN { n = split(tolower(names), list, "\n"); for (i = 1; i <= n; i++) skip[list[i]] = 1 }
                                   !(tolower($1) in skip)' "$CONSTRAINTS"
    for pin in $overrides; do printf '%s\n' "$pin"; done; } >"$CACHE/constraints.txt"
  echo "$CACHE/constraints.txt"
}

# Every project into the venv under the constraints, and the sdists (their generator configurations).
install_projects() {
  local pip=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input) spec from_git pypi projects
  from_git=$(git_sdists) || return 1
  CONSTRAINTS=$(effective_constraints)
  # pbr takes a project's version from git; an archive has none, so PBR_VERSION gives it.
  for spec in $from_git; do
    PBR_VERSION=${spec#*==} "${pip[@]}" install -c "$CONSTRAINTS" "$SDISTS/${spec%%==*}-${spec#*==}.tar.gz" || return 1
  done
  pypi=$(sed -e '/#[[:space:]]*git:/d' -e 's/#.*//' "$PROJECTS" | grep -v '^[[:space:]]*$' || true)
  projects=$(sed -e '/#[[:space:]]*git:/d' -e '/#[[:space:]]*extra:/d' -e 's/#.*//' "$PROJECTS" | grep -v '^[[:space:]]*$' || true)
  # shellcheck disable=SC2086 # one argument per requirement
  "${pip[@]}" install -c "$CONSTRAINTS" $pypi &&
    "${pip[@]}" download --no-deps --no-binary :all: -d "$SDISTS" $projects
}

# The stamp: what the venv was made from. A change of either input file or interpreter remakes it.
spec="$("$PYTHON" --version 2>&1) $(sha256sum "$PROJECTS" "$CONSTRAINTS" | cut -c1-16 | tr '\n' ' ')"
if [[ ! -f $VENV/.stamp || $(<"$VENV/.stamp") != "$spec" ]]; then
  echo "optdata: installing the $RELEASE projects into $VENV (log: $LOG)"
  rm -rf "$VENV" "$SDISTS"
  mkdir -p "$SDISTS"
  if "$PYTHON" -c 'import sys; sys.exit(sys.version_info[0] != 2)'; then
    # Python 2 has no venv module: virtualenv (the last line that makes Python 2 environments),
    # installed into the cache rather than into that Python.
    "$PYTHON" -m pip install --quiet --target "$CACHE/virtualenv" "virtualenv<20.22" >"$LOG" 2>&1 &&
      PYTHONPATH="$CACHE/virtualenv" "$PYTHON" -m virtualenv "$VENV" >>"$LOG" 2>&1
  else
    "$PYTHON" -m venv "$VENV" >"$LOG" 2>&1
  fi
  if ! install_projects >>"$LOG" 2>&1; then
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
