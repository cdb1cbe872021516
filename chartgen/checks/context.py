"""What every check sees: the merged blueprints (with provenance) and the resolved model."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Iterator

from chartgen.diagnostics import Diagnostic
from chartgen.load import Path
from chartgen.merge import Merged
from chartgen.model import Image, Umbrella


@dataclass(frozen=True, slots=True)
class Context:
    umbrella: Umbrella
    merged: Merged

    @property
    def catalog(self) -> dict[str, dict[str, Any]]:
        return self.merged.tree.get("services", {})

    def diagnostic(self, path: Path, code: str, message: str, *, key: bool = False) -> Diagnostic:
        """A diagnostic where `path` was last set (at its key when `key` and it is a map entry)."""
        return Diagnostic(*self.merged.where(path, key), code, message)

    def components(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for service, spec in sorted(self.catalog.items()):
            for key, component in sorted(spec.get("components", {}).items()):
                yield service, key, component


def block_line(context: Context, path: Path, index: int) -> tuple[str, int, int]:
    """Where line `index` (0-based) of the multi-line string at `path` stands in its file: a literal
    block scalar (`|`) starts on the line after its indicator, one line per line of text."""
    file, line, col = context.merged.where(path)
    source = _source_lines(file)
    if not 0 < line <= len(source) or not source[line - 1][col - 1:col] == "|":
        return file, line, col
    target = line + 1 + index
    if target > len(source):
        return file, line, col
    text = source[target - 1]
    return file, target, len(text) - len(text.lstrip()) + 1


def _source_lines(file: str) -> list[str]:
    """The lines of `file`, read once while it is unchanged (checks ask for many positions in it)."""
    try:
        stat = os.stat(file)
    except OSError:
        return []
    return _read_lines(file, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _read_lines(file: str, _mtime_ns: int, _size: int) -> list[str]:
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read().split("\n")
    except OSError:
        return []


def workloads(context: Context) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(service, section, key, spec) of every component and job, sorted."""
    for service, spec in sorted(context.catalog.items()):
        for section in ("components", "jobs"):
            for key, workload in sorted(spec.get(section, {}).items()):
                yield service, section, key, workload


def image_of(context: Context, service: str, image_key: str) -> Image | None:
    """The resolved image `image_key` of `service` (None when the service or image is unknown)."""
    for candidate in context.umbrella.services:
        if candidate.name == service:
            return next((image for image in candidate.images if image.key == image_key), None)
    return None
