"""A Deployment or DaemonSet keeps its `spec.selector` (apps/v1): an update that changes it is
rejected ("field is immutable") and `helm upgrade` fails. Severity: error. (StatefulSets: see
`statefulset_immutable`.)

chartgen's selectors are the service name, the release name and the component name, so a component
renamed in a blueprint or overlay shows up as a new object instead; this rule catches charts edited
by hand, or a change of the selector labels themselves.

PASS::

    selector: {matchLabels: {app.kubernetes.io/name: example, app.kubernetes.io/component: api}}

FAIL::

    selector: {matchLabels: {app.kubernetes.io/name: example, app.kubernetes.io/component: api, tier: web}}
"""

from __future__ import annotations

from typing import Iterator

from chartgen.sides import Pair
from chartgen.upgrade_rules.base import ERROR, Finding, at, both, compact, rule_name

SEVERITY = ERROR


def check(pair: Pair) -> Iterator[Finding]:
    for old, new in both(pair, "Deployment", "DaemonSet"):
        before, after = at(old.body, "spec.selector"), at(new.body, "spec.selector")
        if before != after:
            yield Finding(rule_name(__name__), SEVERITY, new, "spec.selector", before, after,
                          f"spec.selector of a {new.kind} is immutable: {compact(before)} -> {compact(after)}; the upgrade is rejected")
