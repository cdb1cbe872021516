"""The command line, run as a user runs it."""

import json
import re

import pytest

from chartgen import __version__
from helpers import RELEASES, ROOT, run_chartgen


def test_version() -> None:
    assert run_chartgen("--version").stdout.strip() == f"chartgen, version {__version__}"


@pytest.mark.parametrize("command", ["build", "validate", "releases", "services", "explain", "lint", "graph", "init-site", "diff", "check-upgrade", "upgrade-path"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run_chartgen(command, "--help")
    assert result.code == 0 and "Example:" in result.stdout and f"chartgen {command}" in result.stdout


def test_build_prints_a_line_per_chart_and_the_time(tmp_path) -> None:
    result = run_chartgen("build", "--release", "ocata", "--out", str(tmp_path), check=True)
    lines = result.stdout.splitlines()
    charts = [line.split()[1] for line in lines[:-1]]
    services = [row["service"] for row in json.loads(run_chartgen("services", "--release", "ocata", "--format", "json", check=True).stdout)]
    assert {"etcd", "galera", "keystone", "memcached", "rabbitmq"} <= set(services)
    assert charts == ["oaas"] + sorted(f"charts/{name}" for name in services + ["oaas-lib"])
    assert re.match(r"built .*oaas for ocata in \d+\.\d\ds \(\d+ files: \d+ new", lines[-1])


def test_validate_every_release() -> None:
    result = run_chartgen("validate", check=True)
    assert [line.split()[1] for line in result.stdout.splitlines()] == list(RELEASES)


def test_releases_in_order() -> None:
    rows = json.loads(run_chartgen("releases", "--format", "json", check=True).stdout)
    assert [row["release"] for row in rows] == list(RELEASES)


def test_services_in_dependency_order() -> None:
    rows = json.loads(run_chartgen("services", "--release", "queens", "--format", "json", check=True).stdout)
    order = [row["service"] for row in rows]
    assert order.index("keystone") > max(order.index(name) for name in ("galera", "memcached", "rabbitmq"))


def test_explain_a_value_set_in_a_blueprint_and_overridden_in_an_overlay() -> None:
    result = run_chartgen("explain", "galera.images.mariadb.tag", "--release", "pike", check=True)
    lines = result.stdout.splitlines()
    assert lines[0] == 'galera.images.mariadb.tag = "5.0.5"'
    assert re.match(r'\s+set by\s+values/pike\.yaml:\d+:\d+\s+\[release\] "5\.0\.5"', lines[1])
    assert re.match(r'\s+overrode\s+blueprints/galera\.yaml:\d+:\d+\s+\[blueprint\] "6\.2\.4"', lines[2])


def test_explain_a_deleted_value() -> None:
    ocata = json.loads(run_chartgen("explain", "keystone.components.api.ports.admin.port", "--release", "ocata", "--format", "json", check=True).stdout)
    queens = json.loads(run_chartgen("explain", "keystone.components.api.ports.admin.port", "--release", "queens", "--format", "json", check=True).stdout)
    assert ocata["exists"] and ocata["value"] == 35357
    assert not queens["exists"]
    assert [(h["action"], h["layer"], h["file"]) for h in queens["history"]] == [
        ("set", "blueprint", "blueprints/keystone.yaml"), ("delete", "release", "values/queens.yaml")]


def test_explain_an_unknown_path() -> None:
    result = run_chartgen("explain", "keystone.components.api.replicaz")
    assert result.code == 2
    assert "CG503" in result.stderr and "did you mean replicas" in result.stderr


def test_site_overlay_changes_the_build(tmp_path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("global:\n  storageClass: fast\nservices:\n  keystone:\n    components:\n      api:\n        replicas: 3\n")
    run_chartgen("build", "--release", "queens", "--overlay", str(site), "--out", str(tmp_path / "out"), "--quiet", check=True)
    values = (tmp_path / "out" / "oaas" / "values.yaml").read_text()
    assert "storageClass: fast" in values
    assert "  replicas: 3\n" in (tmp_path / "out" / "oaas" / "charts" / "keystone" / "values.yaml").read_text()


def test_usage_error_exits_2() -> None:
    assert run_chartgen("build", "--no-such-option").code == 2


def test_graph_is_the_dependency_graph() -> None:
    graph = json.loads(run_chartgen("graph", "--release", "queens", "--format", "json", check=True).stdout)
    assert graph["services"]["keystone"]["dependsOn"] == ["galera", "memcached", "rabbitmq"]
    order = graph["order"]
    for name, service in graph["services"].items():
        assert all(order.index(dependency) < order.index(name) for dependency in service["dependsOn"])
    dot = run_chartgen("graph", "--release", "queens", check=True).stdout
    assert dot.startswith('digraph "oaas-queens" {') and '"keystone" -> "galera";' in dot
    mermaid = run_chartgen("graph", "--release", "queens", "--format", "mermaid", check=True).stdout
    assert mermaid.splitlines()[0] == "graph TD" and "  nova --> keystone" in mermaid.splitlines()


def test_the_readme_graph_is_what_graph_prints() -> None:
    printed = run_chartgen("graph", "--release", "queens", "--format", "mermaid", check=True).stdout
    readme = (ROOT / "README.md").read_text()
    assert f"```mermaid\n{printed}```" in readme, "README's service graph is stale: paste `chartgen graph --release queens --format mermaid`"
