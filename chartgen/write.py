"""Stage 7, write: put the rendered files on disk, all or nothing.

Everything is written into a temporary sibling folder, then swapped in with renames: a build that
fails leaves the previous output as it was. Files are LF, UTF-8, mode 0644; nothing carries a
timestamp, so two builds of the same inputs are byte-identical.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class WriteReport:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    deleted: tuple[str, ...]
    unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


def compare(files: dict[str, str], out: Path) -> WriteReport:
    """What writing `files` into `out` would change (relative paths)."""
    existing = {str(path.relative_to(out)) for path in out.rglob("*") if path.is_file()} if out.is_dir() else set()
    created, updated, unchanged = [], [], 0
    for name, text in files.items():
        target = out / name
        if name not in existing:
            created.append(name)
        elif target.read_bytes() != text.encode("utf-8"):
            updated.append(name)
        else:
            unchanged += 1
    deleted = sorted(existing - set(files))
    return WriteReport(tuple(sorted(created)), tuple(sorted(updated)), tuple(deleted), unchanged)


def write_tree(files: dict[str, str], out: Path) -> WriteReport:
    """Replace the folder `out` by exactly `files`, atomically per folder swap."""
    report = compare(files, out)
    if not report.changed and out.is_dir():
        return report
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        made: set[Path] = set()
        for name in sorted(files):
            target = staging / name
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            _write(target, files[name].encode("utf-8"))
        _swap(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return report


def _write(target: Path, data: bytes) -> None:
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fchmod(descriptor, 0o644)  # whatever the umask: the same bytes and modes on every machine
        os.write(descriptor, data)
    finally:
        os.close(descriptor)


def _swap(staging: Path, out: Path) -> None:
    os.chmod(staging, 0o755)
    if not out.exists():
        os.replace(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(retired)
    os.replace(out, retired)  # two renames: the old tree is whole until the new one is in place
    try:
        os.replace(staging, out)
    except OSError:
        os.replace(retired, out)
        raise
    shutil.rmtree(retired)
