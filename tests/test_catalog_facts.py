"""The complete catalog, per release, read from `helm template` of the built umbrella (real helm)."""

from __future__ import annotations

import re

import pytest

from helmrender import built, objects
from helpers import RELEASES

pytestmark = pytest.mark.tools

OPENSTACK = ("keystone", "glance", "cinder", "nova", "neutron", "heat", "ceilometer", "gnocchi", "aodh", "horizon")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("catalog"))


def workloads(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet")}


def config_maps(docs: list[dict]) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}


@pytest.mark.parametrize("release", RELEASES)
def test_every_seed_service_is_there(scratch: str, release: str) -> None:
    chart = built(release, scratch)
    charts = {p.name for p in (chart / "charts").iterdir()}
    expected = {"etcd", "galera", "rabbitmq", "memcached", "zookeeper", "mongodb", *OPENSTACK}
    assert expected <= charts, expected - charts
    assert ("placement" in charts) is (RELEASES.index(release) >= RELEASES.index("stein"))  # its own chart from Stein on
    values = (chart / "values.yaml").read_text()
    assert re.search(r"^mongodb:\n  enabled: false$", values, re.M)  # optional, as in the seed


@pytest.mark.parametrize("release", RELEASES)
def test_transport_urls_follow_the_rabbitmq_replicas(scratch: str, release: str) -> None:
    for replicas in (3, 5):
        docs = objects(built(release, scratch), "--set", f"global.replicas.rabbitmq={replicas}")
        urls = [(name, m.group(1)) for name, data in config_maps(docs).items() for text in data.values()
                for m in re.finditer(r"^transport_url = (\S+)$", text, re.M)]
        services = {name.removeprefix("oaas-").removesuffix("-config") for name, _ in urls}
        # every enabled OpenStack service that talks over the bus (horizon and gnocchi do not)
        enabled = {s for s in OPENSTACK if any(d["metadata"]["name"].startswith(f"oaas-{s}-") for d in docs)} - {"horizon", "gnocchi"}
        assert enabled <= services, enabled - services
        for name, url in urls:
            hosts = re.findall(r"@(oaas-rabbitmq-server-\d+)\.", url)
            assert hosts == [f"oaas-rabbitmq-server-{i}" for i in range(replicas)], (name, url)


@pytest.mark.parametrize("release", RELEASES)
def test_every_service_has_its_own_bus_user_created_by_its_job(scratch: str, release: str) -> None:
    # what helm install creates: not the upgrade hooks (their ConfigMap copies, their Jobs)
    docs = [d for d in objects(built(release, scratch)) if "helm.sh/hook" not in d["metadata"].get("annotations", {})]
    users = {(name.removeprefix("oaas-").removesuffix("-config"), m.group(1)) for name, data in config_maps(docs).items()
             for text in data.values() for m in re.finditer(r"^transport_url = rabbit://([^:]+):", text, re.M)}
    assert users and all(service == user for service, user in users), users  # no shared bus user
    jobs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Job"}
    for service, _ in users:
        job = next(j for name, j in jobs.items() if name.startswith(f"oaas-{service}-"))
        pod = job["spec"]["template"]["spec"]
        step = next(c for c in pod["initContainers"] if c["name"] == "mq-user")
        env = {e["name"]: e for e in step["env"]}
        assert env["MQ_USER"]["value"] == service
        assert env["MQ_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": f"oaas-{service}", "key": "messagingPassword"}
        assert env["MQ_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "oaas-rabbitmq", "key": "adminPassword"}
        assert env["MQ_API"]["value"].endswith(":15672")
        assert any(m["mountPath"] == f"/oaas/{service}/mq-user.py" for m in step["volumeMounts"]), step["volumeMounts"]


@pytest.mark.parametrize("release", RELEASES)
def test_node_roles_as_in_the_seed(scratch: str, release: str) -> None:
    objs = workloads(objects(built(release, scratch)))
    selector = lambda name: objs[name]["spec"]["template"]["spec"]["nodeSelector"]  # noqa: E731
    assert selector("oaas-nova-compute") == {"compute": "true"}
    assert objs["oaas-nova-compute"]["kind"] == "DaemonSet"
    assert selector("oaas-neutron-server") == {"network": "true"}
    assert selector("oaas-keystone-api") == {"controller": "true"}


@pytest.mark.parametrize("release", RELEASES)
def test_node_ports_as_in_the_seed_only_when_asked(scratch: str, release: str) -> None:
    def node_ports(docs: list[dict]) -> set[tuple[str, int]]:
        return {(d["metadata"]["name"], p["nodePort"]) for d in docs if d["kind"] == "Service" for p in d["spec"]["ports"] if "nodePort" in p}

    # plain HTTP dashboards and consoles stay in the cluster unless the deployer publishes them
    docs = objects(built(release, scratch))
    assert not node_ports(docs)
    assert {d["spec"].get("type", "ClusterIP") for d in docs if d["kind"] == "Service"} == {"ClusterIP"}
    docs = objects(built(release, scratch), "--set", "horizon.server.serviceType=NodePort", "--set", "nova.novncproxy.serviceType=NodePort")
    published = node_ports(docs)
    assert ("oaas-horizon-server", 30080) in published or any(port == 30080 and "horizon" in name for name, port in published)
    assert any(port == 30068 and "novncproxy" in name for name, port in published)


@pytest.mark.parametrize("release", RELEASES)
def test_every_openstack_service_bootstraps_with_a_job(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    jobs = [d for d in docs if d["kind"] == "Job"]
    for service in OPENSTACK:
        if service == "horizon" or not any(d["metadata"]["name"].startswith(f"oaas-{service}-") for d in docs):
            continue
        mine = [job for job in jobs if job["metadata"]["name"].startswith(f"oaas-{service}-")]
        assert mine, f"{service} has no bootstrap Job"
        spec = mine[0]["spec"]
        assert spec["activeDeadlineSeconds"] > 0 and spec["backoffLimit"] >= 0
        steps = [c["name"] for c in spec["template"]["spec"].get("initContainers", [])]
        if any(name.startswith("db-init") for name in steps):
            assert any("wait-galera" in name for name in steps), (service, steps)
        assert any(name.startswith(("db-init", "ks-", "wait-")) for name in steps), (service, steps)


@pytest.mark.parametrize("release", ["queens", "2025.1"])
def test_consoleauth_only_where_the_release_has_it(scratch: str, release: str) -> None:
    objs = workloads(objects(built(release, scratch)))
    assert ("oaas-nova-consoleauth" in objs) is (release == "queens")
    assert ("oaas-nova-placement" in objs) is (release == "queens")


def test_glance_images_on_a_shared_claim(scratch: str) -> None:
    docs = objects(built("queens", scratch))
    claims = [d for d in docs if d["kind"] == "PersistentVolumeClaim" and "glance" in d["metadata"]["name"]]
    assert claims and claims[0]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_one_pod_per_node_deployments_roll_without_a_surge(scratch: str) -> None:
    """With required anti-affinity and as many replicas as eligible nodes (neutron-server on the
    two network nodes), a surge pod has nowhere to go: the rollout must replace, not add."""
    docs = objects(built("queens", scratch))
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        spec = doc["spec"]
        rolling = spec["strategy"]["rollingUpdate"]
        required = "requiredDuringSchedulingIgnoredDuringExecution" in spec["template"]["spec"]["affinity"].get("podAntiAffinity", {})
        assert (rolling["maxSurge"], rolling["maxUnavailable"]) == ((0, 1) if required else (1, 0)), doc["metadata"]["name"]


FAKE_NOVA_MANAGE = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$*" in
  *create_cell*) echo "The specified transport_url and/or database_connection combination already exists"; exit 2;;
  *list_cells*) printf '| Name | UUID |\\n| cell0 | 00000000-0000-0000-0000-000000000000 |\\n| cell1 | 3f6a1f3e-aaaa-bbbb-cccc-444455556666 |\\n';;
esac
"""


@pytest.mark.parametrize("release", ["pike", "queens"])
def test_an_existing_cell1_follows_the_configured_transport_url(scratch: str, release: str, tmp_path) -> None:
    """A second run of nova's bootstrap (an upgrade, a RabbitMQ scale) updates cell1's stored
    transport URL instead of only accepting "already exists" (run with a stand-in nova-manage)."""
    import os
    import subprocess

    docs = objects(built(release, scratch))
    job = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith("oaas-nova-"))
    step = next(c for c in job["spec"]["template"]["spec"]["initContainers"] if c["name"] == "create-cell1")
    (tmp_path / "nova-manage").write_text(FAKE_NOVA_MANAGE)
    (tmp_path / "nova-manage").chmod(0o755)
    calls = tmp_path / "calls"
    env = dict(os.environ, PATH=f"{tmp_path}:/usr/bin:/bin", CALLS=str(calls))
    result = subprocess.run(step["command"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls.read_text().splitlines()[-1].endswith("cell_v2 update_cell --cell_uuid 3f6a1f3e-aaaa-bbbb-cccc-444455556666")
    assert "follows the configured transport URL" in result.stdout
