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
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import installs  # noqa: E402
from cluster import REAL_NODE_SELECTOR, RealCluster  # noqa: E402
from deployment import CLIENT_IMAGE, CLIENT_VALUES, INSTALL_TIMEOUT, TEST_TIMEOUT, VOLUMES, OpenStack, run_step, unready  # noqa: E402
from summary import REPORT  # noqa: E402

pytestmark = [pytest.mark.realpods, pytest.mark.steps]


@pytest.fixture(scope="module")
def openstack(real_cluster: RealCluster, busybox: str, standin_images: dict[str, str], chart: Path):
    with installs.release_namespace(real_cluster, "openstack", VOLUMES) as namespace:
        yield OpenStack(real_cluster, chart, namespace)


def test_install_with_helm3_every_pod_ready_every_job_complete(openstack: OpenStack) -> None:
    openstack.install(major=3)


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
    result = openstack.kubectl("exec", pod, "--", "python3", "-c", CONNECT, service, str(port), check=False)
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
    openstack.seed()


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
    """keystone's pods roll; every other long-running pod keeps running, although the release's upgrade
    hooks run again: a stop Job leaves alone what already runs the image it would upgrade to."""
    before = {p["metadata"]["name"] for p in openstack.pods() if p["metadata"]["name"].startswith("oaas-keystone-api-")}
    others = openstack.long_running_pods(but=("oaas-keystone-",))
    run_step(openstack, "helm 4 upgrade (keystone debug on)", lambda: openstack.helm(
        4, "upgrade", "oaas", str(openstack.chart), "--reuse-values", "--set", "keystone.conf.keystone.DEFAULT.debug=true",
        "--wait", "--wait-for-jobs", "--timeout", INSTALL_TIMEOUT))
    after = {p["metadata"]["name"] for p in openstack.pods() if p["metadata"]["name"].startswith("oaas-keystone-api-")}
    assert before and after and not before & after, f"keystone pods did not roll: {before} -> {after}"
    assert openstack.long_running_pods(but=("oaas-keystone-",)) == others
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


def test_a_service_enabled_by_an_upgrade_gets_its_secret_its_database_and_its_schema_first(openstack: OpenStack) -> None:
    """glance, off in the identity scope, enabled by a `helm upgrade`. Its upgrade Jobs are pre-upgrade
    hooks, and hooks run before Helm applies any plain object: the secrets Job runs first as a hook,
    db-init starts its first upgrade Job and flags the database new, so the full sync the release's
    expand replaces runs before `glance-manage db expand`, which fails on an empty database. The plain
    secrets Job then finds the Secret made and sends nothing; an image is stored and glance's own
    `helm test` uploads, lists and deletes one."""
    if openstack.has_images:
        pytest.skip("glance is installed from the start in this scope")
    installs.import_standins(openstack.cluster, ("glance-api",))
    run_step(openstack, "helm 4 upgrade enabling glance", lambda: openstack.helm(
        4, "upgrade", "oaas", str(openstack.chart), "--reuse-values", "--set", "glance.enabled=true",
        "--wait", "--wait-for-jobs", "--timeout", INSTALL_TIMEOUT))
    run_step(openstack, "every pod Ready by its own probe after enabling glance", lambda: openstack.cluster.wait_for(
        "every pod Running and Ready after enabling glance", lambda: not unready(openstack.pods()), timeout=300))
    logs = {name: log for name, log in secrets_jobs(openstack).items() if name.startswith("oaas-glance-")}
    assert list(logs.values()) and all("nothing to do" in log for log in logs.values()), logs  # the hook made it
    assert set(generated_secrets(openstack)) == set(MADE_AT_INSTALL) | {"oaas-glance"}
    # The full sync, expand, migrate and contract ran: the schema is at glance's last contract.
    assert openstack.sql("SELECT version_num FROM glance.alembic_version") == [["2024_1_contract01"]]
    openstack.seed_image()
    openstack.wait_for_user("after enabling glance", timeout=120)
    run_step(openstack, "helm 4 test with glance", lambda: openstack.helm(4, "test", "oaas", "--timeout", TEST_TIMEOUT))
