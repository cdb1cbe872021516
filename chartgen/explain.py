"""`chartgen explain`: where a merged value comes from, and every value it overrode, in order."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from chartgen.diagnostics import ChartgenError, Diagnostic
from chartgen.load import Path
from chartgen.merge import Merged, Setting

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Explanation:
    dotted: str
    path: Path
    value: Any  # the final value; _MISSING when a layer deleted it
    history: tuple[Setting, ...]

    @property
    def exists(self) -> bool:
        return self.value is not _MISSING


def to_path(dotted: str) -> Path:
    """`keystone.components.api.replicas` -> ("services", "keystone", ...); `global.x` stays global."""
    parts: list[str | int] = [int(part) if part.isdigit() else part for part in dotted.split(".") if part != ""]
    if not parts:
        return ()
    return tuple(parts) if parts[0] == "global" else ("services", *parts)


def explain(merged: Merged, dotted: str, source: str = "<command line>") -> Explanation:
    path = to_path(dotted)
    node: Any = merged.tree
    for depth, part in enumerate(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            history = merged.history.get(path, ())
            if history and history[-1].action == "delete":
                return Explanation(dotted, path, _MISSING, history)
            raise ChartgenError([Diagnostic(source, 1, 1, "CG503", _not_found(dotted, path, depth, node))])
    return Explanation(dotted, path, node, merged.history.get(path, ()))


def _not_found(dotted: str, path: Path, depth: int, node: Any) -> str:
    where = ".".join(str(part) for part in path[1 if path and path[0] == "services" else 0 : depth]) or "(top)"
    choices = [str(key) for key in node] if isinstance(node, dict) else []
    close = difflib.get_close_matches(str(path[depth]), choices, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else (f"; {where} has: {', '.join(sorted(choices)[:15])}" if choices else "")
    return f"no value at {dotted!r}: {where} has no {path[depth]!r}{hint}"


def as_dict(explanation: Explanation) -> dict[str, Any]:
    return {
        "path": explanation.dotted,
        "exists": explanation.exists,
        "value": explanation.value if explanation.exists else None,
        "history": [
            {"action": s.action, "value": s.value, "layer": s.origin.layer, "file": s.origin.file,
             "line": s.origin.line, "col": s.origin.col}
            for s in explanation.history
        ],
    }
