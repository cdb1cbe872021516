"""`chartgen diff`: what changes between two sides, per subchart: the values paths (with the
setting that decided each side) and the rendered Kubernetes objects (a unified diff per object).

Secret data and values whose key looks like a password, secret, key or token are never shown; a
change of one reads `*** (changed)`. Labels that only follow the chart version are not compared.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from chartgen.emit import scalar
from chartgen.rendered import VERSION_LABELS, RenderedObject, comparable, masked_pair
from chartgen.sides import Pair, Side
from chartgen.valuediff import ValueChange, compare


@dataclass(frozen=True, slots=True)
class ObjectChange:
    chart: str
    kind: str
    namespace: str
    name: str
    change: str  # added | removed | changed
    diff: str  # unified diff of the (masked) objects; empty for added and removed ones

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "change": self.change, "diff": self.diff}


@dataclass(frozen=True, slots=True)
class ChartDiff:
    chart: str
    values: tuple[ValueChange, ...]
    objects: tuple[ObjectChange, ...]


@dataclass(frozen=True, slots=True)
class DiffReport:
    before: Side
    after: Side
    values_compared: bool  # False when a side is a folder: no merged tree, no provenance
    charts: tuple[ChartDiff, ...]

    @property
    def equal(self) -> bool:
        return not self.charts


def diff(pair: Pair) -> DiffReport:
    values: list[ValueChange] = []
    compared = pair.before.compiled is not None and pair.after.compiled is not None
    if compared:
        values = compare(pair.before.compiled.merged, pair.after.compiled.merged, pair.before.display, pair.after.display)
    objects = _object_changes(pair)
    charts = sorted({change.chart for change in values} | {change.chart for change in objects}, key=lambda c: (c != "oaas", c))
    return DiffReport(pair.before, pair.after, compared, tuple(
        ChartDiff(chart, tuple(v for v in values if v.chart == chart), tuple(o for o in objects if o.chart == chart))
        for chart in charts))


def _object_changes(pair: Pair) -> list[ObjectChange]:
    old, new = pair.before_objects.objects, pair.after_objects.objects
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        item = a or b
        assert item is not None
        if a is None or b is None:
            changes.append(ObjectChange(item.chart, *key, "added" if a is None else "removed", ""))
            continue
        text = _unified(a, b, pair.before.label, pair.after.label)
        if text:
            changes.append(ObjectChange(b.chart, *key, "changed", text))
    return changes


def _unified(before: RenderedObject, after: RenderedObject, before_label: str, after_label: str) -> str:
    old, new = masked_pair(comparable(before), comparable(after))
    if old == new:
        return ""
    lines = difflib.unified_diff(_yaml(old).splitlines(), _yaml(new).splitlines(),
                                 f"{before_label} {before.ref}", f"{after_label} {after.ref}", lineterm="", n=3)
    return "\n".join(lines)


def _yaml(body: Any) -> str:
    """A readable YAML text of an object, in its own key order; multi-line strings (config files)
    as literal blocks, so a changed option is one changed line."""
    return "\n".join(_block(body, 0)) + "\n"


def _block(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines: list[str] = []
        for key, item in value.items():
            lines += _entry(f"{pad}{scalar(key)}:", item, indent + 2)
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            inner = _entry(f"{pad}-", item, indent + 2)
            if isinstance(item, dict) and item:  # `- key: value` on the dash line
                inner = [f"{pad}- {inner[1].lstrip()}"] + inner[2:]
            lines += inner
        return lines
    return [pad + _inline(value)]


def _entry(head: str, item: Any, indent: int) -> list[str]:
    if isinstance(item, (dict, list)) and item:
        return [head] + _block(item, indent)
    if isinstance(item, str) and "\n" in item:
        return [f"{head} |"] + [(" " * indent + line).rstrip() for line in item.splitlines()]
    return [f"{head} {_inline(item)}"]


def _inline(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return scalar(value)


# --- presentation ---------------------------------------------------------------------------------------
def as_dict(report: DiffReport) -> dict[str, Any]:
    return {
        "from": _side(report.before), "to": _side(report.after), "equal": report.equal,
        "valuesCompared": report.values_compared, "ignoredLabels": list(VERSION_LABELS),
        "charts": [{"chart": c.chart, "values": [v.as_dict() for v in c.values], "objects": [o.as_dict() for o in c.objects]}
                   for c in report.charts],
    }


def _side(side: Side) -> dict[str, Any]:
    return {"spec": side.label, "kind": side.kind}


def text_lines(report: DiffReport) -> list[tuple[str, str]]:
    """(style, line) pairs: the CLI prints them plain, or coloured on a terminal."""
    head = f"chartgen diff {report.before.label} ({report.before.kind}) -> {report.after.label} ({report.after.kind})"
    lines: list[tuple[str, str]] = [("bold", head)]
    if not report.values_compared:
        lines.append(("dim", "values paths not compared: a folder side has no blueprint provenance"))
    if report.equal:
        return lines + [("green", "no differences")]
    for chart in report.charts:
        lines.append(("bold cyan", f"== {chart.chart}"))
        lines += [line for change in chart.values for line in _value_lines(change)]
        lines += [line for change in chart.objects for line in _object_lines(change)]
    values = sum(len(c.values) for c in report.charts)
    objects = sum(len(c.objects) for c in report.charts)
    lines.append(("bold", f"{len(report.charts)} charts differ: {values} values paths, {objects} objects"))
    return lines


def _value_lines(change: ValueChange) -> list[tuple[str, str]]:
    if change.change == "changed":
        text = f"  value   {change.dotted}: {_compact(change.before)} -> {_compact(change.after)}"
    else:
        text = f"  value   {change.dotted}: {change.change} {_compact(change.after if change.change == 'added' else change.before)}"
    lines = [("yellow", text)]
    for label, origin in (("from", change.before_origin), ("to", change.after_origin)):
        where = f"{origin.where()} [{origin.layer}]{' (deleted)' if origin.action == 'delete' else ''}" if origin else "(not set)"
        lines.append(("dim", f"          {label:4} {where}"))
    return lines


def _object_lines(change: ObjectChange) -> list[tuple[str, str]]:
    style = {"added": "green", "removed": "red"}.get(change.change, "yellow")
    lines = [(style, f"  object  {change.change} {change.kind}/{change.name}")]
    for line in change.diff.splitlines():
        tone = "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else ""
        lines.append((tone, "    " + line))
    return lines


def _compact(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
