"""Dependencies must form a graph without cycles; the cycle is printed in full.

PASS::

    # keystone.yaml: dependsOn: [galera]      galera.yaml: dependsOn: [etcd]

FAIL::

    # keystone.yaml: dependsOn: [galera]      galera.yaml: dependsOn: [keystone]
    # -> dependency cycle: galera -> keystone -> galera
"""

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

CODE = "CG402"


def check(context: Context) -> Iterator[Diagnostic]:
    graph = {name: [d for d in spec.get("dependsOn", []) if d in context.catalog] for name, spec in context.catalog.items()}
    reported: set[frozenset[str]] = set()
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(name: str) -> Iterator[list[str]]:
        state[name] = "open"
        stack.append(name)
        for dependency in sorted(graph[name]):
            if state.get(dependency) == "open":
                yield stack[stack.index(dependency):] + [dependency]
            elif dependency not in state:
                yield from visit(dependency)
        stack.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name in state:
            continue
        for cycle in visit(name):
            members = frozenset(cycle)
            if members in reported:
                continue
            reported.add(members)
            first, second = cycle[0], cycle[1]
            index = context.catalog[first]["dependsOn"].index(second)
            yield context.diagnostic(("services", first, "dependsOn", index), CODE, "dependency cycle: " + " -> ".join(cycle))
