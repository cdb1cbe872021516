"""Stage 2, validate: JSON Schema (draft 2020-12) of blueprints, overlays and the merged result.

Every schema error becomes a Diagnostic at the position of the offending key or value. All errors
are collected; the caller raises them together.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any, Callable, Iterator

from chartgen.cache import KnownValid
from chartgen.diagnostics import Diagnostic
from chartgen.load import Document, Path

# A locator answers "where does this path come from": (file, line, col). `key=True` asks for the key.
Locator = Callable[[Path, bool], tuple[str, int, int]]

_RANGE_KEYWORDS = {
    "enum", "const", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties",
    "maxProperties", "propertyNames", "format",
}
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


@cache
def schema(name: str) -> dict[str, Any]:
    """A schema shipped in chartgen/schemas, e.g. schema("blueprint")."""
    text = resources.files("chartgen.schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _schema_digest(name: str) -> str:
    """Names the schema by its content, so an edited schema never trusts an old verdict."""
    import hashlib

    return hashlib.sha256(json.dumps(schema(name), sort_keys=True).encode()).hexdigest()


@cache
def _fast_validator(name: str) -> Any:
    """The yes/no verdict, from jsonschema-rs (compiled, about 100 times faster than jsonschema on
    our schemas): most documents are valid and need nothing more."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema(name))


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator  # imported when a document is new: it is slow to load

    return Draft202012Validator(schema(name))


def document_locator(doc: Document) -> Locator:
    return lambda path, key: (doc.file, *doc.position(path, key=key))


def validate(data: Any, schema_name: str, locate: Locator, prefix: Path = (), known: KnownValid | None = None) -> list[Diagnostic]:
    """All schema violations of `data`, positioned; `prefix` is where `data` sits in its file.
    `known` remembers documents that passed before, which are not checked again."""
    digest = KnownValid.digest(_schema_digest(schema_name), data) if known is not None else ""
    if known is not None and digest in known:
        return []
    if _fast_validator(schema_name).is_valid(data):
        found = []
    else:  # only a document with an error pays for jsonschema's detailed, positioned errors
        root = schema(schema_name)
        found = [diag for error in _validator(schema_name).iter_errors(data) for diag in _diagnose(error, locate, prefix, root)]
    if known is not None and not found:
        known.add(digest)
    return found


def _diagnose(error: Any, locate: Locator, prefix: Path, root: dict[str, Any]) -> Iterator[Diagnostic]:
    if error.validator in ("oneOf", "anyOf") and error.context:
        from jsonschema.exceptions import best_match

        # Name the alternative that came closest rather than "not valid under any of the given schemas".
        error = best_match(error.context)
    path: Path = prefix + tuple(error.absolute_path)
    where = _dotted(path)
    keyword = error.validator
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        known = _known_properties(error.schema, root)
        for name in _unexpected_keys(error, known):
            file, line, col = locate(path + (name,), True)
            yield Diagnostic(file, line, col, "CG202", f"{_dotted(path + (name,))}: unknown key {name!r}{_hint(known, name)}")
        return
    if keyword == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message) or [error.message]
        file, line, col = locate(path, False)
        yield Diagnostic(file, line, col, "CG203", f"{where or '(top)'}: missing required key {missing[0]!r}")
        return
    if keyword == "type":
        file, line, col = locate(path, False)
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        got = _JSON_TYPES.get(type(error.instance), type(error.instance).__name__)
        yield Diagnostic(file, line, col, "CG201", f"{where}: expected {expected}, got {got} {error.instance!r}")
        return
    if keyword == "propertyNames" or "propertyNames" in error.relative_schema_path:
        file, line, col = locate(path + (error.instance,), True)
        yield Diagnostic(file, line, col, "CG204", f"{_dotted(path + (error.instance,))}: key {error.instance!r} is not allowed here ({_short(error)})")
        return
    file, line, col = locate(path, False)
    code = "CG204" if keyword in _RANGE_KEYWORDS else "CG209"
    yield Diagnostic(file, line, col, code, f"{where or '(top)'}: {_short(error)}")


def _known_properties(subschema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    """Property names a (sub)schema allows, following local $ref and allOf (components share fields)."""
    names = set(subschema.get("properties", {}))
    for part in subschema.get("allOf", []):
        target = part
        if "$ref" in part and part["$ref"].startswith("#/"):
            target = root
            for step in part["$ref"][2:].split("/"):
                target = target[step]
        names |= _known_properties(target, root)
    return names


def _unexpected_keys(error: Any, allowed: set[str]) -> list[str]:
    if isinstance(error.instance, dict):
        names = [key for key in error.instance if key not in allowed]
        quoted = set(re.findall(r"'([^']+)'", error.message))
        return [name for name in names if name in quoted] or names
    return []


def _hint(allowed: set[str], name: str) -> str:
    import difflib

    known = sorted(allowed)
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else (f" (allowed: {', '.join(known)})" if known and len(known) <= 12 else "")


def _short(error: Any) -> str:
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword == "enum":
        return f"{instance!r} is not one of {', '.join(map(repr, value))}"
    if keyword == "const":
        return f"{instance!r} is not allowed here (only {value!r})"
    if keyword == "pattern":
        return f"{instance!r} does not match {value}"
    if keyword in ("minimum", "maximum"):
        return f"{instance!r} is {'below the minimum' if keyword == 'minimum' else 'above the maximum'} {value}"
    if keyword == "maxLength":
        return f"{instance!r} is longer than {value} characters"
    return error.message


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
