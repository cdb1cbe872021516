"""An enabled service may not depend on a disabled one (it would wait for it forever).

PASS::

    # mongodb.yaml: enabled: false, and nothing enabled depends on mongodb

FAIL::

    # ceilometer.yaml: dependsOn: [mongodb]     mongodb.yaml: enabled: false
"""

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

CODE = "CG406"


def check(context: Context) -> Iterator[Diagnostic]:
    for service, spec in sorted(context.catalog.items()):
        if not spec.get("enabled", True):
            continue
        for index, dependency in enumerate(spec.get("dependsOn", [])):
            target = context.catalog.get(dependency)
            if target is not None and not target.get("enabled", True):
                yield context.diagnostic(("services", service, "dependsOn", index), CODE,
                                         f"{service} is enabled but depends on {dependency}, which is disabled")
