"""Stage 1, load: YAML text -> plain data plus the file:line:col of every key and value.

We compose YAML nodes with ruamel.yaml and construct the Python values ourselves, so that nothing is
dropped or guessed: duplicate keys, YAML 1.1 look-alikes (`yes`, `0755`, `1:30`), nulls, merge keys
and custom tags are all errors with a position, never silent data changes.

Hostile input is bounded (chartgen.config): a file over MAX_FILE_BYTES is not even read, nesting past
MAX_DEPTH and more than MAX_NODES nodes are refused while libyaml composes, and an alias is refused
before it can expand (nine levels of ten aliases are a billion values in 400 bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from ruamel.yaml.cyaml import CParser
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, StreamEndEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver

from chartgen.config import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES
from chartgen.diagnostics import ChartgenError, Diagnostic

Path = tuple[str | int, ...]
Pos = tuple[int, int]

# Plain scalars that YAML 1.1 (PyYAML, Helm's Go yaml v2 era, many humans) reads differently from 1.2.
_YAML11_BOOL = re.compile(r"y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF")
_YAML11_OCTAL = re.compile(r"[-+]?0[0-9_]+")
_YAML11_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")

_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded YAML file: its data and where each value and each mapping key stands."""

    file: str
    data: dict[str, Any]
    values: dict[Path, Pos] = field(repr=False)
    keys: dict[Path, Pos] = field(repr=False)

    def position(self, path: Path, *, key: bool = False) -> Pos:
        """Position of `path` (its key when `key`), else of its nearest located ancestor."""
        table = self.keys if key else self.values
        for cut in range(len(path), -1, -1):
            probe = path[:cut]
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
        return (1, 1)


def load_file(path: FsPath, display: str | None = None) -> Document:
    """Read and load one YAML file, raising ChartgenError with every problem found in it."""
    name = display or str(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)  # never more: a huge file costs no time nor memory
        if len(raw) > MAX_FILE_BYTES:
            raise ChartgenError([Diagnostic(name, 1, 1, "CG109", f"file is larger than {MAX_FILE_BYTES // 1024} KiB, the limit of one input file: split it")])
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChartgenError([Diagnostic(name, 1, 1, "CG107", f"cannot read file: {exc}")]) from None
    return load_text(text, name)


class _Resolver(VersionedResolver):
    """ruamel's resolver, remembering the tag of each plain scalar text: resolution depends only on
    the text (the YAML version is fixed), and re-deriving it per scalar was half the parse time."""

    _tags: dict[tuple[type, str], Any] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode or not implicit[0]:
            return super().resolve(kind, value, implicit)
        tag = self._tags.get((kind, value))
        if tag is None:
            tag = self._tags[(kind, value)] = super().resolve(kind, value, implicit)
        return tag


class _Refused(Exception):
    """An input limit, reached while composing (raised through libyaml's composer)."""

    def __init__(self, where: Pos, code: str, message: str):
        super().__init__(message)
        self.where, self.code, self.message = where, code, message


class _Composer(CParser, _Resolver):
    """libyaml's parser and composer (C), held to MAX_DEPTH and MAX_NODES as they go: the composer
    calls descend_resolver before and ascend_resolver after every node it composes (never for an
    alias), so counting there costs nothing beyond the no-op calls it replaces, and a 200 KiB file
    of brackets is refused instead of overflowing the C stack."""

    __slots__ = ("depth", "nodes")  # read twice per node: slots make that as cheap as the no-op

    def __init__(self, text: str):
        CParser.__init__(self, text)
        _Resolver.__init__(self, loadumper=self)
        self.depth = 0
        self.nodes = 0

    def descend_resolver(self, parent: Any, index: Any) -> None:
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH or self.nodes > MAX_NODES:  # one test on the common path
            self.refuse(_child_pos(parent, index))

    def refuse(self, where: Pos) -> None:
        if self.depth > MAX_DEPTH:
            raise _Refused(where, "CG110", f"nested deeper than {MAX_DEPTH} levels, the limit of one input file")
        raise _Refused(where, "CG111", f"more than {MAX_NODES} YAML nodes (keys, values and items), the limit of one input file: split it")

    def ascend_resolver(self) -> None:
        self.depth -= 1


def _child_pos(parent: Node | None, index: Any) -> Pos:
    """Where the node about to be composed stands, as near as is known before it exists: the key of
    a map value, else its parent collection."""
    if isinstance(index, Node):
        return _pos(index)
    return _pos(parent) if parent is not None else (1, 1)


def _compose(text: str, file: str) -> tuple[Node | None, int]:
    """The root node and how many nodes were composed, or a CG101/CG110/CG111 ChartgenError."""
    composer = _Composer(text)
    try:
        return composer.get_single_node(), composer.nodes
    except _Refused as refused:
        raise ChartgenError([Diagnostic(file, *refused.where, refused.code, refused.message)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ChartgenError([Diagnostic(file, line, col, "CG101", f"YAML syntax error: {problem}")]) from None
    except ReaderError as exc:  # a character YAML does not allow (control characters)
        line, col = _offset_pos(text, exc.position)
        raise ChartgenError([Diagnostic(file, line, col, "CG101", f"YAML syntax error: character #x{exc.character:04x} is not allowed: {exc.reason}")]) from None
    except YAMLError as exc:
        raise ChartgenError([Diagnostic(file, 1, 1, "CG101", f"YAML syntax error: {' '.join(str(exc).split())}")]) from None
    finally:
        composer.dispose()


def _offset_pos(text: str, offset: int) -> Pos:
    """Line and column of a byte offset into the UTF-8 form of `text` (libyaml counts bytes)."""
    before = text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")
    return (before.count("\n") + 1, len(before) - before.rfind("\n"))


def load_text(text: str, file: str) -> Document:
    """The document of `text`. One process often loads the same file again (`validate` compiles
    every release: each reads every blueprint, and an overlay's bases): documents are kept by
    name and content, and never changed by any stage, so an unchanged file is parsed once."""
    key = (file, text)
    if key not in _LOADED:
        if len(_LOADED) >= _KEEP:  # `build --watch` sees many versions of a file: keep only recent ones
            _LOADED.clear()
        _LOADED[key] = _load_text(text, file)
    return _LOADED[key]


_LOADED: dict[tuple[str, str], Document] = {}
_KEEP = 256  # far above the inputs of one project (17 blueprints, 22 overlays today)


def _load_text(text: str, file: str) -> Document:
    root, composed = _compose(text, file)
    if not isinstance(root, MappingNode):
        where = _pos(root) if root is not None else (1, 1)
        raise ChartgenError([Diagnostic(file, *where, "CG106", "expected a mapping at the top of the file")])
    builder = _Builder(file, composed)
    try:
        data = builder.build(root, ())
    except _Expanding:
        raise ChartgenError([_alias(text, file)]) from None
    if builder.problems:
        raise ChartgenError(builder.problems)
    if len(builder.values) + len(builder.keys) != composed:
        # Without aliases every composed node is built exactly once, as a value or as a key.
        raise ChartgenError([_alias(text, file)])
    return Document(file, data, builder.values, builder.keys)


class _Expanding(Exception):
    """The build outgrew the composed tree: an alias is repeating a node."""


def _alias(text: str, file: str) -> Diagnostic:
    """The first alias of `text`, found by parsing it again; only a refused file pays for this."""
    parser = CParser(text)
    anchors: dict[str, Pos] = {}
    try:
        while not isinstance(event := parser.get_event(), StreamEndEvent):
            where = (event.start_mark.line + 1, event.start_mark.column + 1)
            if isinstance(event, AliasEvent):
                line, col = anchors.get(event.anchor, (1, 1))
                return Diagnostic(file, *where, "CG108", f"alias *{event.anchor} repeats the value anchored at line {line}, column {col}: "
                                  "anchors and aliases are not supported; write the value out")
            if getattr(event, "anchor", None) is not None:
                anchors[event.anchor] = where
    finally:
        parser.dispose()
    return Diagnostic(file, 1, 1, "CG108", "anchors and aliases are not supported; write the values out")  # not reached


def _pos(node: Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _tag(node: Node) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag) or "")


class _Builder:
    """Turns composed nodes into plain dict/list/scalars, recording positions and problems."""

    def __init__(self, file: str, composed: int):
        self.file = file
        self.composed = composed  # nodes composed: without aliases, more than this build can make
        self.values: dict[Path, Pos] = {}
        self.keys: dict[Path, Pos] = {}
        self.problems: list[Diagnostic] = []

    def problem(self, node: Node, code: str, message: str) -> None:
        self.problems.append(Diagnostic(self.file, *_pos(node), code, message))

    def build(self, node: Node, path: Path) -> Any:
        self.values[path] = _pos(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        # Only an alias can make the built tree outgrow the composed one or nest deeper than the
        # composer allowed (`&a [*a]` nests forever): stop before it costs minutes and gigabytes.
        if len(self.values) > self.composed or len(path) >= MAX_DEPTH:
            raise _Expanding
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]

    def mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            if _tag(key_node) == _TAG + "merge":
                self.problem(key_node, "CG105", "merge keys (<<) are not supported: write the keys out")
                continue
            if not isinstance(key_node, ScalarNode) or _tag(key_node) != _TAG + "str":
                found = repr(key_node.value) if isinstance(key_node, ScalarNode) else "a map" if isinstance(key_node, MappingNode) else "a list"
                self.problem(key_node, "CG105", f"mapping key must be a string, found {found}: quote it")
                continue
            key = key_node.value
            if key in first_seen:
                line, col = first_seen[key]
                self.problem(key_node, "CG102", f"duplicate key {key!r} (first defined at line {line}, column {col})")
                continue
            first_seen[key] = _pos(key_node)
            self.keys[path + (key,)] = _pos(key_node)
            if isinstance(value_node, ScalarNode) and _tag(value_node) == _TAG + "null" and value_node.value in ("", None):
                # `key:` with nothing after it: the empty node has no place of its own; point at the key.
                self.problems.append(Diagnostic(self.file, *_pos(key_node), "CG104", f"{key!r} has no value: give one, or delete the key with {{$delete: true}}"))
                result[key] = None
                continue
            result[key] = self.build(value_node, path + (key,))
        return result

    def scalar(self, node: ScalarNode) -> Any:
        tag, text, plain = _tag(node), node.value, not node.style  # C parser: "" for plain, Python: None
        if plain and tag == _TAG + "str" and (_YAML11_BOOL.fullmatch(text) or _YAML11_SEXAGESIMAL.fullmatch(text)):
            self.problem(node, "CG103", f"ambiguous scalar {text!r}: YAML 1.1 reads it as a bool or number; quote it")
            return text
        if tag == _TAG + "null":
            self.problem(node, "CG104", "null value: give a value, or delete the key with {$delete: true}")
            return None
        if tag == _TAG + "bool":
            return text.lower() == "true"
        if tag == _TAG + "int":
            if _YAML11_OCTAL.fullmatch(text):
                self.problem(node, "CG103", f"ambiguous number {text!r}: YAML 1.1 reads it as octal; quote it or drop the 0")
                return text
            return int(text.replace("_", ""), 0)
        if tag == _TAG + "float":
            return _float(text)
        if tag in (_TAG + "str", _TAG + "timestamp"):
            return text  # a date stays the text the author wrote
        self.problem(node, "CG105", f"unsupported tag {tag!r}")
        return text


def _float(text: str) -> float:
    lowered = text.lower().replace("_", "")
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(lowered)
