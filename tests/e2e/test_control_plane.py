"""Proves the e2e control plane is a real one: every assertion reads API state
that only the real apiserver, scheduler and controllers (plus kwok playing the
kubelets) can produce."""

from __future__ import annotations

import ipaddress

import pytest

from controlplane import DEFAULT_NODE_COUNTS, STORAGE_CLASS, SERVICE_CIDR, ControlPlane, ControlPlaneError

pytestmark = pytest.mark.e2e

TIMEOUT = "120s"


def labels_of(obj: dict) -> dict:
    return obj["metadata"].get("labels", {})


def pods(cp: ControlPlane, namespace: str, selector: str) -> list[dict]:
    return cp.kubectl_json("get", "pods", "-n", namespace, "-l", selector)["items"]


def pod_spec(**extra) -> dict:
    return {"containers": [{"name": "main", "image": "registry.invalid/e2e:1"}], **extra}


def deployment(name: str, replicas: int, **spec_extra) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(**spec_extra)},
        },
    }


def test_server_reports_kubernetes_1_34(control_plane: ControlPlane):
    version = control_plane.server_version()
    assert version["gitVersion"].startswith("v1.34."), version
    assert (version["major"], version["minor"]) == ("1", "34")


def test_nodes_are_ready_with_seed_cluster_roles(control_plane: ControlPlane):
    nodes = control_plane.kubectl_json("get", "nodes")["items"]
    assert len(nodes) == sum(DEFAULT_NODE_COUNTS.values()) == 9

    for node in nodes:
        name = node["metadata"]["name"]
        conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
        assert conditions.get("Ready") == "True", (name, conditions)
        assert labels_of(node)["kubernetes.io/hostname"] == name
        assert not node["spec"].get("unschedulable"), name

    for role, count in DEFAULT_NODE_COUNTS.items():
        holders = {n["metadata"]["name"] for n in nodes if labels_of(n).get(role) == "true"}
        assert len(holders) == count, (role, holders)
        assert all(name.startswith(f"kwok-{role}-") for name in holders), holders
    # Roles live on separate nodes, like in the seed cluster.
    assert all(sum(labels_of(n).get(r) == "true" for r in DEFAULT_NODE_COUNTS) == 1 for n in nodes)


def test_deployment_spreads_over_controller_nodes(control_plane: ControlPlane, namespace: str):
    cp = control_plane
    anti_affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {"app": "quorum"}},
        "topologyKey": "kubernetes.io/hostname",
    }]}}
    cp.apply(deployment("quorum", 3, nodeSelector={"controller": "true"}, affinity=anti_affinity),
             namespace=namespace)
    cp.kubectl("rollout", "status", "deployment/quorum", "-n", namespace, f"--timeout={TIMEOUT}")

    dep = cp.kubectl_json("get", "deployment", "quorum", "-n", namespace)
    assert dep["status"].get("availableReplicas") == 3, dep["status"]
    running = pods(cp, namespace, "app=quorum")
    assert len(running) == 3
    node_names = {p["spec"]["nodeName"] for p in running}
    assert len(node_names) == 3, node_names
    assert all(n.startswith("kwok-controller-") for n in node_names), node_names
    assert all(p["status"]["phase"] == "Running" and p["status"].get("podIP") for p in running)

    # The garbage collector removes the ReplicaSet and its pods with the owner.
    cp.kubectl("delete", "deployment", "quorum", "-n", namespace, "--cascade=background")
    cp.wait_for("garbage collection of the Deployment's pods",
                lambda: not pods(cp, namespace, "app=quorum")
                and not cp.kubectl_json("get", "replicasets", "-n", namespace)["items"],
                timeout=120)


def test_job_completes(control_plane: ControlPlane, namespace: str):
    cp = control_plane
    cp.apply({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {
            "completions": 2,
            "parallelism": 1,
            "backoffLimit": 0,
            "template": {"spec": pod_spec(restartPolicy="Never")},
        },
    }, namespace=namespace)
    cp.kubectl("wait", "--for=condition=Complete", "job/migrate", "-n", namespace, f"--timeout={TIMEOUT}")

    job = cp.kubectl_json("get", "job", "migrate", "-n", namespace)
    assert job["status"].get("succeeded") == 2, job["status"]
    assert not job["status"].get("failed"), job["status"]
    finished = pods(cp, namespace, "job-name=migrate")
    assert [p["status"]["phase"] for p in finished] == ["Succeeded", "Succeeded"]


def test_statefulset_claims_are_bound_by_the_pv_controller(control_plane: ControlPlane, namespace: str):
    cp = control_plane
    cp.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"name": "db", "port": 5432}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db",
                "replicas": 3,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": pod_spec()},
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {
                        "storageClassName": STORAGE_CLASS,
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "shared"},
            "spec": {
                "storageClassName": STORAGE_CLASS,
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "5Gi"}},
            },
        },
        namespace=namespace,
    )
    cp.kubectl("rollout", "status", "statefulset/db", "-n", namespace, f"--timeout={TIMEOUT}")
    cp.kubectl("wait", "--for=jsonpath={.status.phase}=Bound", "pvc/shared", "-n", namespace,
               f"--timeout={TIMEOUT}")

    claims = {c["metadata"]["name"]: c for c in cp.kubectl_json("get", "pvc", "-n", namespace)["items"]}
    assert set(claims) == {"data-db-0", "data-db-1", "data-db-2", "shared"}
    volumes = {v["metadata"]["name"]: v for v in cp.kubectl_json("get", "pv")["items"]}
    for name, claim in claims.items():
        assert claim["status"]["phase"] == "Bound", (name, claim["status"])
        # Set by the persistentvolume-binder controller, nobody else.
        assert claim["metadata"]["annotations"].get("pv.kubernetes.io/bind-completed") == "yes", name
        volume = volumes[claim["spec"]["volumeName"]]
        assert volume["spec"]["storageClassName"] == STORAGE_CLASS
        assert volume["spec"]["claimRef"]["name"] == name
        assert volume["status"]["phase"] == "Bound"
    assert "ReadWriteMany" in claims["shared"]["status"]["accessModes"]

    sts = cp.kubectl_json("get", "statefulset", "db", "-n", namespace)
    assert sts["status"].get("readyReplicas") == 3, sts["status"]


def test_headless_and_cluster_ip_services(control_plane: ControlPlane, namespace: str):
    cp = control_plane
    cp.apply(
        deployment("web", 2),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web-headless"},
            "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
        namespace=namespace,
    )
    headless = cp.kubectl_json("get", "service", "web-headless", "-n", namespace)
    assert headless["spec"]["clusterIP"] == "None"
    allocated = cp.kubectl_json("get", "service", "web", "-n", namespace)["spec"]["clusterIP"]
    assert ipaddress.ip_address(allocated) in ipaddress.ip_network(SERVICE_CIDR)

    # The EndpointSlice controller publishes the pods kwok made Ready.
    cp.kubectl("rollout", "status", "deployment/web", "-n", namespace, f"--timeout={TIMEOUT}")

    def ready_endpoints() -> int:
        slices = cp.kubectl_json("get", "endpointslices", "-n", namespace,
                                 "-l", "kubernetes.io/service-name=web-headless")["items"]
        return sum(bool(e.get("conditions", {}).get("ready"))
                   for s in slices for e in s.get("endpoints") or [])

    cp.wait_for("2 ready endpoints of web-headless", lambda: ready_endpoints() == 2, timeout=60)


def test_deleting_a_namespace_removes_its_objects(control_plane: ControlPlane):
    cp = control_plane
    ns = "e2e-doomed"
    cp.kubectl("create", "namespace", ns)
    cp.wait_for("default ServiceAccount",
                lambda: cp.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0, timeout=60)
    cp.apply(
        deployment("app", 2),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}},
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "scratch"},
            "spec": {
                "storageClassName": STORAGE_CLASS,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
        namespace=ns,
    )
    cp.kubectl("rollout", "status", "deployment/app", "-n", ns, f"--timeout={TIMEOUT}")
    cp.kubectl("wait", "--for=jsonpath={.status.phase}=Bound", "pvc/scratch", "-n", ns, f"--timeout={TIMEOUT}")
    volume = cp.kubectl_json("get", "pvc", "scratch", "-n", ns)["spec"]["volumeName"]

    cp.kubectl("delete", "namespace", ns, f"--timeout={TIMEOUT}")

    with pytest.raises(ControlPlaneError, match="NotFound"):
        cp.kubectl("get", "namespace", ns)
    leftovers = cp.kubectl("get", "pods,configmaps,pvc,deployments,replicasets", "-n", ns,
                           "-o", "name").stdout.split()
    assert leftovers == []
    # The claim is gone, so the PV binder releases its Retain volume, which
    # the fixture can put back into circulation.
    cp.wait_for(f"{volume} Released",
                lambda: cp.kubectl_json("get", "pv", volume)["status"]["phase"] == "Released", timeout=60)
    assert volume in cp.recycle_released_volumes()
    cp.wait_for(f"{volume} Available",
                lambda: cp.kubectl_json("get", "pv", volume)["status"]["phase"] == "Available", timeout=60)
