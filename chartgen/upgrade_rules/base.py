"""What every upgrade rule shares: the Finding it reports and the ways to walk two renderings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from chartgen.rendered import RenderedObject
from chartgen.sides import Pair

ERROR, WARNING = "error", "warning"  # error: Kubernetes rejects the upgrade; warning: recreation or data at risk


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str
    obj: RenderedObject  # the object as it was (from side) or will be (to side)
    field: str
    before: Any
    after: Any
    message: str


def both(pair: Pair, *kinds: str) -> Iterator[tuple[RenderedObject, RenderedObject]]:
    """Objects of these kinds present on both sides under the same key: what an upgrade updates."""
    new = pair.after_objects.objects
    for key, old in sorted(pair.before_objects.objects.items()):
        if old.kind in kinds and key in new:
            yield old, new[key]


def removed(pair: Pair, *kinds: str) -> Iterator[RenderedObject]:
    """Objects of these kinds that the from side renders and the to side does not."""
    new = pair.after_objects.objects
    for key, old in sorted(pair.before_objects.objects.items()):
        if old.kind in kinds and key not in new:
            yield old


def at(body: Any, dotted: str, default: Any = None) -> Any:
    """The value at a dotted path of an object (`spec.selector`), or `default`."""
    for part in dotted.split("."):
        if not isinstance(body, dict) or part not in body:
            return default
        body = body[part]
    return body


def compact(value: Any, limit: int = 120) -> str:
    """One line, for messages: JSON, cut in the middle when long."""
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit // 2 - 2] + " … " + text[-(limit // 2 - 2):]


def service_gone(pair: Pair, chart: str) -> bool:
    """True when the to side renders nothing of this subchart (removed or disabled)."""
    return not pair.after_objects.of_chart(chart)


def rule_name(module_name: str) -> str:
    return module_name.rsplit(".", 1)[-1]
