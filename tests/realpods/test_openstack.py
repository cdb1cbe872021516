"""OpenStack 2025.1 on real pods: the chart installs with real helm, every pod passes its own probes,
every bootstrap Job completes, `helm test` passes, and what a user created survives an upgrade that
rolls the pods and the loss of a galera, a rabbitmq and a keystone pod.

The images are the stand-ins of images/*.yaml (built here: no registry), laid over the chart by
tests/realpods/standins-2025.1.yaml on top of the one-machine lab overlays of examples/. The
cluster enforces NetworkPolicies (kube-router), so every connection the charts make passes their
own policies; the test's toolbox is admitted as an operator's client (operator-clients.yaml). The
tests of this module run in order and share one installation: each step is the next day of an
operator.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import REAL_NODE_SELECTOR, RealCluster  # noqa: E402
from summary import REPORT  # noqa: E402

pytestmark = [pytest.mark.realpods, pytest.mark.steps]

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
        return self.cluster.kubectl(*args, "--namespace", self.namespace, check=check)

    def pods(self) -> list[dict]:
        return self.cluster.kubectl_json("get", "pods", "--namespace", self.namespace)["items"]

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
        result = self.cluster.kubectl("exec", "--namespace", self.namespace, "toolbox", "--", "sh", "-ec", command, check=False)
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


@pytest.fixture(scope="module")
def openstack(real_cluster: RealCluster, busybox: str, standin_images: dict[str, str], chart: Path):
    namespace = f"openstack-{uuid.uuid4().hex[:6]}"
    real_cluster.kubectl("create", "namespace", namespace)
    real_cluster.add_persistent_volumes(VOLUMES)
    deployment = OpenStack(real_cluster, chart, namespace)
    yield deployment
    real_cluster.helm("uninstall", "oaas", "--namespace", namespace, "--wait", "--timeout", "10m", major=4, check=False, timeout=900)
    real_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


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


def test_install_with_helm3_every_pod_ready_every_job_complete(openstack: OpenStack) -> None:
    began = time.monotonic()
    run_step(openstack, "helm 3 install --wait --wait-for-jobs", lambda: openstack.helm(
        3, "install", "oaas", str(openstack.chart), "-f", CLIENT_VALUES, "--wait", "--wait-for-jobs",
        "--timeout", INSTALL_TIMEOUT))
    # Helm's wait counts a Deployment ready at replicas - maxUnavailable: with one replica and
    # required anti-affinity (maxUnavailable 1, no surge) that is zero pods, so wait for the probes.
    run_step(openstack, "every pod Ready by its own probe after the install", lambda: openstack.cluster.wait_for(
        "every pod of the install Running and Ready", lambda: not unready(openstack.pods()), timeout=300))
    jobs = openstack.cluster.kubectl_json("get", "jobs", "--namespace", openstack.namespace)["items"]
    assert jobs and all(job["status"].get("succeeded") == 1 for job in jobs), [j["metadata"]["name"] for j in jobs]
    openstack.start_toolbox()
    openstack.cluster.wait_for("a first admin token", lambda: openstack.openstack("openstack token issue", check=False).returncode == 0, timeout=300)
    REPORT.append(f"time to first token from the start of the install: {time.monotonic() - began:.0f}s")


def test_helm3_test_passes(openstack: OpenStack) -> None:
    run_step(openstack, "helm 3 test", lambda: openstack.helm(3, "test", "oaas", "--timeout", TEST_TIMEOUT))


# A TCP connect within 5 s: exit 0 when admitted; a policy's drop or reject fails it.
CONNECT = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()"


def probe_pod(name: str, service: str | None) -> dict:
    """A shell pod labelled as one of the release's services (or as nobody's): whom the policies see."""
    labels = {"app.kubernetes.io/instance": "oaas", "app.kubernetes.io/name": service} if service else {}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "automountServiceAccountToken": False,
            "nodeSelector": REAL_NODE_SELECTOR,
            "securityContext": {"runAsUser": 42401, "runAsGroup": 42401, "runAsNonRoot": True},
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "sh", "image": CLIENT_IMAGE, "imagePullPolicy": "Never", "command": ["sleep", "3600"],
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
        },
    }


def connects(openstack: OpenStack, pod: str, service: str, port: int) -> bool:
    result = openstack.cluster.kubectl("exec", "--namespace", openstack.namespace, pod, "--",  # namespace before `--`
                                       "python3", "-c", CONNECT, service, str(port), check=False)
    return result.returncode == 0


# Who may connect where, by the dependency graph: (probe pod, labelled as, target Service, port, admitted).
POLICY_CASES = [
    ("as-keystone", "keystone", "oaas-galera-haproxy", 3306, True),     # keystone depends on galera
    ("as-keystone", "keystone", "oaas-memcached-server", 11211, True),  # ... and on memcached
    ("as-memcached", "memcached", "oaas-galera-haproxy", 3306, False),  # memcached depends on nothing
    ("as-memcached", "memcached", "oaas-keystone-api", 5000, False),
    ("as-nobody", None, "oaas-galera-haproxy", 3306, False),            # a pod of no service at all
    ("as-nobody", None, "oaas-rabbitmq-server", 5672, False),
]


def test_network_policies_admit_dependents_and_refuse_the_rest(openstack: OpenStack) -> None:
    """The charts' NetworkPolicies, enforced: a dependent reaches its dependency, an unrelated pod does not."""
    probes = {(pod, service) for pod, service, *_ in POLICY_CASES}
    openstack.cluster.apply(*(probe_pod(pod, service) for pod, service in probes), namespace=openstack.namespace)
    for pod, _ in probes:
        openstack.kubectl("wait", f"pod/{pod}", "--for=condition=Ready", "--timeout=120s")
    try:
        # The engine admits a new pod once it has synced it: wait for the first admission.
        openstack.cluster.wait_for("kube-router to admit the keystone-labelled pod to galera",
                                   lambda: connects(openstack, "as-keystone", "oaas-galera-haproxy", 3306), timeout=60)
        verdicts = {(pod, target, port): connects(openstack, pod, target, port) for pod, _, target, port, _ in POLICY_CASES}
        wanted = {(pod, target, port): admitted for pod, _, target, port, admitted in POLICY_CASES}
        assert verdicts == wanted
    finally:
        openstack.kubectl("delete", "pod", *(pod for pod, _ in probes), "--wait=false", check=False)


def test_seed_a_project_a_user_and_an_image(openstack: OpenStack) -> None:
    openstack.openstack(
        f"openstack project create {PROJECT} -f value -c id\n"
        f"openstack user create --project {PROJECT} --password {shlex.quote(SEED_PASSWORD)} {USER} -f value -c id\n"
        f"openstack role add --project {PROJECT} --user {USER} member")
    if openstack.has_images:
        openstack.openstack(
            f"head -c 4096 /dev/urandom > /tmp/{IMAGE}.raw\n"
            f"openstack image create --disk-format raw --container-format bare --public --file /tmp/{IMAGE}.raw {IMAGE} -f value -c id")
    assert openstack.user_token() and openstack.image_active()


# --- generated secrets: made once, in the cluster, by the secrets Jobs -------------------------------
SECRETS_SELECTOR = "app.kubernetes.io/component=secrets"
MADE_AT_INSTALL: dict[str, dict[str, str]] = {}  # the generated Secrets' data, as the Jobs made them


def generated_secrets(openstack: OpenStack) -> dict[str, dict[str, str]]:
    """The Secrets the secrets Jobs made (not Helm's: no instance label; the overrides Secret has one)."""
    items = openstack.cluster.kubectl_json("get", "secrets", "--namespace", openstack.namespace, "-l", SECRETS_SELECTOR)["items"]
    return {s["metadata"]["name"]: s.get("data", {}) for s in items if "app.kubernetes.io/instance" not in s["metadata"]["labels"]}


def secrets_jobs(openstack: OpenStack) -> dict[str, str]:
    """Each secrets Job's name -> its log."""
    jobs = openstack.cluster.kubectl_json("get", "jobs", "--namespace", openstack.namespace, "-l", SECRETS_SELECTOR)["items"]
    return {job["metadata"]["name"]: openstack.kubectl("logs", f"job/{job['metadata']['name']}").stdout for job in jobs}


def test_the_secrets_jobs_really_made_every_secret(openstack: OpenStack) -> None:
    logs = secrets_jobs(openstack)
    assert logs and all("created Secret" in log for log in logs.values()), logs
    MADE_AT_INSTALL.update(generated_secrets(openstack))
    assert {"oaas-galera", "oaas-rabbitmq", "oaas-keystone"} <= set(MADE_AT_INSTALL)
    assert all(len(base64.b64decode(value)) >= 32 for data in MADE_AT_INSTALL.values() for value in data.values())


def test_applying_the_same_manifest_as_argo_cd_changes_nothing(openstack: OpenStack) -> None:
    """`helm template | kubectl apply --server-side`, as Argo CD syncs (test hooks left out, as Argo
    CD leaves them): the same bytes, the same Jobs, the same Secrets, the user still gets a token."""
    jobs_before = set(secrets_jobs(openstack))
    render = lambda: openstack.cluster.helm("template", "oaas", str(openstack.chart), "--namespace", openstack.namespace,  # noqa: E731
                                            "-f", CLIENT_VALUES, "--skip-tests", major=4).stdout
    manifest = render()
    assert render() == manifest
    openstack.cluster.kubectl("apply", "--server-side", "--field-manager", "argocd-controller", "--force-conflicts",
                              "--namespace", openstack.namespace, "-f", "-", input=manifest, timeout=600)
    assert set(secrets_jobs(openstack)) == jobs_before  # unchanged specs: the Jobs stay, nothing re-runs
    assert generated_secrets(openstack) == MADE_AT_INSTALL
    openstack.wait_for_user("after the re-apply", timeout=300)


def test_a_second_run_of_every_secrets_job_changes_nothing(openstack: OpenStack) -> None:
    names = list(secrets_jobs(openstack))
    openstack.kubectl("delete", "job", *names, "--wait=true", timeout=180)
    services = [name.split("-")[1] for name in names]  # oaas-<service>-secrets-<hash>
    shown = [arg for service in services for arg in ("--show-only", f"charts/{service}/templates/secrets/job.yaml")]
    jobs = openstack.cluster.helm("template", "oaas", str(openstack.chart), "--namespace", openstack.namespace, *shown, major=4).stdout
    openstack.cluster.kubectl("apply", "--namespace", openstack.namespace, "-f", "-", input=jobs)
    openstack.cluster.wait_for("every secrets Job complete again", lambda: all(
        job.get("status", {}).get("succeeded") == 1 for job in openstack.cluster.kubectl_json(
            "get", "jobs", "--namespace", openstack.namespace, "-l", SECRETS_SELECTOR)["items"]), timeout=300)
    logs = secrets_jobs(openstack)
    assert set(logs) == set(names) and all("nothing to do" in log for log in logs.values()), logs
    assert generated_secrets(openstack) == MADE_AT_INSTALL
    assert openstack.user_token()


def test_helm4_upgrade_with_a_config_change_rolls_the_pods_and_keeps_the_data(openstack: OpenStack) -> None:
    before = {p["metadata"]["name"] for p in openstack.pods() if p["metadata"]["name"].startswith("oaas-keystone-api-")}
    run_step(openstack, "helm 4 upgrade (keystone debug on)", lambda: openstack.helm(
        4, "upgrade", "oaas", str(openstack.chart), "--reuse-values", "--set", "keystone.conf.keystone.DEFAULT.debug=true",
        "--wait", "--wait-for-jobs", "--timeout", INSTALL_TIMEOUT))
    after = {p["metadata"]["name"] for p in openstack.pods() if p["metadata"]["name"].startswith("oaas-keystone-api-")}
    assert before and after and not before & after, f"keystone pods did not roll: {before} -> {after}"
    seconds = openstack.wait_for_user("after the upgrade")
    REPORT.append(f"user token and image after the upgrade: {seconds:.0f}s")
    assert generated_secrets(openstack) == MADE_AT_INSTALL


def test_helm4_test_passes(openstack: OpenStack) -> None:
    run_step(openstack, "helm 4 test", lambda: openstack.helm(4, "test", "oaas", "--timeout", TEST_TIMEOUT))


@pytest.mark.parametrize("pod", ["oaas-galera-server-0", "oaas-rabbitmq-server-0", "keystone-api"])
def test_a_lost_pod_comes_back_and_nothing_is_lost(openstack: OpenStack, pod: str) -> None:
    name = pod if pod.startswith("oaas-") else next(p["metadata"]["name"] for p in openstack.pods()
                                                    if p["metadata"]["name"].startswith(f"oaas-{pod}-"))
    began = time.monotonic()
    openstack.kubectl("delete", "pod", name, "--wait=false")
    try:
        openstack.wait_for_user(f"after deleting {name}", timeout=900)
    except Exception as err:
        raise AssertionError(f"{err}\n--- cluster state ---\n{openstack.explain_failure()}") from None
    REPORT.append(f"recovery from the loss of {name} (time to a user token and the image): {time.monotonic() - began:.0f}s")
