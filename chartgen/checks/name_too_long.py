"""Object names are `<release>-<service>-<component>`: `<service>-<component>` may not exceed 40 characters.

A StatefulSet name may be at most 52 characters (its pods carry a 63-character revision label), so
40 leaves room for a release name of up to 11 characters (`oaas` needs 4). Longer release names
are refused by the chart at install with a clear message.

PASS::

    service: nova
    components: {conductor: {...}}            # nova-conductor: 14 characters

FAIL::

    service: neutron
    components: {openvswitchAgentWithAVeryLongDescriptiveName: {...}}
"""

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic
from chartgen.model import kebab

CODE = "CG404"
LIMIT = 40


def check(context: Context) -> Iterator[Diagnostic]:
    for service, spec in sorted(context.catalog.items()):
        for section in ("components", "jobs", "tests"):
            for key in sorted(spec.get(section, {})):
                name = f"{service}-{kebab(key)}"
                if len(name) > LIMIT:
                    yield context.diagnostic(("services", service, section, key), CODE,
                                             f"object name {name!r} is {len(name)} characters; at most {LIMIT} (release name comes in front)", key=True)
