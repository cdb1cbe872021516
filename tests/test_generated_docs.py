"""The documentation generated into the charts: every values key described (from the blueprint when
it says something, generated from the model otherwise), the same words in values.schema.json,
values.yaml and the README, and an umbrella README that leads to every subchart."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pytest
from ruamel.yaml import YAML

from helpers import RELEASES, ROOT, run_chartgen, scratch_folder


@lru_cache(maxsize=None)
def built(release: str) -> Path:
    out = scratch_folder(f"chartgen-docs-{release}-")
    run_chartgen("build", "--release", release, "--out", str(out), "--quiet", check=True)
    return out / "oaas"


def properties(node: Any, where: str) -> Iterator[tuple[str, dict]]:
    """(path, schema) of every property of a JSON Schema, nested ones and those in $defs too."""
    if not isinstance(node, dict):
        return
    for key, child in node.get("properties", {}).items():
        yield f"{where}.{key}", child
        yield from properties(child, f"{where}.{key}")
    for keyword in ("additionalProperties", "items"):
        yield from properties(node.get(keyword), f"{where}.{keyword}")
    for key, child in node.get("$defs", {}).items():
        yield from properties(child, f"$defs.{key}")


@pytest.mark.parametrize("release", RELEASES)
def test_every_values_key_has_a_description(release: str) -> None:
    chart = built(release)
    schemas = sorted(chart.rglob("values.schema.json"))
    assert len(schemas) >= 12
    undescribed = []
    count = 0
    for path in schemas:
        for key, schema in properties(json.loads(path.read_text()), path.relative_to(chart).parent.name or "oaas"):
            count += 1
            if not (isinstance(schema.get("description"), str) and schema["description"].strip()):
                undescribed.append(f"{path.relative_to(chart)}: {key}")
    assert count > 500
    assert not undescribed, undescribed[:20]


def _blueprint(name: str) -> dict:
    return YAML(typ="safe", pure=True).load((ROOT / "blueprints" / f"{name}.yaml").read_text())


def test_a_blueprint_image_description_reaches_schema_values_and_readme() -> None:
    said = _blueprint("keystone")["images"]["keystone"]["description"]
    chart = built("queens") / "charts" / "keystone"
    schema = json.loads((chart / "values.schema.json").read_text())
    assert schema["properties"]["images"]["properties"]["keystone"]["description"].startswith(said + ".")
    assert f"## @param images.keystone {said}." in (chart / "values.yaml").read_text()
    assert re.search(rf"^\| `images\.keystone` \| {re.escape(said)}\. ", (chart / "README.md").read_text(), re.M)


def test_a_blueprint_port_and_component_description_reach_the_docs() -> None:
    blueprint = _blueprint("horizon")
    said = blueprint["components"]["server"]["ports"]["http"]["description"]
    chart = built("queens") / "charts" / "horizon"
    server = json.loads((chart / "values.schema.json").read_text())["properties"]["server"]
    assert server["properties"]["nodePorts"]["properties"]["http"]["description"] == said + "."
    assert server["description"] == blueprint["components"]["server"]["description"] + "."
    assert f"| server | Deployment | {blueprint['components']['server']['description']} |" in (chart / "README.md").read_text()


def test_without_a_blueprint_description_one_is_generated_from_the_model() -> None:
    chart = built("queens") / "charts" / "nova"
    schema = json.loads((chart / "values.schema.json").read_text())["properties"]
    # nova's images say nothing in the blueprint: the sentence names the workloads that use them.
    assert "description" not in _blueprint("nova")["images"]["novaConductor"]
    assert schema["images"]["properties"]["novaConductor"]["description"].startswith("Image of the conductor Deployment. Default from: ")
    assert schema["api"]["properties"]["replicas"]["description"] == "Replicas of the api Deployment."


def test_umbrella_readme_lists_every_subchart_with_flag_images_and_link() -> None:
    chart = built("queens")
    readme = (chart / "README.md").read_text()
    values = YAML(typ="safe", pure=True).load((chart / "values.yaml").read_text())
    subcharts = sorted(p.name for p in (chart / "charts").iterdir() if p.name != "oaas-lib")
    for name in subcharts:
        row = next((line for line in readme.splitlines() if line.startswith(f"| {name} |")), None)
        assert row, f"{name} is not in the umbrella README"
        assert f"`{name}.enabled` | {str(values[name]['enabled']).lower()} |" in row
        annotations = YAML(typ="safe", pure=True).load((chart / "charts" / name / "Chart.yaml").read_text())["annotations"]
        for image in YAML(typ="safe", pure=True).load(annotations["images"]):
            assert f"`{image['image']}`" in row
        link = re.search(r"\[values\]\((charts/[^)#]+)#([a-z-]+)\)", row)
        assert link, row
        target = chart / link.group(1)
        assert target.is_file() and f"\n## {link.group(2).capitalize()}\n" in target.read_text()
