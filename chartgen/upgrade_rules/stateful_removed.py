"""A StatefulSet the chart no longer renders (its component removed, its kind changed, or its whole
service removed or disabled) takes its pods and their stable identity with it; the claims stay
behind, unmounted, and a clustered service (a database, a message queue) loses members or all of them.
Severity: warning: data at risk.

PASS::

    components: {server: {kind: StatefulSet, ...}}   # in both releases

FAIL::

    components: {server: {kind: Deployment, ...}}    # was a StatefulSet
"""

from __future__ import annotations

from typing import Iterator

from chartgen.sides import Pair
from chartgen.upgrade_rules.base import WARNING, Finding, at, removed, rule_name, service_gone

SEVERITY = WARNING


def check(pair: Pair) -> Iterator[Finding]:
    for old in removed(pair, "StatefulSet"):
        claims = [at(t, "metadata.name") for t in at(old.body, "spec.volumeClaimTemplates", [])]
        why = f"service {old.chart} renders nothing any more" if service_gone(pair, old.chart) else "the StatefulSet is no longer rendered"
        data = f"; its claims ({', '.join(f'{c}-{old.name}-N' for c in claims)}) stay behind, unmounted" if claims else ""
        yield Finding(rule_name(__name__), SEVERITY, old, "(object)", f"{old.name} ({len(claims)} claim templates)", None,
                      f"StatefulSet removed ({why}): its pods go{data}")
