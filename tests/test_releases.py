"""Releases built on releases (release.basedOn), Kolla's image scheme per release (release.images),
and the release table (`chartgen releases`, the README's table)."""

from __future__ import annotations

import json

import pytest

from chartgen.build import compile_release
from chartgen.config import BuildConfig

from helpers import RELEASES, ROOT, run_chartgen

SLURP = {"2023.1", "2024.1", "2025.1", "2026.1"}


def releases_json() -> list[dict]:
    return json.loads(run_chartgen("releases", "--format", "json", check=True).stdout)


def images(release: str) -> dict[str, str]:
    """Image reference by service.image key, of the compiled release."""
    umbrella = compile_release(BuildConfig(ROOT, release)).umbrella
    return {f"{service.name}.{image.key}": image.reference for service in umbrella.services for image in service.images}


def test_readme_release_table_is_the_commands_output() -> None:
    table = run_chartgen("releases", "--format", "markdown", check=True).stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- releases:begin -->\n", "<!-- releases:end -->"
    assert readme[readme.index(begin) + len(begin):readme.index(end)] == table, \
        "README's release table is stale: paste `chartgen releases --format markdown` between the markers"


def test_every_release_newton_to_2026_2_oldest_first() -> None:
    rows = releases_json()
    assert [row["release"] for row in rows] == list(RELEASES)
    assert {row["release"] for row in rows if row["slurp"]} == SLURP


def test_2026_2_is_marked_without_kolla_images_and_said_so() -> None:
    rows = {row["release"]: row for row in releases_json()}
    assert [name for name, row in rows.items() if not row["imagesPublished"]] == ["2026.2"]
    text = run_chartgen("releases", check=True).stdout
    line = next(line for line in text.splitlines() if line.startswith("2026.2"))
    assert "no Kolla image shown to exist" in line


@pytest.mark.parametrize(("release", "key", "reference"), [
    ("rocky", "nova.novaApi", "docker.io/kolla/ubuntu-binary-nova-api:7.1.1"),         # re-tagged from queens
    ("wallaby", "keystone.keystone", "docker.io/kolla/ubuntu-binary-keystone:wallaby"),
    ("xena", "galera.mariadb", "quay.io/openstack.kolla/ubuntu-source-mariadb-server:xena"),  # from 2025.1's name
    ("zed", "keystone.keystone", "quay.io/openstack.kolla/keystone:zed-ubuntu-jammy"),
    ("2024.2", "neutron.server", "quay.io/openstack.kolla/neutron-server:2024.2-ubuntu-noble"),
    ("2026.2", "glance.glanceApi", "quay.io/openstack.kolla/glance-api:2026.2-ubuntu-noble"),
    ("zed", "zookeeper.zookeeper", "docker.io/library/zookeeper:3.9.3"),                 # not Kolla's: kept
])
def test_inherited_images_follow_the_releases_scheme(release: str, key: str, reference: str) -> None:
    assert images(release)[key] == reference


def test_explain_names_the_file_of_each_layer_of_a_chain() -> None:
    out = run_chartgen("explain", "nova.images.novaApi.tag", "--release", "stein", check=True).stdout
    lines = out.splitlines()
    assert lines[0] == 'nova.images.novaApi.tag = "8.0.5"'
    assert "values/stein.yaml" in lines[1] and "values/rocky.yaml" in lines[2] and "values/queens.yaml" in lines[3]


@pytest.mark.parametrize(("release", "present", "absent"), [
    ("queens", {"nova.novaPlacementApi", "nova.novaConsoleauth", "glance.glanceRegistry"}, {"placement.placementApi"}),
    ("stein", {"placement.placementApi", "nova.novaConsoleauth"}, {"nova.novaPlacementApi", "glance.glanceRegistry"}),
    ("train", {"placement.placementApi"}, {"nova.novaConsoleauth"}),
])
def test_service_changes_carry_along_the_chain(release: str, present: set[str], absent: set[str]) -> None:
    found = images(release)
    assert present <= set(found) and not absent & set(found)
