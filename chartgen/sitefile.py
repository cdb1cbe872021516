"""`chartgen init-site`: a commented starting site overlay, written from the compiled catalog.

As written the file changes nothing: the umbrella-wide settings and each service's `enabled` flag
are stated with the value the build already uses, and every other knob (image tags, replicas, node
roles, resources, volumes, NodePorts) is commented out, showing its current value and the file:line
that set it (the merge provenance). Uncommenting a knob means removing one `# ` from its line and
from the lines of the keys above it; comments inside such a block stay comments.

Driven by the merged tree and the global schema: no service is named here. Library code: returns text.
"""

from __future__ import annotations

import json
import textwrap
from importlib import resources
from typing import Any

from chartgen.emit import scalar
from chartgen.load import Path
from chartgen.merge import Merged
from chartgen.model import Umbrella

_INDENT = "  "


def _flow(value: Any) -> str:
    """A one-line YAML value (flow style for maps and lists)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(key)}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return scalar(value)


class _Writer:
    def __init__(self, merged: Merged):
        self.merged = merged
        self.lines: list[str] = []

    def origin(self, path: Path) -> str:
        """Where the current value of `path` comes from: file:line and layer, or chartgen's default."""
        settings = self.merged.history.get(path)
        if not settings:
            return "chartgen's default (no layer sets it)"
        last = settings[-1].origin
        return f"{last.file}:{last.line} ({last.layer})"

    def prose(self, depth: int, text: str, *, base: int | None = None) -> None:
        """Comment lines; inside a commented-out block (`base` given) they stay comments once the
        block is uncommented."""
        for line in _wrap(text, 100 - len(_INDENT * depth)):
            if base is None:
                self.lines.append(f"{_INDENT * depth}# {line}")
            else:
                self.lines.append(f"{_INDENT * base}# {_INDENT * (depth - base)}# {line}")

    def key(self, depth: int, name: str, value: str | None = None, *, commented: bool, base: int = 0) -> None:
        """A `name:` line (a mapping when value is None). A commented line keeps the indentation of
        the block it belongs to (`base`), so uncommenting removes exactly one `# `."""
        text = f"{name}:" if value is None else f"{name}: {value}"
        if commented:
            self.lines.append(f"{_INDENT * base}# {_INDENT * (depth - base)}{text}")
        else:
            self.lines.append(f"{_INDENT * depth}{text}")


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def _global_descriptions() -> dict[str, str]:
    text = resources.files("chartgen.schemas").joinpath("global.schema.json").read_text(encoding="utf-8")
    return {key: spec.get("description", "") for key, spec in json.loads(text)["properties"].items()}


def site_overlay(merged: Merged, umbrella: Umbrella, command: str) -> str:
    """The text of a commented, no-op site overlay for the compiled release."""
    release = umbrella.release.name
    out = _Writer(merged)
    out.prose(0, f"Site overlay for OpenStack {release}, written by `{command}` from the compiled catalog.")
    out.prose(0, f"Use it: chartgen build --release {release} --overlay THIS-FILE. "
                 f"Layers, lowest first: blueprints/ < values/common.yaml < values/{release}.yaml < this file.")
    out.prose(0, "As written it changes nothing: the global settings and the enabled flags below restate the values the "
                 "build uses, and every other knob is commented out with its current value and the file:line that set it. "
                 "To change a knob, remove one `# ` from its line and from the lines of the keys above it. "
                 "Maps merge, scalars replace, lists replace; {$delete: true}, {$replace: ...}, {$append: [...]} and "
                 "{$mergeBy: name, $items: [...]} say otherwise. `chartgen explain PATH --release R --overlay THIS-FILE` "
                 "shows which layer set a value.")
    out.prose(0, f"The values here are {release}'s: an overlay that pins an image tag or patches a component that "
                 "another release does not have will not build for that release.")
    out.lines.append("")
    descriptions = _global_descriptions()
    settings = merged.tree.get("global", {})
    out.key(0, "global", commented=False)
    for name in sorted(settings):
        out.prose(1, f"{descriptions.get(name) or name} From {out.origin(('global', name))}.")
        value = settings[name]
        if isinstance(value, dict) and all(isinstance(item, dict) for item in value.values()):
            out.key(1, name, commented=False)
            for key in sorted(value):
                out.key(2, key, _flow(value[key]), commented=False)
        else:
            out.key(1, name, _flow(value), commented=False)
    out.lines.append("")
    catalog = merged.tree.get("services", {})
    out.key(0, "services", commented=False)
    for name in umbrella.order:
        _service(out, name, catalog[name], settings.get("nodeRoles", {}))
    return "\n".join(out.lines).rstrip("\n") + "\n"


def _service(out: _Writer, name: str, spec: dict[str, Any], roles: dict[str, Any]) -> None:
    base: Path = ("services", name)
    out.key(1, name, commented=False)
    out.prose(2, spec["description"].rstrip(".") + ".")
    enabled = spec.get("enabled", True)
    out.prose(2, f"Install {name} (the umbrella's {name}.enabled). From {out.origin(base + ('enabled',))}.")
    out.key(2, "enabled", scalar(enabled), commented=False)
    images = spec.get("images", {})
    if images:
        out.key(2, "images", commented=True, base=2)
        for key in sorted(images):
            image = images[key]
            out.key(3, key, commented=True, base=2)
            out.prose(4, f"{image.get('description') or 'Image ' + key}; tag from {out.origin(base + ('images', key, 'tag'))}: "
                         f"{image.get('source', '')}", base=2)
            out.key(4, "repository", scalar(image["repository"]), commented=True, base=2)
            out.key(4, "tag", scalar(image["tag"]), commented=True, base=2)
    components = spec.get("components", {})
    if components:
        out.key(2, "components", commented=True, base=2)
    for key in sorted(components):
        _component(out, base + ("components", key), key, components[key], roles)


def _component(out: _Writer, path: Path, key: str, spec: dict[str, Any], roles: dict[str, Any]) -> None:
    kind = spec["kind"]
    out.key(3, key, commented=True, base=2)
    summary = f"{kind}: {spec['description']}" if spec.get("description") else kind
    out.prose(4, summary, base=2)
    if kind != "DaemonSet" and "replicas" in spec:
        rule = ("quorum: an odd number (2n+1); the chart's global.replicas." + path[1] + " follows" if spec.get("quorum")
                else "members: other services list every pod; the chart's global.replicas." + path[1] + " follows" if spec.get("members")
                else "pods of the " + kind)
        out.prose(4, f"Replicas ({rule}). From {out.origin(path + ('replicas',))}.", base=2)
        out.key(4, "replicas", scalar(spec["replicas"]), commented=True, base=2)
    role = spec.get("nodeRole")
    if role is not None:
        label = roles.get(role, {})
        selector = f"{label.get('key')}={label.get('value')}" if label else "not in global.nodeRoles"
        out.prose(4, f"Node role, a key of global.nodeRoles (now {selector}). From {out.origin(path + ('nodeRole',))}.", base=2)
        out.key(4, "nodeRole", scalar(role), commented=True, base=2)
    if "resources" in spec:
        out.prose(4, f"Container resources; maps merge, so one key is enough. From {out.origin(path + ('resources',))}.", base=2)
        out.key(4, "resources", _flow(spec["resources"]), commented=True, base=2)
    persistence = spec.get("persistence")
    if persistence:
        out.prose(4, f"Volume at {persistence.get('mountPath')}: size and StorageClass (empty: global.storageClass). "
                     f"From {out.origin(path + ('persistence', 'size'))}.", base=2)
        shown = {"size": persistence["size"], "storageClass": persistence.get("storageClass", "")}
        out.key(4, "persistence", _flow(shown), commented=True, base=2)
    published = {port: value for port, value in sorted(spec.get("ports", {}).items()) if "nodePort" in value}
    if published:
        out.key(4, "ports", commented=True, base=2)
        for port, value in published.items():
            out.key(5, port, commented=True, base=2)
            out.prose(6, f"{value.get('description') or 'Port ' + port} (container port {value['port']}): NodePort, "
                         f"30000-32767. From {out.origin(path + ('ports', port, 'nodePort'))}.", base=2)
            out.key(6, "nodePort", scalar(value["nodePort"]), commented=True, base=2)
