"""A component may not declare one port number twice, and no two components may share a NodePort.

PASS::

    ports: {public: {port: 5000}, admin: {port: 35357}}

FAIL::

    ports: {public: {port: 5000}, admin: {port: 5000}}
"""

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

CODE = "CG405"


def check(context: Context) -> Iterator[Diagnostic]:
    node_ports: dict[int, str] = {}
    for service, key, component in context.components():
        seen: dict[tuple[int, str], str] = {}
        for name, port in component.get("ports", {}).items():  # file order: the later one is reported
            path = ("services", service, "components", key, "ports", name)
            number = (port["port"], port.get("protocol", "TCP"))
            if number in seen:
                yield context.diagnostic(path + ("port",), CODE, f"{service}.{key}: port {number[0]}/{number[1]} of {name!r} is already used by {seen[number]!r}")
            seen[number] = name
            node_port = port.get("nodePort")
            if node_port is not None:
                owner = f"{service}.{key}.{name}"
                if node_port in node_ports:
                    yield context.diagnostic(path + ("nodePort",), CODE, f"NodePort {node_port} is used by {node_ports[node_port]} and {owner}")
                node_ports[node_port] = owner
