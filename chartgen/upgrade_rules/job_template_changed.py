"""A Job's `spec.template` cannot change once it exists: a plain (non-hook) Job that keeps its name
while its pod template changes makes `helm upgrade` fail with "field is immutable". Severity:
error. Hook Jobs (annotation `helm.sh/hook`) are recreated by Helm and are not concerned.

chartgen names every Job after a hash of its pod spec, so a changed template means a new name and a
new Job; this rule guards charts whose Job names were made fixed.

PASS::

    name: oaas-example-bootstrap-1a2b3c4d     # the name follows the template

FAIL::

    name: oaas-example-bootstrap              # same name, new image in spec.template
"""

from __future__ import annotations

from typing import Iterator

from chartgen.sides import Pair
from chartgen.upgrade_rules.base import ERROR, Finding, both, rule_name

SEVERITY = ERROR


def check(pair: Pair) -> Iterator[Finding]:
    for old, new in both(pair, "Job"):
        if "helm.sh/hook" in old.annotations or "helm.sh/hook" in new.annotations:
            continue
        before, after = old.spec.get("template"), new.spec.get("template")
        if before != after:
            yield Finding(rule_name(__name__), SEVERITY, new, "spec.template", _images(before), _images(after),
                          "spec.template of a Job is immutable and the Job keeps its name: the upgrade is rejected "
                          "(name the Job after its template, or make it a hook)")


def _images(template: object) -> list[str] | object:
    """The images of a pod template: the compact face of a template change."""
    spec = template.get("spec", {}) if isinstance(template, dict) else {}
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    images = [c.get("image") for c in containers if isinstance(c, dict)]
    return images or template
