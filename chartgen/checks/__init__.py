"""Semantic checks of the resolved model: one rule per module, the docstring is its documentation.

Each module declares CODE and defines `check(context) -> Iterator[Diagnostic]`. `docs/checks.md` is
generated from the docstrings (`make docs`).
"""

from __future__ import annotations

from types import ModuleType

from chartgen.checks import (
    dependency_cycle,
    disabled_dependency,
    feature_version,
    image_scheme,
    liveness_dependency,
    member_components,
    missing_binary,
    name_too_long,
    port_clash,
    privilege_outside_blueprint,
    quorum_even_replicas,
    secret_literal,
    unknown_dependency,
    unknown_user,
    wsgi_grant,
)
from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic

REGISTRY: dict[str, ModuleType] = {
    unknown_dependency.CODE: unknown_dependency,
    dependency_cycle.CODE: dependency_cycle,
    quorum_even_replicas.CODE: quorum_even_replicas,
    name_too_long.CODE: name_too_long,
    port_clash.CODE: port_clash,
    disabled_dependency.CODE: disabled_dependency,
    privilege_outside_blueprint.CODE: privilege_outside_blueprint,
    secret_literal.CODE: secret_literal,
    member_components.CODE: member_components,
    feature_version.CODE: feature_version,
    missing_binary.CODE: missing_binary,
    unknown_user.CODE: unknown_user,
    wsgi_grant.CODE: wsgi_grant,
    image_scheme.CODE: image_scheme,
    liveness_dependency.CODE: liveness_dependency,
}


def run_all(context: Context) -> list[Diagnostic]:
    return [diagnostic for module in REGISTRY.values() for diagnostic in module.check(context)]


def markdown() -> str:
    lines = ["# Semantic checks", "", "Generated from `chartgen/checks/*.py` by `make docs`.", ""]
    for code, module in REGISTRY.items():
        lines += [f"## {code} `{module.__name__.rsplit('.', 1)[-1]}`", "", (module.__doc__ or "").strip(), ""]
    return "\n".join(lines)
