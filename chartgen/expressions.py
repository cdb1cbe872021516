"""The `${...}` reference language of blueprints, compiled to Go-template expressions (resolve stage).

Blueprint strings (config options, env values, commands) may refer to other services; what they
refer to can depend on deploy-time values (release name, replica counts), so each reference becomes
a Helm expression evaluated at install, never a value frozen at compile time:

  ${host:SERVICE.COMPONENT}                 the component's Service name
  ${port:SERVICE.COMPONENT.PORT}            the Service's port number (compile-time constant)
  ${members:SERVICE.COMPONENT[.PORT][|FORMAT[|SEPARATOR]]}
                                            one entry per pod of a quorum/members component,
                                            following its replica count; FORMAT may use [host], [fqdn],
                                            [port], [ordinal] and [name] (default "[host]:[port]"
                                            or "[host]"), [rest:TEXT] gives TEXT to every
                                            member but the first; SEPARATOR defaults to ","
                                            and may be \n
  ${replicas:SERVICE.COMPONENT}             the replica count
  ${release} ${namespace}                   the Helm release name and namespace

`$(NAME)` is not a reference: it is a placeholder filled from the environment variable NAME when
the pod starts (secrets never enter a ConfigMap or the rendered chart).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from chartgen.model import kebab, service_type

REFERENCE = re.compile(r"\$\{([a-z]+)(?::([^}]*))?\}")
PLACEHOLDER = re.compile(r"\$\(([A-Z_][A-Z0-9_]*)\)")

Report = Callable[[str], None]


@dataclass
class Scope:
    """What a reference may see: the service being compiled, the merged catalog, its dependencies."""

    service: str
    catalog: dict[str, dict[str, Any]]
    depends_on: frozenset[str]
    replicas_read: dict[str, int] = field(default_factory=dict)  # member services whose replicas it reads

    def component(self, service: str, component: str, report: Report) -> dict[str, Any] | None:
        if service not in self.catalog:
            report(f"no service {service!r} (known: {', '.join(sorted(self.catalog))})")
            return None
        if service != self.service and service not in self.depends_on:
            report(f"{service!r} is not in dependsOn of {self.service!r}: add it there first")
            return None
        components = self.catalog[service].get("components", {})
        if component not in components:
            report(f"service {service!r} has no component {component!r} (has: {', '.join(sorted(components))})")
            return None
        return components[component]


def go_string(text: str) -> str:
    """A Go template string literal."""
    return json.dumps(text)


# Ours: `${release}`, `${namespace}` and `${word:...}`. A shell script's `${PEERS}`, `${name}`,
# `${name##*-}` or `${name:-default}` is not (the shell operators after the colon tell them apart).
_OURS = re.compile(r"\$\{(release|namespace)\}|\$\{[a-z]+:[^-=?+]")


def has_reference(text: Any) -> bool:
    return isinstance(text, str) and bool(_OURS.search(text))


def compile_string(text: str, scope: Scope, report: Report) -> str:
    """A Go-template expression that yields `text` with its references resolved."""
    parts: list[str] = []
    cursor = 0
    for match in REFERENCE.finditer(text):
        if match.start() > cursor:
            parts.append(go_string(text[cursor : match.start()]))
        parts.append(_compile_reference(match.group(1), match.group(2) or "", scope, report))
        cursor = match.end()
    if _OURS.search(text[cursor:]):
        report(f"unterminated or malformed reference in {text[cursor:][:60]!r}")
    if cursor < len(text):
        parts.append(go_string(text[cursor:]))
    if not parts:
        return go_string("")
    return parts[0] if len(parts) == 1 else "(print " + " ".join(parts) + ")"


def fullname_expr(service: str, component: str) -> str:
    return f'(include "oaas-lib.names.fullname" (dict "context" $ "service" {go_string(service)} "component" {go_string(kebab(component))}))'


def replicas_expr(service: str, component_key: str, component: dict[str, Any], own: bool) -> str | None:
    """The replica count as an expression; None where another chart cannot see it."""
    if component.get("quorum") or component.get("members"):
        return f"(int $.Values.global.replicas.{service})"
    if own:
        return f"(int $.Values.{component_key}.replicas)"
    return None


def _compile_reference(kind: str, argument: str, scope: Scope, report: Report) -> str:
    def bad(message: str) -> str:
        report(f"${{{kind}{':' + argument if argument else ''}}}: {message}")
        return go_string("")

    if kind == "release":
        return "$.Release.Name" if not argument else bad("takes no argument")
    if kind == "namespace":
        return "$.Release.Namespace" if not argument else bad("takes no argument")
    if kind not in ("host", "port", "members", "replicas"):
        return bad("unknown reference kind (known: host, port, members, replicas, release, namespace)")
    target, _, options = argument.partition("|")
    names = target.split(".")
    if len(names) < 2 or not all(names):
        return bad("expected SERVICE.COMPONENT[.PORT]")
    service, component_key, port_name = names[0], names[1], ".".join(names[2:])
    component = scope.component(service, component_key, lambda message: report(f"${{{kind}:{argument}}}: {message}"))
    if component is None:
        return go_string("")
    ports = component.get("ports", {})
    if port_name and port_name not in ports:
        return bad(f"component {service}.{component_key} has no port {port_name!r} (has: {', '.join(sorted(ports))})")
    if kind == "host":
        return fullname_expr(service, component_key) if not port_name and not options else bad("expected SERVICE.COMPONENT")
    if kind == "port":
        port = ports[port_name] if port_name else {}
        published = port.get("servicePort", port.get("port"))  # clients reach ${host:...} through the Service
        return go_string(str(published)) if port_name and not options else bad("expected SERVICE.COMPONENT.PORT")
    count = replicas_expr(service, component_key, component, own=service == scope.service)
    if count is None:
        return bad("only quorum or members components can be counted from another service")
    if component.get("quorum") or component.get("members"):
        scope.replicas_read[service] = component.get("replicas", 1)
    if kind == "replicas":
        return f"(toString {count})" if not port_name and not options else bad("expected SERVICE.COMPONENT")
    if not (component.get("quorum") or component.get("members")):
        return bad(f"{service}.{component_key} is not a quorum or members component, so it has no member list")
    return _members(service, component_key, component, port_name, ports, options, count)


def _members(service: str, component_key: str, component: dict[str, Any], port_name: str,
             ports: dict[str, Any], options: str, count: str) -> str:
    form, _, separator = options.partition("|")
    if not form:
        form = "[host]:[port]" if port_name else "[host]"
    port = str(ports[port_name]["port"]) if port_name else ""
    governing = "" if service_type(component) == "Headless" else "-headless"
    return (
        f'(include "oaas-lib.endpoints.members" (dict "context" $ "service" {go_string(service)}'
        f' "component" {go_string(kebab(component_key))} "governing" {go_string(governing)} "replicas" {count}'
        f' "port" {go_string(port)} "format" {go_string(form)} "separator" {go_string(separator.replace(chr(92) + "n", chr(10)) or ",")}))'
    )


def placeholders(value: Any) -> set[str]:
    """Every $(NAME) inside a value (strings nested in maps and lists)."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders(item) for item in value)) if value else set()
    return set()
