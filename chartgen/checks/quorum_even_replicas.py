"""A quorum component (galera, rabbitmq, etcd, zookeeper) needs an odd number of replicas (2n+1).

An even count adds a member without adding fault tolerance and risks split brain. The generated
values.schema.json refuses even counts at deploy time too.

PASS::

    components: {server: {kind: StatefulSet, quorum: true, replicas: 3, ...}}

FAIL::

    components: {server: {kind: StatefulSet, quorum: true, replicas: 4, ...}}
"""

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

CODE = "CG403"


def check(context: Context) -> Iterator[Diagnostic]:
    for service, key, component in context.components():
        replicas = component.get("replicas")
        if component.get("quorum") and isinstance(replicas, int) and replicas % 2 == 0:
            yield context.diagnostic(("services", service, "components", key, "replicas"), CODE,
                                     f"{service}.{key} is a quorum component: replicas must be odd (2n+1), got {replicas}")
