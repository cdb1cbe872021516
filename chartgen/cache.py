"""The no-op fast path of `chartgen build`: when neither the inputs, nor chartgen itself, nor the
output changed since the last successful build into the same folder, there is nothing to do.

It imports nothing heavy (no YAML, schema or template engine), so an unchanged rebuild costs little
more than Python's start. The record lives outside the output (in $XDG_CACHE_HOME/chartgen), so the
generated chart holds nothing but the chart.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chartgen" / "builds"


def fingerprint(root: Path, release: str, overlays: tuple[Path, ...]) -> str:
    """A hash of everything a build reads: chartgen's own files, the inputs, the options."""
    digest = hashlib.sha256(f"{release}\0".encode())
    sources = sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    inputs = sorted((root / "blueprints").glob("*.yaml")) + sorted((root / "values").glob("*.yaml")) + list(overlays)
    for path in sources + inputs:
        digest.update(str(path).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def _record_path(out: Path) -> Path:
    return _folder() / (hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:32] + ".json")


def unchanged(out: Path, key: str) -> list[str] | None:
    """The output's file names if the last build into `out` had this key and the files are intact."""
    try:
        record = json.loads(_record_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("key") != key:
        return None
    files: dict[str, str] = record.get("files", {})
    present = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} if out.is_dir() else set()
    if present != set(files):
        return None
    for name, digest in files.items():
        if hashlib.sha256((out / name).read_bytes()).hexdigest() != digest:
            return None
    return sorted(files)


def remember(out: Path, key: str, files: dict[str, str]) -> None:
    """Record a successful build; a cache that cannot be written only costs speed."""
    record = {"key": key, "files": {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in files.items()}}
    path = _record_path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass


class KnownValid:
    """Digests of documents that passed their schema before (schema name + canonical JSON), so
    unchanged blueprints and overlays skip JSON Schema validation, the slowest stage, next time."""

    def __init__(self, path: Path | None = None):
        self.path = path or (_folder().parent / "known-valid.json")
        try:
            self.digests: set[str] = set(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            self.digests = set()
        self.added: set[str] = set()

    @staticmethod
    def digest(schema: str, data: object) -> str:
        text = json.dumps([schema, data], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def __contains__(self, digest: str) -> bool:
        return digest in self.digests

    def add(self, digest: str) -> None:
        if digest not in self.digests:
            self.digests.add(digest)
            self.added.add(digest)

    def save(self, limit: int = 20000) -> None:
        if not self.added:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept = sorted(self.added) + sorted(self.digests - self.added)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(kept[:limit]), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            pass
