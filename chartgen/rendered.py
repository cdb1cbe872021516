"""The Kubernetes objects a built umbrella chart renders to, by the real `helm template`, indexed by
(kind, namespace, name) and grouped by the subchart whose template emitted them.

Rendering is deterministic (no random value is rendered: the cluster generates the secrets once),
so one rendering per chart is the chart, and two charts differ only where their inputs do.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from chartgen.diagnostics import ChartgenError, Diagnostic
from chartgen.verify import Tools

RELEASE_NAME = "oaas"
NAMESPACE = "openstack"
MASK = "***"
UMBRELLA_CHART = "oaas"
# Labels that follow the chart version and so change on every release: not a change of the object.
VERSION_LABELS = ("helm.sh/chart", "app.kubernetes.io/version")

Key = tuple[str, str, str]  # kind, namespace, name
_SOURCE = re.compile(r"^# Source: (\S+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class RenderedObject:
    kind: str
    namespace: str
    name: str
    chart: str  # the subchart whose template emitted it (`oaas` for the umbrella's own)
    source: str  # the template file, as helm names it
    body: dict[str, Any]

    @property
    def key(self) -> Key:
        return (self.kind, self.namespace, self.name)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def labels(self) -> dict[str, str]:
        return self.body.get("metadata", {}).get("labels") or {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.body.get("metadata", {}).get("annotations") or {}

    @property
    def spec(self) -> dict[str, Any]:
        return self.body.get("spec") or {}


@dataclass(frozen=True, slots=True)
class Rendering:
    objects: dict[Key, RenderedObject]

    def of_chart(self, chart: str) -> list[RenderedObject]:
        return [item for item in self.objects.values() if item.chart == chart]

    def charts(self) -> set[str]:
        return {item.chart for item in self.objects.values()}


def render(charts: list[Path], project: Path) -> list[Rendering]:
    """`helm template oaas CHART --namespace openstack` of every chart (all at once: helm waits
    mostly on itself)."""
    tools = Tools.find(project)
    helm, env = tools.binary("helm"), tools.env()
    running = [_start(helm, chart, env) for chart in charts]
    return [Rendering(_objects(chart, process)) for chart, process in zip(charts, running)]


def _start(helm: str, chart: Path, env: dict[str, str]) -> subprocess.Popen:
    command = [helm, "template", RELEASE_NAME, str(chart), "--namespace", NAMESPACE]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _objects(chart: Path, process: subprocess.Popen) -> dict[Key, RenderedObject]:
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        lines = stderr.strip().splitlines() or ["no output"]
        # helm ends with advice ("Use --debug flag..."); the line that says what failed starts with Error:
        message = next((line.removeprefix("Error: ") for line in lines if line.startswith("Error:")), lines[-1])
        raise ChartgenError([Diagnostic(str(chart), 1, 1, "CG505", f"helm template failed: {message}")])
    found: dict[Key, RenderedObject] = {}
    loader = YAML(typ="safe")  # the C loader: the pure one is five times slower here
    for text in re.split(r"^---\s*$", stdout, flags=re.MULTILINE):
        body = loader.load(text)
        if not isinstance(body, dict) or "kind" not in body:
            continue
        source = _SOURCE.search(text)
        item = _indexed(body, source.group(1) if source else "")
        found[item.key] = item
    return found


def _indexed(body: dict[str, Any], source: str) -> RenderedObject:
    metadata = body.get("metadata") or {}
    parts = source.split("/")
    chart = parts[2] if len(parts) > 3 and parts[1] == "charts" else UMBRELLA_CHART
    return RenderedObject(body["kind"], metadata.get("namespace") or NAMESPACE, metadata.get("name", ""), chart, source, body)


def comparable(item: RenderedObject) -> dict[str, Any]:
    """The object as compared between two charts: without the labels that only follow the chart
    version (everywhere: metadata, pod templates, claim templates)."""
    return _without_version_labels(item.body)


def _without_version_labels(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: (_strip_labels(item) if key == "labels" and isinstance(item, dict) else _without_version_labels(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_without_version_labels(item) for item in value]
    return value


def _strip_labels(labels: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in labels.items() if key not in VERSION_LABELS}


def masked_pair(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Both sides of a Secret with every data value hidden; a value that changed reads
    `*** (changed)` on the `after` side, without revealing either value."""
    if (before or after or {}).get("kind") != "Secret":
        return before, after
    before_masked, after_masked = _copy(before), _copy(after)
    for field in ("data", "stringData"):
        old = (before or {}).get(field) or {}
        new = (after or {}).get(field) or {}
        if before_masked is not None and field in before_masked:
            before_masked[field] = {key: _mask(value) for key, value in old.items()}
        if after_masked is not None and field in after_masked:
            after_masked[field] = {key: _mask(value, changed=key in old and old[key] != value)
                                   for key, value in new.items()}
    return before_masked, after_masked


def _mask(value: Any, changed: bool = False) -> str:
    return f"{MASK} (changed)" if changed else MASK


def _copy(body: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if body is None else dict(body)
