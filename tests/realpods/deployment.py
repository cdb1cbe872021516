"""One OpenStack installation on the real-pods cluster, as an operator sees it: the umbrella in a
namespace, a toolbox pod with the openstack CLI (admitted by the charts' NetworkPolicies as an
operator's client), a seeded project and user, and each operator step timed and, when it fails,
explained by the pods that are not well. Shared by test_openstack.py and test_upgrade.py.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import uuid
from pathlib import Path

from cluster import REAL_NODE_SELECTOR, RealCluster
from summary import REPORT

INSTALL_TIMEOUT = "40m"
TEST_TIMEOUT = "15m"
# Claims of the installed services (galera, rabbitmq, glance's image store) plus room for a rerun.
VOLUMES = 8
SEED_PASSWORD = uuid.uuid4().hex  # the test user's password: made up per run, never a literal
PROJECT, USER, IMAGE = "oaas-e2e", "oaas-e2e-user", "oaas-e2e-image"
# Values of every install, upgrade and re-render: the toolbox's NetworkPolicy admission.
CLIENT_VALUES = str(Path(__file__).resolve().parent / "operator-clients.yaml")
CLIENT_LABEL = {"chartgen-e2e/client": "true"}
CLIENT_IMAGE = "localhost/chartgen/openstack-client:2025.1"  # the openstack CLI (images/openstack-client.yaml)


class OpenStack:
    """One installation of the umbrella in a namespace, and a toolbox pod to talk to it."""

    def __init__(self, cluster: RealCluster, chart: Path, namespace: str):
        self.cluster, self.chart, self.namespace = cluster, chart, namespace

    def helm(self, major: int, *args: str, timeout: float = 3000) -> subprocess.CompletedProcess:
        return self.cluster.helm(*args, "--namespace", self.namespace, major=major, timeout=timeout)

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        # The namespace first: after an exec's `--` it would be the command's own argument.
        return self.cluster.kubectl("--namespace", self.namespace, *args, check=check, timeout=timeout)

    def pods(self) -> list[dict]:
        return self.cluster.kubectl_json("get", "pods", "--namespace", self.namespace)["items"]

    def long_running_pods(self, but: tuple[str, ...]) -> dict[str, tuple[str, int]]:
        """The uid and restart count of every pod of a StatefulSet or Deployment whose name starts
        with none of `but`: equal before and after a step that neither stops nor rolls them."""
        return {pod["metadata"]["name"]: (pod["metadata"]["uid"], sum(c["restartCount"] for c in pod["status"].get("containerStatuses", [])))
                for pod in self.pods() if not pod["metadata"]["name"].startswith(but)
                and pod["metadata"].get("ownerReferences", [{}])[0].get("kind") in ("StatefulSet", "ReplicaSet")}

    def explain_failure(self) -> str:
        """Pod phases, waiting reasons and the last log lines of what is not well: the failure message."""
        lines = []
        for pod in self.pods():
            name, status = pod["metadata"]["name"], pod.get("status", {})
            states = status.get("containerStatuses", []) + status.get("initContainerStatuses", [])
            bad = [s for s in states if not s.get("ready") and s.get("state", {}).get("terminated", {}).get("reason") != "Completed"]
            if status.get("phase") in ("Succeeded",) or not bad and status.get("phase") == "Running":
                continue
            reasons = [f"{s['name']}: {next(iter(s.get('state', {})), '?')} {json.dumps(next(iter(s.get('state', {}).values()), {}))[:200]} restarts={s.get('restartCount')}" for s in bad]
            lines.append(f"pod {name} {status.get('phase')}: " + "; ".join(reasons))
            for s in bad[:2]:
                log = self.kubectl("logs", name, "-c", s["name"], "--tail", "25", check=False)
                previous = self.kubectl("logs", name, "-c", s["name"], "--tail", "25", "--previous", check=False)
                text = (log.stdout or log.stderr).strip() or (previous.stdout or previous.stderr).strip()
                lines += [f"    | {line}" for line in text.splitlines()[-25:]]
        events = self.kubectl("get", "events", "--sort-by=.lastTimestamp", check=False).stdout.splitlines()[-15:]
        return "\n".join(lines + ["events:"] + events)

    def install(self, major: int, *values: str) -> None:
        """`helm install --wait --wait-for-jobs` of the chart (with `values`: more --set flags); every
        pod Ready by its probe, every Job complete, the toolbox started and an admin token issued."""
        began = time.monotonic()
        run_step(self, f"helm {major} install --wait --wait-for-jobs", lambda: self.helm(
            major, "install", "oaas", str(self.chart), "-f", CLIENT_VALUES, *values, "--wait", "--wait-for-jobs",
            "--timeout", INSTALL_TIMEOUT))
        # Helm's wait counts a Deployment ready at replicas - maxUnavailable: with one replica and
        # required anti-affinity (maxUnavailable 1, no surge) that is zero pods, so wait for the probes.
        run_step(self, "every pod Ready by its own probe after the install", lambda: self.cluster.wait_for(
            "every pod of the install Running and Ready", lambda: not unready(self.pods()), timeout=300))
        jobs = self.cluster.kubectl_json("get", "jobs", "--namespace", self.namespace)["items"]
        assert jobs and all(job["status"].get("succeeded") == 1 for job in jobs), [j["metadata"]["name"] for j in jobs]
        self.start_toolbox()
        self.cluster.wait_for("a first admin token", lambda: self.openstack("openstack token issue", check=False).returncode == 0, timeout=300)
        REPORT.append(f"time to first token from the start of the install: {time.monotonic() - began:.0f}s")

    def seed(self) -> None:
        """The project, user (and with glance, image) every later step checks is still there."""
        self.openstack(
            f"openstack project create {PROJECT} -f value -c id\n"
            f"openstack user create --project {PROJECT} --password {shlex.quote(SEED_PASSWORD)} {USER} -f value -c id\n"
            f"openstack role add --project {PROJECT} --user {USER} member")
        if self.has_images:
            self.seed_image()
        assert self.user_token() and self.image_active()

    def seed_image(self) -> None:
        self.openstack(
            f"head -c 4096 /dev/urandom > /tmp/{IMAGE}.raw\n"
            f"openstack image create --disk-format raw --container-format bare --public --file /tmp/{IMAGE}.raw {IMAGE} -f value -c id")

    def sql(self, statement: str) -> list[list[str]]:
        """Rows of a statement run as root on galera's first member."""
        result = self.kubectl("exec", "oaas-galera-server-0", "-c", "server", "--", "mysql", "-uroot", "-N", "-B", "-e", statement)
        return [line.split("\t") for line in result.stdout.splitlines()]

    # --- the toolbox: a pod with the openstack CLI, as the admin ---------------------------------
    def start_toolbox(self) -> None:
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "toolbox", "namespace": self.namespace, "labels": CLIENT_LABEL},
            "spec": {
                "automountServiceAccountToken": False,
                "nodeSelector": REAL_NODE_SELECTOR,  # never a kwok node, where nothing runs
                "securityContext": {"runAsUser": 42401, "runAsGroup": 42401, "runAsNonRoot": True},
                "containers": [{
                    "name": "toolbox", "image": CLIENT_IMAGE, "imagePullPolicy": "Never",
                    "command": ["sleep", "infinity"],
                    "env": [
                        {"name": "OS_AUTH_URL", "value": "http://oaas-keystone-api:5000/v3"},
                        {"name": "OS_IDENTITY_API_VERSION", "value": "3"},
                        {"name": "OS_USERNAME", "value": "admin"}, {"name": "OS_PROJECT_NAME", "value": "admin"},
                        {"name": "OS_USER_DOMAIN_NAME", "value": "Default"}, {"name": "OS_PROJECT_DOMAIN_NAME", "value": "Default"},
                        {"name": "HOME", "value": "/tmp"},
                        {"name": "OS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "oaas-keystone", "key": "adminPassword"}}},
                    ],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }],
            },
        }
        self.cluster.apply(pod, namespace=self.namespace)
        self.cluster.wait_for("the toolbox pod Running", lambda: self.phase("toolbox") == "Running", timeout=180)

    def phase(self, pod: str) -> str:
        result = self.kubectl("get", "pod", pod, "-o", "jsonpath={.status.phase}", check=False)
        return result.stdout.strip()

    def openstack(self, command: str, check: bool = True) -> subprocess.CompletedProcess:
        result = self.kubectl("exec", "toolbox", "--", "sh", "-ec", command, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"in the toolbox: {command}\n{result.stdout}{result.stderr}")
        return result

    @property
    def has_images(self) -> bool:
        return any(p["metadata"]["name"].startswith("oaas-glance-api-") for p in self.pods())

    def user_token(self) -> bool:
        """The seeded user gets a token in its project."""
        command = (f"openstack --os-username {USER} --os-password {shlex.quote(SEED_PASSWORD)} --os-project-name {PROJECT} "
                   "token issue -f value -c id")
        return self.openstack(command, check=False).returncode == 0

    def image_active(self) -> bool:
        if not self.has_images:
            return True  # the identity scope has no image service
        return self.openstack(f"openstack image show {IMAGE} -f value -c status", check=False).stdout.strip() == "active"

    def wait_for_user(self, what: str, timeout: float = 600) -> float:
        """Seconds until the seeded user gets a token and its image is there again."""
        began = time.monotonic()
        self.cluster.wait_for(f"a token for {USER} (and the image {IMAGE}, with glance) {what}",
                              lambda: self.user_token() and self.image_active(), timeout=timeout)
        return time.monotonic() - began


def run_step(openstack: OpenStack, what: str, step) -> float:
    """Run one operator step; on failure, say what the cluster looks like. Returns seconds."""
    began = time.monotonic()
    try:
        step()
    except Exception as err:  # noqa: BLE001 - any failure gets the cluster's state attached
        raise AssertionError(f"{what} failed: {err}\n--- cluster state ---\n{openstack.explain_failure()}") from None
    seconds = time.monotonic() - began
    REPORT.append(f"{what}: {seconds:.0f}s")
    return seconds


def unready(pods: list[dict]) -> list[str]:
    """The pods that are neither done (a Job's) nor Running with every container ready."""
    return [pod["metadata"]["name"] for pod in pods if pod["status"].get("phase") != "Succeeded" and not (
        pod["status"].get("phase") == "Running" and all(c["ready"] for c in pod["status"].get("containerStatuses", [{"ready": False}])))]
