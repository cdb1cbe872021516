"""Stage 3, merge: lay the layers over each other, keeping the provenance of every value.

Precedence, lowest first: blueprint < values/common.yaml < values/<release>.yaml < --overlay files in
the order given (< values given to helm at deploy time, outside chartgen).

Rules: maps deep-merge, scalars override, lists replace. A patch may instead say, as the whole value
of a key:
  {$delete: true}                       remove the key (an error when it does not exist)
  {$replace: VALUE}                     take VALUE as it is, without merging into what was there
  {$append: [..]} / {$prepend: [..]}    extend a list
  {$mergeBy: KEY, $items: [..]}         merge a list of maps item by item, matched on KEY; an item
                                        with `$delete: true` removes the match, new keys are appended
Deletions are resolved here, so no null ever reaches a chart.

deepmerge dispatches on the types of the two sides (its Merger); the strategies below add the
directives and record, for every path, each setting in order: which layer, file, line and column.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

from deepmerge import Merger

from chartgen.diagnostics import Diagnostic
from chartgen.load import Document, Path

DIRECTIVES = ("$delete", "$replace", "$append", "$prepend", "$mergeBy", "$items")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one setting came from."""

    layer: str
    file: str
    line: int
    col: int
    key_line: int = 0  # where the key of a map entry stands (0: not a map entry)
    key_col: int = 0

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Setting:
    """One step in the history of a path: what a layer did to it."""

    origin: Origin
    action: str  # set | delete | append | prepend | merge
    value: Any


@dataclass(frozen=True, slots=True)
class Patch:
    """One layer's contribution: `data` (found at `source` inside `doc`) laid at `target` of the tree."""

    layer: str
    doc: Document
    source: Path
    target: Path

    @property
    def data(self) -> Any:
        node: Any = self.doc.data
        for part in self.source:
            node = node[part]
        return node


@dataclass(frozen=True, slots=True)
class DerivedPatch:
    """A patch computed from the tree merged so far, at its place in the order (a release that
    builds on another re-tags the images it inherits): `make(tree)` gives the patches to lay there (maybe none)."""

    make: Callable[[dict[str, Any]], list[Patch]]


@dataclass(frozen=True, slots=True)
class Merged:
    """The merged tree and, per path, its settings in order (the last one won)."""

    tree: dict[str, Any]
    history: dict[Path, tuple[Setting, ...]]

    def origin(self, path: Path) -> Origin | None:
        """Who set `path` last (or its nearest ancestor that has a history)."""
        for cut in range(len(path), -1, -1):
            settings = self.history.get(path[:cut])
            if settings:
                return settings[-1].origin
        return None

    def where(self, path: Path, key: bool = False) -> tuple[str, int, int]:
        """file, line, column where `path` was last set: its key when `key` and the path itself is
        a map entry with a history, else its value (or the nearest ancestor's)."""
        origin = self.origin(path)
        if origin is None:
            return ("<merged>", 1, 1)
        if key and origin.key_line and self.history.get(path):
            return (origin.file, origin.key_line, origin.key_col)
        return (origin.file, origin.line, origin.col)


def is_directive(value: Any) -> bool:
    return isinstance(value, dict) and any(isinstance(key, str) and key.startswith("$") for key in value)


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Where the merge stands: the path in the merged tree and the path in the patch document."""

    merged: Path
    source: Path

    def child(self, key: str) -> "_Cursor":
        return _Cursor(self.merged + (key,), self.source + (key,))

    def item(self, position: int, source_index: int) -> "_Cursor":
        return _Cursor(self.merged + (position,), self.source + ("$items", source_index))

    def inside(self, directive: str) -> "_Cursor":
        return _Cursor(self.merged, self.source + (directive,))


_MISSING: Any = object()


class _History(dict):
    """The settings of every path (a tuple, so a copy to go on from shares them), with the paths
    grouped by their first two parts (a service): finding the paths below one (to delete, forget
    or move them) reads one service's paths, not every path of the umbrella."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[Path, set[Path]] = {}

    def copy(self) -> "_History":  # type: ignore[override]
        twin = _History()
        dict.update(twin, self)
        twin.groups = {group: set(paths) for group, paths in self.groups.items()}
        return twin

    def add(self, path: Path, setting: Setting) -> None:
        self[path] = self.get(path, ()) + (setting,)

    def __setitem__(self, path: Path, settings: tuple[Setting, ...]) -> None:
        self.groups.setdefault(path[:2], set()).add(path)
        super().__setitem__(path, settings)

    def __delitem__(self, path: Path) -> None:
        super().__delitem__(path)
        self.groups[path[:2]].discard(path)

    def pop(self, path: Path, *default: Any) -> Any:  # type: ignore[override]
        if path in self:
            self.groups[path[:2]].discard(path)
        return super().pop(path, *default)

    def update(self, other: Any = (), **_: Any) -> None:  # type: ignore[override]
        for path, settings in dict(other).items():
            self[path] = settings

    def under(self, prefix: Path, *, strict: bool = False) -> list[Path]:
        """The paths at or below `prefix` (only below when `strict`)."""
        candidates = self.groups.get(prefix[:2], ()) if len(prefix) >= 2 else list(self)
        depth = len(prefix)
        return [p for p in candidates if p[:depth] == prefix and (len(p) > depth or not strict)]


class _LayerMerge:
    """Merges one Patch into the tree; collects diagnostics instead of stopping at the first."""

    def __init__(self, patch: Patch, history: _History, problems: list[Diagnostic]):
        self.patch, self.history, self.problems = patch, history, problems
        self.merger = Merger(
            [(dict, [self.merge_maps]), (list, [self.replace])],
            [self.replace],
            [self.type_conflict],
        )

    def run(self, base: Any) -> Any:
        cursor = _Cursor(self.patch.target, self.patch.source)
        if base is _MISSING:
            return self.fresh(cursor, self.patch.data)
        return self.merger.value_strategy(cursor, base, self.patch.data)

    # --- positions and history -----------------------------------------------------------------
    def origin(self, source: Path, key: bool = False) -> Origin:
        line, col = self.patch.doc.position(source, key=key)
        key_line, key_col = self.patch.doc.keys.get(source, (0, 0))
        return Origin(self.patch.layer, self.patch.doc.file, line, col, key_line, key_col)

    def problem(self, cursor: _Cursor, code: str, message: str, key: bool = False) -> None:
        origin = self.origin(cursor.source, key=key)
        self.problems.append(Diagnostic(origin.file, origin.line, origin.col, code, message))

    def record(self, merged: Path, source: Path, value: Any, action: str = "set") -> None:
        """Record `value` set at `merged` from `source`, and every path inside it."""
        self.history.add(merged, Setting(self.origin(source), action, _summary(value)))
        if isinstance(value, dict):
            for key, item in value.items():
                self.record(merged + (key,), source + (key,), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.record(merged + (index,), source + (index,), item)

    def forget_below(self, merged: Path) -> None:
        # Element positions of a list change when it is extended or filtered: their history goes.
        for known in self.history.under(merged, strict=True):
            del self.history[known]

    def shift_history(self, merged: Path, removed: int, cursor: _Cursor) -> None:
        """Item `removed` of the list at `merged` is gone: close its history, move later items up."""
        depth = len(merged)
        moved: dict[Path, tuple[Setting, ...]] = {}
        for known in self.history.under(merged, strict=True):
            settings = self.history.pop(known)
            index = known[depth]
            if index == removed:
                continue  # a deleted item keeps no path of its own once the list closes up
            moved[merged + (index - 1 if index > removed else index,) + known[depth + 1 :]] = settings
        self.history.update(moved)

    # --- deepmerge strategies ------------------------------------------------------------------
    def merge_maps(self, _config: Merger, cursor: _Cursor, base: dict, patch: dict) -> Any:
        if is_directive(patch):
            return self.directive(cursor, base, patch)
        if not patch:
            self.record(cursor.merged, cursor.source, base)
        for key, value in patch.items():
            if is_directive(value) and "$delete" in value:
                self.delete(cursor.child(key), base, key, value)
            elif key in base:
                base[key] = self.merger.value_strategy(cursor.child(key), base[key], value)
            else:
                base[key] = self.fresh(cursor.child(key), value)
        return base

    def replace(self, _config: Merger, cursor: _Cursor, base: Any, patch: Any) -> Any:
        value = copy.deepcopy(patch)
        if isinstance(base, (dict, list)) and base:  # only a container had paths below it
            self.forget_below(cursor.merged)
        self.record(cursor.merged, cursor.source, value)
        return value

    def type_conflict(self, config: Merger, cursor: _Cursor, base: Any, patch: Any) -> Any:
        if is_directive(patch):
            return self.directive(cursor, base, patch)
        return self.replace(config, cursor, base, patch)

    def fresh(self, cursor: _Cursor, value: Any) -> Any:
        """The value of a key the tree does not have yet (directives inside it still apply)."""
        if is_directive(value):
            return self.directive(cursor, _MISSING, value)
        if isinstance(value, dict) and value:
            self.history.add(cursor.merged, Setting(self.origin(cursor.source), "set", "{...}"))
            return self.merge_maps(self.merger, cursor, {}, value)
        return self.replace(self.merger, cursor, None, value)

    # --- directives ----------------------------------------------------------------------------
    def delete(self, cursor: _Cursor, base: dict, key: str, value: dict) -> None:
        if set(value) != {"$delete"} or value["$delete"] is not True:
            self.problem(cursor, "CG301", "write a deletion as `key: {$delete: true}`, with nothing else in the map")
            return
        if key not in base:
            self.problem(cursor, "CG302", f"{_dotted(cursor.merged)}: cannot delete {key!r}: no lower layer sets it", key=True)
            return
        del base[key]
        origin = self.origin(cursor.source, key=True)
        for known in self.history.under(cursor.merged):
            self.history.add(known, Setting(origin, "delete", None))

    def directive(self, cursor: _Cursor, base: Any, patch: dict) -> Any:
        keep = None if base is _MISSING else base
        unknown = [key for key in patch if key not in DIRECTIVES]
        if unknown:
            self.problem(cursor, "CG301", f"unknown directive, or a key mixed with directives: {', '.join(map(repr, unknown))} (directives: {', '.join(DIRECTIVES)})")
            return keep
        kinds = set(patch)
        if "$delete" in kinds:
            self.problem(cursor, "CG301", "$delete removes a key of a map: write it as `key: {$delete: true}`")
            return keep
        if kinds == {"$replace"}:
            return self.replace(self.merger, cursor.inside("$replace"), base, patch["$replace"])
        if kinds == {"$mergeBy", "$items"}:
            return self.merge_by(cursor, base, patch["$mergeBy"], patch["$items"])
        if kinds and kinds <= {"$append", "$prepend"}:
            return self.extend(cursor, base, patch)
        self.problem(cursor, "CG301", f"directives {', '.join(sorted(kinds))} cannot be combined (use $replace, $append/$prepend, or $mergeBy with $items)")
        return keep

    def extend(self, cursor: _Cursor, base: Any, patch: dict) -> Any:
        current = [] if base is _MISSING else base
        if not isinstance(current, list):
            self.problem(cursor, "CG303", f"{_dotted(cursor.merged)}: $append/$prepend need a list here, found {_kind(current)}")
            return base
        for name in ("$prepend", "$append"):
            if name not in patch:
                continue
            items = patch[name]
            if not isinstance(items, list):
                self.problem(cursor.inside(name), "CG303", f"{name} takes a list, found {_kind(items)}")
                continue
            current = copy.deepcopy(items) + current if name == "$prepend" else current + copy.deepcopy(items)
        self.forget_below(cursor.merged)
        self.history.add(cursor.merged, Setting(self.origin(cursor.source), "append", _summary(current)))
        return current

    def merge_by(self, cursor: _Cursor, base: Any, key: Any, items: Any) -> Any:
        current = [] if base is _MISSING else base
        if not isinstance(key, str) or not isinstance(items, list):
            self.problem(cursor, "CG303", "write a keyed list merge as {$mergeBy: KEY, $items: [...]}")
            return None if base is _MISSING else base
        if not isinstance(current, list):
            self.problem(cursor, "CG303", f"{_dotted(cursor.merged)}: $mergeBy needs a list here, found {_kind(current)}")
            return base
        if not all(isinstance(entry, dict) and _matchable(entry.get(key)) for entry in current):
            self.problem(cursor, "CG304", f"{_dotted(cursor.merged)}: $mergeBy {key!r}: not every item of the list below has {key!r} (a string or number)")
            return base
        # Deletions first, so that the positions of the items merged afterwards stay put.
        ordered = sorted(enumerate(items), key=lambda pair: not (isinstance(pair[1], dict) and pair[1].get("$delete") is True))
        for source_index, item in ordered:
            item_cursor = cursor.item(len(current), source_index)
            if not isinstance(item, dict) or not _matchable(item.get(key)):
                self.problem(item_cursor, "CG304", f"$items[{source_index}] has no {key!r} (a string or number) to match on")
                continue
            positions = {entry[key]: position for position, entry in enumerate(current)}
            name = item[key]
            if item.get("$delete") is True:
                if name not in positions:
                    self.problem(item_cursor, "CG302", f"cannot delete the item with {key}={name!r}: no lower layer has it")
                else:
                    del current[positions[name]]
                    self.shift_history(cursor.merged, positions[name], item_cursor)
                continue
            if name in positions:
                target = cursor.item(positions[name], source_index)
                current[positions[name]] = self.merge_maps(self.merger, target, current[positions[name]], item)
            else:
                added = self.fresh(item_cursor, item)
                if isinstance(added, dict):  # not when the item was refused (its problem is reported)
                    current.append(added)
        self.history.add(cursor.merged, Setting(self.origin(cursor.source), "merge", _summary(current)))
        return current


@dataclass(frozen=True, slots=True)
class Partial:
    """A merge in progress (the tree, its history, the problems so far), to go on from: every
    release starts from the same merged blueprints, merged once per process."""

    tree: dict[str, Any]
    history: _History
    problems: tuple[Diagnostic, ...]


def merge_partial(patches: list[Patch]) -> Partial:
    tree: dict[str, Any] = {}
    history = _History()
    problems: list[Diagnostic] = []
    _lay(patches, tree, history, problems)
    return Partial(tree, history, tuple(problems))


def merge(patches: list[Patch | DerivedPatch], start: Partial | None = None) -> tuple[Merged, list[Diagnostic]]:
    """Merge the patches in order into one tree (on a copy of `start`); return it with every problem found."""
    tree: dict[str, Any] = copy.deepcopy(start.tree) if start else {}
    history = start.history.copy() if start else _History()
    problems: list[Diagnostic] = list(start.problems) if start else []
    _lay(patches, tree, history, problems)
    return Merged(tree, dict(history)), problems


def _lay(patches: list[Patch | DerivedPatch], tree: dict[str, Any], history: _History, problems: list[Diagnostic]) -> None:
    for patch in (part for item in patches for part in (item.make(tree) if isinstance(item, DerivedPatch) else [item])):
        parent = tree
        for part in patch.target[:-1]:
            parent = parent.setdefault(part, {})
        leaf = patch.target[-1]
        parent[leaf] = _LayerMerge(patch, history, problems).run(parent.get(leaf, _MISSING))


def _matchable(value: Any) -> bool:
    """A value $mergeBy can match items on: a scalar (a list or map has no identity to match)."""
    return isinstance(value, (str, int, float))


def _summary(value: Any) -> Any:
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return f"[{len(value)} items]"
    return value


def _kind(value: Any) -> str:
    return {dict: "a map", list: "a list"}.get(type(value), f"a {type(value).__name__}")


def _dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)
