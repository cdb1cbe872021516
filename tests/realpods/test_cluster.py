"""Proves the real-pods cluster is real: containers run from a locally
imported image, probes pass, Services, DNS and the API server are reachable
from pods, kubectl logs/exec reach the kubelet, and NetworkPolicies are
enforced (kube-router's firewall controller). The session fixture then
asserts that teardown leaves nothing on the machine."""

from __future__ import annotations

import time

import pytest

from cluster import NODE_IP, NODE_NAME, REAL_NODE_SELECTOR, RealCluster

pytestmark = pytest.mark.realpods

TIMEOUT = "120s"
PAGE = "served-by-a-real-container"


def conditions(obj: dict) -> dict[str, str]:
    return {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}


def web_server(image: str) -> list[dict]:
    """busybox httpd behind a ClusterIP Service, Ready by an HTTP probe."""
    labels = {"app": "web"}
    container = {
        "name": "httpd",
        "image": image,
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", f"mkdir -p /tmp/www && echo {PAGE} > /tmp/www/index.html && "
                                "exec httpd -f -p 8080 -h /tmp/www"],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/index.html", "port": "http"}, "periodSeconds": 1},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {
                    "nodeSelector": REAL_NODE_SELECTOR,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory"}}],
                }},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
    ]


def client_pod(image: str, name: str = "client", labels: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "nodeSelector": REAL_NODE_SELECTOR,
            "containers": [{"name": "sh", "image": image, "imagePullPolicy": "Never",
                            "command": ["sh", "-c", "echo client-started; exec sleep 3600"]}],
            "terminationGracePeriodSeconds": 0,
        },
    }


@pytest.fixture
def web(real_cluster: RealCluster, busybox: str, namespace: str) -> str:
    """The web Deployment and a client pod in `namespace`, both Ready."""
    real_cluster.apply(*web_server(busybox), client_pod(busybox), namespace=namespace)
    real_cluster.kubectl("rollout", "status", "deployment/web", "-n", namespace, f"--timeout={TIMEOUT}")
    real_cluster.kubectl("wait", "pod/client", "--for=condition=Ready", "-n", namespace, f"--timeout={TIMEOUT}")
    return namespace


def exec_in_client(cluster: RealCluster, namespace: str, script: str, pod: str = "client") -> str:
    return cluster.kubectl("exec", pod, "-n", namespace, "--", "sh", "-c", script, timeout=60).stdout


def output_in(cluster: RealCluster, namespace: str, pod: str, script: str) -> str:
    """What `script` prints in `pod`, or "" when it fails (for checks that wait)."""
    result = cluster.kubectl("exec", pod, "-n", namespace, "--", "sh", "-c", script, check=False, timeout=60)
    return result.stdout if result.returncode == 0 else ""


def fetches(cluster: RealCluster, namespace: str, pod: str, url: str) -> bool:
    return output_in(cluster, namespace, pod, http_get(url)).strip() == PAGE


def http_get(url: str) -> str:
    """A shell command fetching `url` within 10 s (Debian 12's static busybox
    wget crashes on its own -T timeout option: busybox timeout instead)."""
    return f"timeout 10 wget -qO- --no-check-certificate {url}"


def test_node_is_ready_with_the_controller_role(real_cluster: RealCluster):
    node = real_cluster.kubectl_json("get", "node", NODE_NAME)
    assert conditions(node).get("Ready") == "True", conditions(node)
    labels = node["metadata"]["labels"]
    for key, value in real_cluster.node_labels.items():
        assert labels.get(key) == value, labels
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"].startswith("v1.34."), info
    assert info["containerRuntimeVersion"].startswith("containerd://"), info
    assert {"type": "InternalIP", "address": NODE_IP} in node["status"]["addresses"]
    # kwok plays the compute and network nodes; it never touches the real one.
    fake = real_cluster.kubectl_json("get", "nodes", "-l", "type=kwok")["items"]
    assert sorted(r for n in fake for r in ("compute", "network") if n["metadata"]["labels"].get(r) == "true") \
        == ["compute", "network"]
    assert "kwok.x-k8s.io/node" not in node["metadata"].get("annotations", {})


def test_coredns_runs_on_the_real_node(real_cluster: RealCluster):
    pods = real_cluster.kubectl_json("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns")["items"]
    assert len(pods) == 1
    assert pods[0]["spec"]["nodeName"] == NODE_NAME
    assert conditions(pods[0]).get("Ready") == "True"
    assert pods[0]["status"]["podIP"].startswith("10.244.0.")


def test_pod_from_an_imported_image_is_ready_by_its_probe(real_cluster: RealCluster, web: str):
    pod = real_cluster.kubectl_json("get", "pods", "-n", web, "-l", "app=web")["items"][0]
    assert pod["spec"]["nodeName"] == NODE_NAME
    assert conditions(pod).get("Ready") == "True", pod["status"]
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] and "running" in status["state"], status
    # A real container runtime reports a real container and image ID.
    assert status["containerID"].startswith("containerd://"), status
    assert status["imageID"].startswith("sha256:") or "@sha256:" in status["imageID"], status


def test_service_and_dns_from_a_pod(real_cluster: RealCluster, web: str):
    name = f"web.{web}.svc.cluster.local"
    cluster_ip = real_cluster.kubectl_json("get", "service", "web", "-n", web)["spec"]["clusterIP"]
    # A Ready pod reaches kube-proxy's rules and CoreDNS's answers only once its EndpointSlice has
    # propagated (eventually consistent: the CI rehearsal once asked a moment too early), so each
    # check gets a bounded wait rather than one try.
    real_cluster.wait_for(f"{name} resolving to {cluster_ip} in the client pod",
                          lambda: cluster_ip in output_in(real_cluster, web, "client", f"nslookup {name}"), timeout=60)
    # Short name through the search path, then the ClusterIP (kube-proxy's DNAT to the pod).
    for url in ("http://web/index.html", f"http://{cluster_ip}/index.html"):
        real_cluster.wait_for(f"{url} answering the client pod", lambda: fetches(real_cluster, web, "client", url), timeout=60)


def test_pod_reaches_the_api_server_through_the_kubernetes_service(real_cluster: RealCluster, web: str):
    # /version is public (system:public-info-viewer); TLS to the Service IP.
    answer = exec_in_client(real_cluster, web, http_get("https://kubernetes.default.svc/version"))
    assert '"gitVersion": "v1.34.' in answer, answer


def test_kubectl_logs_and_exec(real_cluster: RealCluster, web: str):
    logs = real_cluster.kubectl("logs", "client", "-n", web).stdout
    assert "client-started" in logs
    assert exec_in_client(real_cluster, web, "hostname").strip() == "client"
    # exec carries the exit code back.
    failed = real_cluster.kubectl("exec", "client", "-n", web, "--", "sh", "-c", "exit 3", check=False)
    assert failed.returncode == 3, failed.stderr


def test_imported_names_are_fully_qualified(real_cluster: RealCluster, busybox: str):
    names = real_cluster.ctr("images", "ls", "-q").stdout.split()
    assert busybox in names
    assert not [n for n in names if n.startswith("import-")], names


def only_friends_policy() -> dict:
    """web admits pods labelled role=friend on its port, and nobody else."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web-only-friends"},
        "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "friend"}}}],
                              "ports": [{"port": 8080, "protocol": "TCP"}]}]},
    }


def test_network_policies_are_enforced(real_cluster: RealCluster, busybox: str, web: str):
    """kube-router drops what a NetworkPolicy does not admit: the charts' policies are really in force."""
    real_cluster.apply(client_pod(busybox, "friend", {"role": "friend"}), namespace=web)
    real_cluster.kubectl("wait", "pod/friend", "--for=condition=Ready", "-n", web, f"--timeout={TIMEOUT}")
    url = "http://web/index.html"
    assert fetches(real_cluster, web, "client", url)  # no policy yet: open
    real_cluster.apply(only_friends_policy(), namespace=web)
    real_cluster.wait_for("the policy to refuse the unlabelled client",
                          lambda: not fetches(real_cluster, web, "client", url), timeout=60)
    assert fetches(real_cluster, web, "friend", url)
    # Still refused a few seconds on: a verdict, not a rule being rewritten.
    time.sleep(3)
    assert not fetches(real_cluster, web, "client", url)
    real_cluster.kubectl("delete", "networkpolicy", "web-only-friends", "-n", web)
    real_cluster.wait_for("the client admitted again once the policy is gone",
                          lambda: fetches(real_cluster, web, "client", url), timeout=60)
