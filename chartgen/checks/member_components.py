"""A service has at most one quorum or members component.

Its replica count lives in `global.replicas.<service>`, where every service that lists its members
reads it (subcharts cannot read each other's values), so the key must name exactly one component.

PASS::

    service: galera
    components: {server: {quorum: true, ...}, haproxy: {...}}

FAIL::

    service: galera
    components: {server: {quorum: true, ...}, arbitrator: {members: true, ...}}
"""

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

CODE = "CG411"


def check(context: Context) -> Iterator[Diagnostic]:
    for service, spec in sorted(context.catalog.items()):
        members = [key for key, component in spec.get("components", {}).items() if component.get("quorum") or component.get("members")]
        for key in members[1:]:
            yield context.diagnostic(("services", service, "components", key), CODE,
                                     f"{service} already has member component {members[0]!r}; {key!r} cannot be one too", key=True)
