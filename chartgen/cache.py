"""What chartgen keeps between runs, all in $XDG_CACHE_HOME/chartgen (never in the output, so the
generated chart holds nothing but the chart), all keyed by content, and all optional: a cache that
cannot be read or written only costs speed.

- the no-op fast path of `chartgen build`: when neither the inputs, nor chartgen itself, nor the
  output changed since the last successful build into the same folder, there is nothing to do. It
  imports nothing heavy (no YAML, schema or template engine): little more than Python's start;
- KnownValid: documents that passed their schema, so unchanged files skip JSON Schema validation;
- RenderCache: each subchart's rendered files by the digest of everything its rendering reads, so
  a build renders only the services whose model changed (and `build --watch` only what an edit
  touched).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from pathlib import Path

from chartgen.config import MAX_FILE_BYTES

PACKAGE = Path(__file__).resolve().parent


def enabled() -> bool:
    """CHARTGEN_NO_CACHE=1 (or `build --no-cache`) makes every run start from nothing and keep nothing."""
    return os.environ.get("CHARTGEN_NO_CACHE", "") in ("", "0")


def _folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chartgen" / "builds"


@functools.cache
def code_digest() -> str:
    """A hash of chartgen's own files (code, templates, schemas, shared scripts): any change to the
    compiler invalidates everything computed by an older one."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(root: Path, release: str, overlays: tuple[Path, ...]) -> str:
    """A hash of everything a build reads: chartgen's own files, the inputs, the options."""
    digest = hashlib.sha256(f"{release}\0{code_digest()}\0".encode())
    inputs = sorted((root / "blueprints").glob("*.yaml")) + sorted((root / "values").glob("*.yaml")) + list(overlays)
    for path in inputs:
        content = _head(path) if path.is_file() else b"<missing>"
        digest.update(f"{path}\0{len(content)}\0".encode() + content)
    return digest.hexdigest()


def _head(path: Path) -> bytes:
    """A file's bytes, up to one past the input limit: a bigger file fails to load anyway, so its
    key never matches a successful build's, and reading all of it would cost time and memory."""
    try:
        with path.open("rb") as stream:
            return stream.read(MAX_FILE_BYTES + 1)
    except OSError:
        return b"<unreadable>"


def _record_path(out: Path) -> Path:
    return _folder() / (hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:32] + ".json")


def unchanged(out: Path, key: str) -> list[str] | None:
    """The output's file names if the last build into `out` had this key and the files are intact."""
    if not enabled():
        return None
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
    if not enabled():
        return
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
            self.digests: set[str] = set(json.loads(self.path.read_text(encoding="utf-8"))) if enabled() else set()
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
        if not self.added or not enabled():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept = sorted(self.added) + sorted(self.digests - self.added)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(kept[:limit]), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            pass


class RenderCache:
    """Rendered subcharts of the last build of a release, by render key (see render.service_key).
    One file per release, holding only what that build used, so it never grows past one catalog."""

    def __init__(self, release: str, path: Path | None = None):
        self.path = path or (_folder().parent / "render" / f"{hashlib.sha256(release.encode()).hexdigest()[:16]}.pickle")
        try:
            self.entries: dict[str, dict[str, str]] = pickle.loads(self.path.read_bytes()) if enabled() else {}
        except Exception:  # absent, truncated or from another Python: start empty
            self.entries = {}
        self.used: dict[str, dict[str, str]] = {}

    def get(self, key: str) -> dict[str, str] | None:
        found = self.entries.get(key)
        if found is not None:
            self.used[key] = found
        return found

    def put(self, key: str, files: dict[str, str]) -> None:
        self.used[key] = files

    @property
    def misses(self) -> int:
        return sum(1 for key in self.used if key not in self.entries)

    def roll(self) -> None:
        """Start the next build with what this one used (a long-lived process: build --watch)."""
        self.entries, self.used = self.used, {}

    def save(self) -> None:
        if set(self.used) == set(self.entries) or not enabled():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(pickle.dumps(self.used, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(temporary, self.path)
        except OSError:
            pass
