"""The values paths that differ between two merged trees (services.<service>... and global...),
each with the setting that decided it on either side: file:line:col and layer, from Merged.history.

Leaves are scalars and lists of scalars (a command line is one value, not one change per word);
lists of maps are compared item by item, as their history is recorded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

from chartgen.load import Path
from chartgen.merge import Merged, Setting
from chartgen.rendered import MASK, UMBRELLA_CHART

# A key that names a password, secret, key or token: its value is never shown.
_SECRET_KEY = re.compile(r"password|passwd|secret|token|cookie|credential|(?:^|[a-z0-9_-])key\d*$", re.IGNORECASE)
_ABSENT: Any = object()


@dataclass(frozen=True, slots=True)
class Provenance:
    file: str
    line: int
    col: int
    layer: str
    action: str  # set | delete | append | prepend | merge

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "col": self.col, "layer": self.layer, "action": self.action}


@dataclass(frozen=True, slots=True)
class ValueChange:
    path: Path
    change: str  # added | removed | changed
    before: Any  # None when added; masked when the key looks secret
    after: Any  # None when removed
    before_origin: Provenance | None
    after_origin: Provenance | None

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.path)

    @property
    def chart(self) -> str:
        """The subchart the path belongs to (`oaas` for global settings)."""
        return str(self.path[1]) if len(self.path) > 1 and self.path[0] == "services" else UMBRELLA_CHART

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.dotted, "change": self.change, "from": self.before, "to": self.after,
                "fromOrigin": self.before_origin.as_dict() if self.before_origin else None,
                "toOrigin": self.after_origin.as_dict() if self.after_origin else None}


def leaves(tree: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            yield from leaves(value, prefix + (key,))
    elif isinstance(tree, list) and any(isinstance(item, (dict, list)) for item in tree):
        for index, value in enumerate(tree):
            yield from leaves(value, prefix + (index,))
    else:
        yield prefix, tree


def _chart_leaves(tree: Any) -> Iterator[tuple[Path, Any]]:
    """Leaves that reach a chart: image facts (imageFacts, images.<name>.facts) only feed the checks."""
    for path, value in leaves(tree):
        if path[:1] != ("imageFacts",) and not (len(path) > 4 and path[2] == "images" and path[4] == "facts"):
            yield path, value


def compare(before: Merged, after: Merged, display_before: Any = str, display_after: Any = str) -> list[ValueChange]:
    """Every leaf that was added, removed or changed, in path order. `display_*` turn a provenance
    file name into what the user reads (git sides say REV:file)."""
    old, new = dict(_chart_leaves(before.tree)), dict(_chart_leaves(after.tree))
    changes = []
    for path in sorted(set(old) | set(new), key=lambda p: [str(part) for part in p]):
        a, b = old.get(path, _ABSENT), new.get(path, _ABSENT)
        if a is not _ABSENT and b is not _ABSENT and _canonical(a) == _canonical(b):
            continue
        change = "added" if a is _ABSENT else "removed" if b is _ABSENT else "changed"
        changes.append(ValueChange(path, change, _shown(path, a), _shown(path, b),
                                   provenance(before, path, a is not _ABSENT, display_before),
                                   provenance(after, path, b is not _ABSENT, display_after)))
    return changes


def provenance(merged: Merged, path: Path, present: bool, display: Any = str) -> Provenance | None:
    """The setting that decided `path`: the last one of it (or of its nearest ancestor that has a
    history) when present; the deletion that removed it when absent; else None (never set)."""
    setting: Setting | None = None
    if present:
        for cut in range(len(path), -1, -1):
            settings = merged.history.get(path[:cut])
            if settings:
                setting = settings[-1]
                break
    else:
        settings = merged.history.get(path, ())
        setting = settings[-1] if settings and settings[-1].action == "delete" else None
    if setting is None:
        return None
    origin = setting.origin
    return Provenance(display(origin.file), origin.line, origin.col, origin.layer, setting.action)


def secret_like(path: Path) -> bool:
    return any(isinstance(part, str) and _SECRET_KEY.search(part) for part in path[-1:])


def _shown(path: Path, value: Any) -> Any:
    if value is _ABSENT:
        return None
    return MASK if secret_like(path) else value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
