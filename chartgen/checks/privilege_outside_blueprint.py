"""Privilege is declared in a service's blueprint, never granted by an overlay.

`security.privileged: true`, `hostNetwork: true`, added capabilities, host paths, `runAsNonRoot: false`
and Kubernetes API access (`apiAccess`: its objects, kinds and verbs) must come from
`blueprints/<service>.yaml`, where the reason can be read next to it. A release or site overlay
may take privilege away, not add it.

PASS::

    # blueprints/nova.yaml, components.compute.security: {privileged: true}

FAIL::

    # values/queens.yaml
    services: {keystone: {components: {api: {security: {privileged: true}}}}}
"""

from typing import Any, Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

CODE = "CG409"


def _grants(field: str, value: Any) -> bool:
    grants = {"privileged": value is True, "hostNetwork": value is True, "runAsNonRoot": value is False,
              "capabilities": bool(value), "hostPaths": bool(value)}
    return grants.get(field, False)


def check(context: Context) -> Iterator[Diagnostic]:
    for service, spec in sorted(context.catalog.items()):
        for section in ("components", "jobs", "tests"):
            for key, workload in sorted(spec.get(section, {}).items()):
                for field, value in sorted(workload.get("security", {}).items()):
                    path = ("services", service, section, key, "security", field)
                    origin = context.merged.origin(path)
                    if _grants(field, value) and origin is not None and origin.layer != "blueprint":
                        yield context.diagnostic(path, CODE, f"{service}.{key}: security.{field} grants privilege; declare it in the blueprint, not in a {origin.layer} overlay")
                yield from _api_access(context, ("services", service, section, key, "apiAccess"), workload.get("apiAccess"), f"{service}.{key}")


def _api_access(context: Context, path: tuple, value: Any, where: str) -> Iterator[Diagnostic]:
    """Every leaf of apiAccess but its prose comes from the blueprint: each grants API access (a list,
    such as verbs, is one leaf: an overlay replaces it whole)."""
    if isinstance(value, dict):
        for name, item in sorted(value.items()):
            if name not in ("reason", "description"):
                yield from _api_access(context, path + (name,), item, where)
        return
    origin = context.merged.origin(path)
    if value is not None and origin is not None and origin.layer != "blueprint":
        yield context.diagnostic(path, CODE, f"{where}: {'.'.join(str(p) for p in path[4:])} grants Kubernetes API access; declare it in the blueprint, not in a {origin.layer} overlay")
