"""runAsUser, runAsGroup or fsGroup that the image does not have.

A workload's uid must be a user of its image, and its group and fsGroup a group of one
(`images.<name>.facts.users`, name -> uid or {uid, gid}; root, 0, is in every image): a program
run under a uid its image does not know may refuse to start, and files the image owns stay out of
reach. Images without facts, and images whose facts say `anyUser` (no fixed uids), are not checked.

PASS::

    # values/queens.yaml: imageFacts.kolla.users: {mongodb: {uid: 42432, gid: 65534}, ...}
    security: {runAsUser: 42432, runAsGroup: 65534, fsGroup: 65534}

FAIL::

    security: {runAsUser: 42432, runAsGroup: 42432}     # kolla's mongodb group is 65534
"""

from __future__ import annotations

from typing import Iterator

from chartgen.checks.context import Context, image_of, workloads
from chartgen.diagnostics import Diagnostic

CODE = "CG414"


def check(context: Context) -> Iterator[Diagnostic]:
    for service, section, key, spec in workloads(context):
        image = image_of(context, service, spec.get("image", ""))
        if image is None or image.facts is None or image.facts.any_user:
            continue
        security = spec.get("security", {})
        for field, known, kind in (("runAsUser", image.facts.uids, "uid"), ("runAsGroup", image.facts.gids, "gid"),
                                   ("fsGroup", image.facts.gids, "gid")):
            value = security.get(field)
            if isinstance(value, int) and value not in known:
                path = ("services", service, section, key, "security", field)
                yield context.diagnostic(path, CODE, f"{service}.{key}: security.{field} {value} is no {kind} of {image.reference} (its facts.users)")
