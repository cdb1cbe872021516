"""One side of `chartgen diff` / `chartgen check-upgrade`: a release, a built chart folder, or the
inputs of a git revision, materialised as a built umbrella chart (and, unless it is a folder, the
compile result that knows where every value came from).

Side syntax, tried in this order:
  RELEASE        a values/RELEASE.yaml of the project            e.g. `ocata`
  PATH           a built chart: a folder holding oaas/Chart.yaml, or the oaas folder itself
  REV:RELEASE    the project's blueprints/ and values/ at git revision REV, e.g. `HEAD~3:pike`
Anything else is an unknown release (CG501).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

from chartgen.build import Compiled, build
from chartgen.config import BuildConfig, find_root, ordered_releases, release_files
from chartgen.diagnostics import ChartgenError, Diagnostic
from chartgen.render import UMBRELLA
from chartgen.rendered import Rendering, render


@dataclass(frozen=True, slots=True)
class Side:
    """A side as materialised: its label, the built umbrella chart, and how it was made."""

    label: str
    kind: str  # release | folder | git
    chart: Path  # the oaas chart folder
    compiled: Compiled | None  # None for a folder: no provenance
    revision: str = ""  # git sides: the revision as given
    source_prefix: str = ""  # git sides: how file names of the exported inputs read in messages

    def display(self, file: str) -> str:
        """A provenance file name as the user should read it (`REV:values/pike.yaml` for git sides)."""
        if self.source_prefix and file.startswith(self.source_prefix):
            return f"{self.revision}:{file[len(self.source_prefix):].lstrip('/')}"
        return file


def _error(code: str, message: str, where: str = "<command line>") -> ChartgenError:
    return ChartgenError([Diagnostic(where, 1, 1, code, message)])


def chart_folder(path: Path) -> Path | None:
    """The umbrella chart inside `path` (path/oaas or path itself), or None."""
    for candidate in (path / UMBRELLA, path):
        if (candidate / "Chart.yaml").is_file() and (candidate / "charts").is_dir():
            return candidate
    return None


def materialise(spec: str, overlays: tuple[Path, ...], scratch: Path, root: Path | None = None) -> Side:
    """Turn a side spec into a built chart under `scratch`, a folder of its own per side (a folder
    side is used where it is)."""
    root = root or find_root()
    if spec in release_files(root):
        return _release(spec, spec, root, overlays, scratch)
    if Path(spec).exists():
        found = chart_folder(Path(spec).resolve())
        if found is None:
            raise _error("CG502", f"{spec} is not a built chart (no oaas/Chart.yaml nor Chart.yaml with charts/ in it)", spec)
        return Side(spec, "folder", found, None)
    if ":" in spec:
        revision, release = spec.rsplit(":", 1)
        return _git(spec, revision, release, root, overlays, scratch)
    known = ", ".join(ordered_releases(root)) or "none"
    raise _error("CG501", f"unknown release {spec!r} (known: {known}); a side is a release, a built chart folder or REV:RELEASE",
                 BuildConfig(root, spec).display(root / "values" / f"{spec}.yaml"))


def _release(label: str, release: str, root: Path, overlays: tuple[Path, ...], out: Path) -> Side:
    config = BuildConfig(root=root, release=release, overlays=overlays, out=out)
    result = build(config)
    return Side(label, "release", out / UMBRELLA, result.compiled)


def _git(label: str, revision: str, release: str, root: Path, overlays: tuple[Path, ...], scratch: Path) -> Side:
    """Export blueprints/ and values/ as they were at `revision` and build `release` from them."""
    source = scratch / "inputs"
    source.mkdir(parents=True)
    _export(revision, root, source)
    prefix = BuildConfig(source, release).display(source)
    try:
        side = _release(label, release, source, overlays, scratch / "out")
    except ChartgenError as error:  # name the revision's files as the user knows them, not the temporary copy
        named = Side(label, "git", source, None, revision, prefix)
        raise ChartgenError([replace(d, file=named.display(d.file)) for d in error.diagnostics]) from None
    return Side(label, "git", side.chart, side.compiled, revision, prefix)


def _export(revision: str, root: Path, target: Path) -> None:
    # `git archive` of the two input folders only: the revision's chartgen code is not used, so
    # both sides are compiled by the same compiler and differ only by their inputs.
    prefix = _git_output(root, "rev-parse", "--show-prefix").strip()
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                            capture_output=True, text=True)
    if commit.returncode != 0:
        raise _error("CG506", f"{revision!r} is not a git revision of {root}")
    paths = [f"{commit.stdout.strip()}:{prefix}{folder}" for folder in ("blueprints", "values")]
    for path, folder in zip(paths, ("blueprints", "values")):
        archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", path], capture_output=True)
        if archive.returncode != 0:
            raise _error("CG506", f"revision {revision!r} has no {prefix}{folder}/ folder")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(target / folder, filter="data")


def _git_output(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise _error("CG506", f"{root} is not in a git repository: {result.stderr.strip()}")
    return result.stdout


@dataclass(frozen=True, slots=True)
class Pair:
    """The two sides of a comparison, built and rendered."""

    before: Side
    after: Side
    before_objects: Rendering
    after_objects: Rendering


def open_pair(before: str, after: str, overlays: tuple[Path, ...], scratch: Path, root: Path | None = None) -> Pair:
    """Materialise and render both sides (each in its own folder under `scratch`)."""
    root = root or find_root()
    sides = [materialise(spec, overlays, scratch / name, root) for spec, name in ((before, "from"), (after, "to"))]
    before, after = render([sides[0].chart, sides[1].chart], root)
    return Pair(sides[0], sides[1], before, after)
