"""Stage 1, load: YAML text -> plain data plus the file:line:col of every key and value.

We compose YAML nodes with ruamel.yaml and construct the Python values ourselves, so that nothing is
dropped or guessed: duplicate keys, YAML 1.1 look-alikes (`yes`, `0755`, `1:30`), nulls, merge keys
and custom tags are all errors with a position, never silent data changes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

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
        text = path.read_text(encoding="utf-8")
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


@functools.cache
def _yaml() -> YAML:
    # typ="safe" composes with ruamel.yaml.clib's C parser (about 9x faster than the pure parser);
    # nodes keep their marks either way. One instance: building one scans ruamel's plugins.
    yaml = YAML(typ="safe")
    yaml.Resolver = _Resolver
    return yaml


def load_text(text: str, file: str) -> Document:
    try:
        root = _yaml().compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ChartgenError([Diagnostic(file, line, col, "CG101", f"YAML syntax error: {problem}")]) from None
    if not isinstance(root, MappingNode):
        where = _pos(root) if root is not None else (1, 1)
        raise ChartgenError([Diagnostic(file, *where, "CG106", "expected a mapping at the top of the file")])
    builder = _Builder(file)
    data = builder.build(root, ())
    if builder.problems:
        raise ChartgenError(builder.problems)
    return Document(file, data, builder.values, builder.keys)


def _pos(node: Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _tag(node: Node) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag) or "")


class _Builder:
    """Turns composed nodes into plain dict/list/scalars, recording positions and problems."""

    def __init__(self, file: str):
        self.file = file
        self.values: dict[Path, Pos] = {}
        self.keys: dict[Path, Pos] = {}
        self.problems: list[Diagnostic] = []

    def problem(self, node: Node, code: str, message: str) -> None:
        self.problems.append(Diagnostic(self.file, *_pos(node), code, message))

    def build(self, node: Node, path: Path) -> Any:
        self.values[path] = _pos(node)
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]
        return self.scalar(node)

    def mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            if _tag(key_node) == _TAG + "merge":
                self.problem(key_node, "CG105", "merge keys (<<) are not supported: write the keys out")
                continue
            if not isinstance(key_node, ScalarNode) or _tag(key_node) != _TAG + "str":
                self.problem(key_node, "CG105", f"mapping key must be a string: quote {key_node.value!r}")
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
