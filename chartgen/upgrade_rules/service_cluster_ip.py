"""A Service keeps its `spec.clusterIP`: changing it, including headless (`clusterIP: None`) to a
normal ClusterIP Service or back, is rejected ("field is immutable"), or, when the new manifest
just leaves the field out, silently keeps the old value, so the Service does not become what the
chart says. A `spec.type` change to or from ExternalName drops or forces a cluster IP the same way.
Severity: error. ClusterIP <-> NodePort <-> LoadBalancer is allowed and not reported.

PASS::

    service: ClusterIP   # was ClusterIP; NodePort would be fine too

FAIL::

    service: ClusterIP   # was Headless (default of a StatefulSet component)
"""

from __future__ import annotations

from typing import Iterator

from chartgen.sides import Pair
from chartgen.upgrade_rules.base import ERROR, Finding, at, both, rule_name

SEVERITY = ERROR


def check(pair: Pair) -> Iterator[Finding]:
    for old, new in both(pair, "Service"):
        before_ip, after_ip = at(old.body, "spec.clusterIP", ""), at(new.body, "spec.clusterIP", "")
        if before_ip != after_ip:
            yield Finding(rule_name(__name__), SEVERITY, new, "spec.clusterIP", _ip(before_ip), _ip(after_ip),
                          f"spec.clusterIP of a Service is immutable ({_shape(before_ip)} -> {_shape(after_ip)}): "
                          "the update is rejected or keeps the old value; delete the Service before the upgrade")
        before_type, after_type = at(old.body, "spec.type", "ClusterIP"), at(new.body, "spec.type", "ClusterIP")
        if before_type != after_type and "ExternalName" in (before_type, after_type):
            yield Finding(rule_name(__name__), SEVERITY, new, "spec.type", before_type, after_type,
                          f"spec.type {before_type} -> {after_type} drops or forces a cluster IP: delete the Service before the upgrade")


def _ip(value: str) -> str:
    return value or "(allocated)"


def _shape(value: str) -> str:
    return "headless" if value == "None" else "fixed IP" if value else "allocated IP"
