"""A PersistentVolumeClaim the chart no longer renders, or a volume claim template removed from a
StatefulSet that stays, leaves data behind: the claim is kept (chartgen marks claims
`helm.sh/resource-policy: keep`, and StatefulSet claims are never deleted), but nothing mounts it
any more, and a later re-add starts from whatever it holds. Severity: warning.

PASS::

    persistence: {mountPath: /var/lib/data, size: 5Gi}   # in both releases

FAIL::

    persistence: {$delete: true}                              # in the newer release overlay
"""

from __future__ import annotations

from typing import Iterator

from chartgen.sides import Pair
from chartgen.upgrade_rules.base import WARNING, Finding, at, both, removed, rule_name, service_gone

SEVERITY = WARNING


def check(pair: Pair) -> Iterator[Finding]:
    for old in removed(pair, "PersistentVolumeClaim"):
        size = at(old.body, "spec.resources.requests.storage")
        why = f"service {old.chart} renders nothing any more" if service_gone(pair, old.chart) else "the claim is no longer rendered"
        yield Finding(rule_name(__name__), SEVERITY, old, "(object)", f"{old.name} ({size})", None,
                      f"PersistentVolumeClaim removed ({why}): its data stays behind, unused; back it up or delete it on purpose")
    for old, new in both(pair, "StatefulSet"):
        kept = {at(t, "metadata.name") for t in at(new.body, "spec.volumeClaimTemplates", [])}
        for template in at(old.body, "spec.volumeClaimTemplates", []):
            name = at(template, "metadata.name")
            if name not in kept:
                yield Finding(rule_name(__name__), SEVERITY, new, f"spec.volumeClaimTemplates[{name}]",
                              f"{name} ({at(template, 'spec.resources.requests.storage')})", None,
                              f"volume claim template {name!r} removed: the claims {name}-{new.name}-N stay behind, unmounted")
