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
      # the same by hand: an established socket to 5672 (0x1628), a port it waits for
      liveness: {exec: [/bin/sh, -c, "grep -q ':1628 01 ' /proc/net/tcp /proc/net/tcp6"]}
"""

import re
from typing import Any, Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic
from chartgen.resolve import socket_ports

CODE = "CG418"


def check(context: Context) -> Iterator[Diagnostic]:
    for service, key, component in context.components():
        liveness = component.get("probes", {}).get("liveness", {})
        where = ("services", service, "components", key, "probes", "liveness")
        target = liveness.get("connectedTo") or _socket_checked(context, component, liveness)
        if target:
            field = "connectedTo" if "connectedTo" in liveness else "exec"
            yield context.diagnostic((*where, field), CODE,
                                     f"{service}.{key}: the liveness probe checks the dependency {target}; "
                                     "check it in readiness and the process itself in liveness")


def _socket_checked(context: Context, component: dict[str, Any], liveness: dict[str, Any]) -> str | None:
    """The waited-for dependency whose port (as /proc/net/tcp spells it, 4 hex digits) an exec
    probe looks for among the container's sockets."""
    command = " ".join(str(part) for part in liveness.get("exec", []))
    if "/proc/net/tcp" not in command:
        return None
    spelled = {word.upper() for word in re.findall(r":([0-9A-Fa-f]{4})\b", command)}
    for label in component.get("waitFor", []):
        port = _catalog_port(context, str(label))
        if port and spelled & set(socket_ports(port)):
            return str(label)
    return None


def _catalog_port(context: Context, label: str) -> dict[str, Any] | None:
    """The catalog entry of the port a `service.component.port` label names (the resolver reports
    a label that names none)."""
    parts = label.split(".")
    if len(parts) != 3:
        return None
    service, key, name = parts
    port = context.catalog.get(service, {}).get("components", {}).get(key, {}).get("ports", {}).get(name)
    return port if isinstance(port, dict) else None
