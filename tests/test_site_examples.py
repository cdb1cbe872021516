"""The example site overlays (examples/site-small.yaml, examples/site-ha.yaml) build for every
release, say what they claim in the compiled values, and render to manifests that helm and
kubeconform accept."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from helmrender import find, objects, template
from helpers import RELEASES, ROOT, run_chartgen, scratch_folder

EXAMPLES = ("site-small", "site-ha")


@lru_cache(maxsize=None)
def _scratch() -> Path:
    return scratch_folder("chartgen-examples-")


@lru_cache(maxsize=None)
def built(example: str, release: str) -> Path:
    out = _scratch() / example / release
    run_chartgen("build", "--release", release, "--overlay", str(ROOT / "examples" / f"{example}.yaml"),
                 "--out", str(out), "--quiet", check=True)
    return out / "oaas"


def values(chart: Path, service: str | None = None) -> dict:
    path = chart / ("charts/" + service if service else "") / "values.yaml"
    return YAML(typ="safe", pure=True).load(path.read_text())


def workloads(chart: Path) -> dict[str, dict]:
    """Every Deployment and StatefulSet of the chart's services, from their values: name -> values."""
    found = {}
    for sub in sorted((chart / "charts").iterdir()):
        if sub.name == "oaas-lib":
            continue
        data = values(chart, sub.name)
        for key, value in data.items():
            if isinstance(value, dict) and "pdb" in value:
                found[f"{sub.name}.{key}"] = value
    return found


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("example", EXAMPLES)
def test_example_builds_for_every_release(example: str, release: str) -> None:
    chart = built(example, release)
    assert (chart / "Chart.yaml").is_file()
    replicas = values(chart)["global"]["replicas"]
    quorum = ("galera", "rabbitmq", "etcd", "mongodb") + (("zookeeper",) if "zookeeper" in replicas else ())
    if example == "site-small":
        assert all(replicas[name] == 1 for name in quorum), replicas
        assert replicas["memcached"] == 1
    else:
        assert all(replicas[name] >= 3 and replicas[name] % 2 == 1 for name in quorum), replicas
        assert replicas["galera"] == 5


@pytest.mark.parametrize("release", ("newton", "2025.1"))
def test_small_site_runs_one_pod_per_api_that_every_release_has(release: str) -> None:
    counts = {name: spec.get("replicas") for name, spec in workloads(built("site-small", release)).items()}
    # The release-specific components the example leaves alone (see its header) keep their default.
    skipped = {"nova.placement", "nova.consoleauth", "glance.registry", "placement.api"}
    scaled = {name: count for name, count in counts.items() if count is not None and name not in skipped}
    assert scaled and set(scaled.values()) == {1}, scaled


def test_ha_site_apis_have_two_or_three_replicas() -> None:
    counts = {name: spec.get("replicas") for name, spec in workloads(built("site-ha", "queens")).items()}
    skipped = {"nova.placement", "nova.consoleauth", "glance.registry", "cinder.volume", "cinder.backup"}
    scaled = {name: count for name, count in counts.items() if count is not None and name not in skipped}
    assert scaled and all(count in (2, 3) for count in scaled.values()), scaled
    assert counts["keystone.api"] == 3


@pytest.mark.tools
@pytest.mark.parametrize("example, members", [("site-small", 1), ("site-ha", 5)])
def test_rendered_galera_follows_the_example(example: str, members: int) -> None:
    docs = objects(built(example, "queens"))
    server = find(docs, "StatefulSet", "oaas-galera-server")
    assert server["spec"]["replicas"] == members
    config = find(docs, "ConfigMap", "oaas-galera-config")["data"]["haproxy.cfg"]
    assert config.count(" check inter 2000") == members
    pdb = find(docs, "PodDisruptionBudget", "oaas-galera-server")["spec"]
    if members == 1:  # nothing to keep a majority of: a drain may take the one member
        assert pdb.get("maxUnavailable") == 1 and "minAvailable" not in pdb
    else:
        assert pdb["minAvailable"] == members // 2 + 1


@pytest.mark.tools
def test_rendered_ha_site_roles_storage_and_node_ports() -> None:
    docs = objects(built("site-ha", "queens"))
    keystone = find(docs, "Deployment", "oaas-keystone-api")["spec"]["template"]["spec"]
    assert keystone["nodeSelector"] == {"openstack-control-plane": "enabled"}
    compute = find(docs, "DaemonSet", "oaas-nova-compute")["spec"]["template"]["spec"]
    assert compute["nodeSelector"] == {"openstack-compute-node": "enabled"}
    galera = find(docs, "StatefulSet", "oaas-galera-server")["spec"]["volumeClaimTemplates"][0]["spec"]
    assert galera["storageClassName"] == "fast-ssd" and galera["resources"]["requests"]["storage"] == "100Gi"
    glance = find(docs, "PersistentVolumeClaim", "oaas-glance-api-data")["spec"]
    assert glance["storageClassName"] == "shared-fs" and glance["accessModes"] == ["ReadWriteMany"]
    ports = {port["nodePort"] for doc in docs if doc["kind"] == "Service" for port in doc["spec"]["ports"] if "nodePort" in port}
    assert ports == {30080, 30068}


@pytest.mark.tools
def test_rendered_small_site_selects_every_linux_node_as_controller() -> None:
    docs = objects(built("site-small", "queens"))
    keystone = find(docs, "Deployment", "oaas-keystone-api")["spec"]["template"]["spec"]
    assert keystone["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert find(docs, "Deployment", "oaas-keystone-api")["spec"]["replicas"] == 1


@pytest.mark.tools
def test_every_example_and_release_passes_kubeconform(tmp_path: Path) -> None:
    from chartgen.verify import Tools

    tools = Tools.find(ROOT)
    rendered = []
    for example in EXAMPLES:
        for release in RELEASES:
            result = template(built(example, release))
            assert result.returncode == 0, f"{example} {release}: {result.stderr}"
            path = tmp_path / f"{example}-{release}.yaml"
            path.write_text(result.stdout)
            rendered.append(str(path))
    for version in tools.kube_versions(ROOT):
        check = subprocess.run([tools.binary("kubeconform"), "-strict", "-summary", "-kubernetes-version", version,
                                "-schema-location", tools.schema_location(), *rendered], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
        assert "Invalid: 0, Errors: 0" in check.stdout


@pytest.mark.parametrize("release", RELEASES)
def test_the_backups_example_switches_galera_backups_on(release: str, tmp_path: Path) -> None:
    run_chartgen("build", "--release", release, "--overlay", str(ROOT / "examples" / "site-ha.yaml"),
                 "--overlay", str(ROOT / "examples" / "site-backups.yaml"), "--out", str(tmp_path), "--quiet", check=True)
    backup = values(tmp_path / "oaas", "galera")["jobs"]["backup"]
    assert backup["enabled"] is True and backup["cycle"] == 7 and backup["keepDays"] == 30
    assert backup["encryption"] == {"enabled": True, "secretName": "galera-backup-key", "key": "passphrase"}
    assert backup["persistence"] == {"size": "200Gi", "storageClass": "backup-hdd"}
