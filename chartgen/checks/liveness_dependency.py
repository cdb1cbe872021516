"""A liveness probe must not check a dependency: only readiness (or startup) may.

The kubelet restarts a container whose liveness probe fails. A liveness probe that passes only
while the process is connected to RabbitMQ (or the database) restarts every consumer during a
broker outage, all at once, and again while the broker recovers: the outage grows instead of
healing. Readiness takes the pod out of its Service while the dependency is gone and puts it back
when the process reconnects by itself; liveness checks only the process itself.

PASS::

    probes:
      readiness: {connectedTo: rabbitmq.server.amqp}
      liveness: {exec: [/bin/sh, -c, "grep -qa nova-conductor /proc/1/cmdline"]}

FAIL::

    probes:
      liveness: {connectedTo: rabbitmq.server.amqp}
"""

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

CODE = "CG418"


def check(context: Context) -> Iterator[Diagnostic]:
    for service, key, component in context.components():
        target = component.get("probes", {}).get("liveness", {}).get("connectedTo")
        if target:
            yield context.diagnostic(("services", service, "components", key, "probes", "liveness", "connectedTo"), CODE,
                                     f"{service}.{key}: the liveness probe checks the dependency {target}; "
                                     "check it in readiness and the process itself in liveness")
