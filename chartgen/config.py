"""Settings of one build (the command line and the project layout), as one frozen value."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

COMMON_OVERLAY = "common.yaml"

# Limits of one input file (blueprint or overlay). Each is far above what a real input needs and
# far below what would make a build slow: a file past one is refused with a positioned error
# (README, "Bad input"). The largest input today is neutron's blueprint: 29 KiB, 1,595 YAML nodes;
# the deepest nests 10 levels (an overlay's images).
MAX_FILE_BYTES = 1024 * 1024  # 35x the largest; read no further, so a huge file costs nothing
MAX_DEPTH = 32  # 3x the deepest; keeps every recursive stage (C composer, merge, schema) shallow
MAX_NODES = 20_000  # 12x the largest; composing that many takes about 0.06 s


@dataclass(frozen=True, slots=True)
class BuildConfig:
    """Where the inputs are, which release, which site overlays, where the output goes."""

    root: Path
    release: str
    overlays: tuple[Path, ...] = ()
    out: Path = field(default=Path("generated-charts"))

    @property
    def blueprints(self) -> Path:
        return self.root / "blueprints"

    @property
    def values(self) -> Path:
        return self.root / "values"

    def display(self, path: Path) -> str:
        """A path as messages show it: relative to the working directory when it is below it."""
        try:
            return os.path.relpath(path)
        except ValueError:
            return str(path)


def find_root(start: Path | None = None) -> Path:
    """The project folder: the nearest parent holding blueprints/ and values/ (else the start)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "blueprints").is_dir() and (candidate / "values").is_dir():
            return candidate
    return here


def release_files(root: Path) -> dict[str, Path]:
    """values/<release>.yaml by release name (every overlay there except common.yaml)."""
    folder = root / "values"
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.yaml")) if path.name != COMMON_OVERLAY}


def ordered_releases(root: Path) -> list[str]:
    """Release names, oldest first (by `release.released` of each overlay; unreadable ones last)."""
    from chartgen.diagnostics import ChartgenError
    from chartgen.load import load_file

    def released(item: tuple[str, Path]) -> str:
        try:
            return str(load_file(item[1]).data.get("release", {}).get("released", "9999"))
        except ChartgenError:
            return "9999"

    return [name for name, _ in sorted(release_files(root).items(), key=released)]
