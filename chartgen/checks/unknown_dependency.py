"""A service may only depend on services that have a blueprint.

PASS::

    service: keystone
    dependsOn: [galera]        # blueprints/galera.yaml exists

FAIL::

    service: keystone
    dependsOn: [mysql]         # no blueprint declares `service: mysql`
"""

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

CODE = "CG401"


def check(context: Context) -> Iterator[Diagnostic]:
    for service, spec in sorted(context.catalog.items()):
        for index, dependency in enumerate(spec.get("dependsOn", [])):
            if dependency not in context.catalog:
                known = ", ".join(sorted(context.catalog))
                yield context.diagnostic(("services", service, "dependsOn", index), CODE,
                                         f"{service} depends on unknown service {dependency!r} (known: {known})")
