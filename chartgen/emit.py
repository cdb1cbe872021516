"""Byte-stable serialisation of generated data files (render stage).

YAML is written by this small emitter rather than a general dumper because the reader is Helm's Go
YAML, which still treats `yes`, `on`, `y` and `0755` the YAML 1.1 way: every string that is not
unmistakably a plain string is double-quoted (JSON syntax, which YAML accepts), keys are sorted
unless the caller keeps an order on purpose, indentation is two spaces, lines end in LF.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_/][-A-Za-z0-9_./@]*")
_YAML11_WORDS = {"y", "yes", "n", "no", "on", "off", "true", "false", "null", "~"}
# Characters YAML does not allow raw in a document (DEL, C1 controls, U+FFFE/F), or that libyaml and
# Go's YAML read as a line break or a byte-order mark inside a quoted string: written as escapes.
_NOT_RAW = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"  # JSON has no words for them
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML11_WORDS:
        return text
    return quoted(text)


def quoted(text: str) -> str:
    """`text` as a double-quoted YAML string (JSON syntax) that reads back as exactly `text`."""
    return _NOT_RAW.sub(lambda found: f"\\u{ord(found.group()):04x}", json.dumps(text, ensure_ascii=False))


def yaml_text(value: Any, *, sort: bool = True) -> str:
    """A YAML document for `value` (a mapping), ending in a newline."""
    lines = _block(value, 0, sort)
    return "\n".join(lines) + "\n"


def _block(value: Any, indent: int, sort: bool) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines: list[str] = []
        for key in (sorted(value) if sort else value):
            item = value[key]
            head = f"{pad}{scalar(key)}:"
            if isinstance(item, (dict, list)) and item:
                lines.append(head)
                lines += _block(item, indent + 2 if isinstance(item, dict) else indent, sort)
            else:
                lines.append(f"{head} {_inline(item)}")
        return lines
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = _block(item, indent + 2, sort)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(f"{pad}- {_inline(item)}")
        return lines
    return [pad + scalar(value)]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, str) and "\n" in value:
        return quoted(value)
    return scalar(value)


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
