"""A StatefulSet keeps its `spec.selector`, `spec.serviceName`, `spec.volumeClaimTemplates` and
`spec.podManagementPolicy` for life: the API server rejects an update that changes any of them
("updates to statefulset spec for fields other than ... are forbidden") and `helm upgrade` fails.
Severity: error.

Typical causes: a new claim size or access mode (`persistence.size`), a component renamed or its
Service type changed to/from Headless (the governing Service name), `podManagementPolicy` edited.

Way out: delete the StatefulSet with `kubectl delete statefulset NAME --cascade=orphan` before the
upgrade (pods and claims stay), or keep the field as it was.

PASS::

    persistence: {mountPath: /var/lib/data, size: 10Gi}   # both releases

FAIL::

    persistence: {mountPath: /var/lib/data, size: 20Gi}   # was 10Gi
"""

from __future__ import annotations

from typing import Iterator

from chartgen.sides import Pair
from chartgen.upgrade_rules.base import ERROR, Finding, at, both, compact, rule_name

SEVERITY = ERROR
# Field -> the value Kubernetes assumes when the field is absent (None: no default).
FIELDS = {"spec.selector": None, "spec.serviceName": None, "spec.volumeClaimTemplates": [], "spec.podManagementPolicy": "OrderedReady"}


def check(pair: Pair) -> Iterator[Finding]:
    for old, new in both(pair, "StatefulSet"):
        for field, default in FIELDS.items():
            before, after = at(old.body, field, default), at(new.body, field, default)
            if before != after:
                yield Finding(rule_name(__name__), SEVERITY, new, field, before, after,
                              f"{field} of a StatefulSet is immutable: {compact(before)} -> {compact(after)}; "
                              f"the upgrade is rejected (delete it with --cascade=orphan first, or keep the value)")
