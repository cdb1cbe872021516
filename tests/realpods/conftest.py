"""Fixtures for the real-pods tests (`make e2e-real`, marker `realpods`).

One real cluster serves the whole session (tests isolate themselves in their
own namespace). Its teardown is checked: anything left on the machine (a
process, mount, iptables rule, address, cgroup, changed sysctl) fails the
session. Tests marked realpods run only when asked for (`-m realpods`): they
need root and change the machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import BUSYBOX_IMAGE, REPO, RealCluster  # noqa: E402
from summary import REPORT  # noqa: E402

# In order: host packages, control plane, node binaries and images. Each is a
# no-op when cached, so it always runs (and catches stale builds).
PREPARE = (
    ("tools/install-node-packages.sh",),
    ("tools/build-control-plane.sh",),
    ("tools/build-node.sh",),
)
REALPODS_REPORT: list[str] = []
# The OpenStack release the stand-in images are built for.
RELEASE = "2025.1"
# full (make test): every stand-in image; identity: galera, rabbitmq, memcached and keystone, then
# glance enabled by an upgrade.
SCOPE = os.environ.get("CHARTGEN_REALPODS_SCOPE", "full")
OVERLAYS = ("examples/site-small.yaml", "examples/site-single-node.yaml", "tests/realpods/standins-2025.1.yaml") + (
    ("tests/realpods/scope-identity.yaml",) if SCOPE == "identity" else ())


# Run before the cluster starts: they plant rules and sets in the machine's iptables tables and
# ipset list, which the cluster's kube-router saves and restores whole, so beside it a planted
# rule can vanish before it is seen, or come back once removed (CI saw both).
BEFORE_THE_CLUSTER = ("test_host.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave realpods tests out unless the marker expression names them; run those that must
    not share the machine with a cluster first (a stable sort keeps the rest in order)."""
    if "realpods" in (config.option.markexpr or ""):
        items.sort(key=lambda item: item.path.name not in BEFORE_THE_CLUSTER)
        return
    skipped = [item for item in items if item.get_closest_marker("realpods")]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if not item.get_closest_marker("realpods")]


# Modules (or classes) marked `steps` are one operator's days in order: after a failed step the later ones
# fail at once, naming it, instead of each waiting out its timeout on a broken installation.
FAILED_STEP: dict[str, str] = {}


def _steps_of(item: pytest.Item) -> str:
    """The sequence an item is a step of: its class when it has one, else its module."""
    return item.nodeid.rsplit("::", 1)[0]


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    failed = call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception)
    if item.get_closest_marker("steps") and failed and call.when == "call":
        FAILED_STEP.setdefault(_steps_of(item), item.name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    failed = FAILED_STEP.get(_steps_of(item)) if item.get_closest_marker("steps") else None
    if failed:
        pytest.fail(f"not run: the earlier step {failed} failed", pytrace=False)


def prepare_machine() -> None:
    """Install and build what the cluster needs; fail with the script's last lines."""
    for script, *args in PREPARE:
        result = subprocess.run(["bash", str(REPO / script), *args], capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            pytest.fail(f"{script} failed ({result.returncode}):\n{tail}", pytrace=False)
        print(result.stdout, end="")


def controller_labels() -> dict[str, str]:
    """The chart's controller role label (global.nodeRoles.controller of values/common.yaml)."""
    common = YAML(typ="safe").load((REPO / "values" / "common.yaml").read_text())
    role = common["global"]["nodeRoles"]["controller"]
    return {role["key"]: role["value"]}


def fake_node_roles() -> dict[str, int]:
    """kwok nodes for the compute and network agents (the chart's other roles)."""
    return {"compute": 1, "network": 1}


@pytest.fixture(scope="session")
def real_cluster(request: pytest.FixtureRequest):
    prepare_machine()
    cluster = RealCluster(node_labels=controller_labels(), fake_nodes=fake_node_roles())
    try:
        cluster.start()
    except Exception as err:  # the message names what is missing and its fix
        left = cluster.teardown_problems + (cluster.leftovers() if cluster.touched_machine else [])
        also = "\nand it left on the machine:\n" + "\n".join(left) if left else ""
        pytest.fail(f"real cluster did not start: {err}{also}", pytrace=False)
    REALPODS_REPORT.append(f"real cluster: node Ready after {cluster.timings['node-ready-after']:.1f}s, "
                           f"CoreDNS Ready after {cluster.startup_seconds:.1f}s {cluster.timings}")
    REALPODS_REPORT.append(f"real cluster memory (idle, all processes): {cluster.memory_mib():.0f} MiB")
    try:
        yield cluster
    finally:
        cluster.stop(failed=request.session.testsfailed > 0)
        phases = {k: v for k, v in cluster.timings.items() if k.startswith("teardown-")}
        REALPODS_REPORT.append(f"real cluster teardown in {cluster.timings['teardown']:.1f}s {phases}")
    left = cluster.teardown_problems + cluster.leftovers()
    assert not left, "the real cluster left traces on the machine:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def busybox(real_cluster: RealCluster) -> str:
    """Debian's busybox-static as an image in the node's containerd; its name."""
    return real_cluster.import_image(real_cluster.image_dir / "busybox.tar", BUSYBOX_IMAGE)


@pytest.fixture
def namespace(real_cluster: RealCluster, request: pytest.FixtureRequest):
    """A fresh namespace per test, deleted afterwards (without waiting)."""
    base = request.node.name.replace("_", "-").lower()[:40].strip("-")
    name = f"{base}-{uuid.uuid4().hex[:6]}"
    real_cluster.kubectl("create", "namespace", name)
    real_cluster.wait_for(
        f"ServiceAccount {name}/default",
        lambda: real_cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
        timeout=60,
    )
    yield name
    real_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def standin_images(real_cluster: RealCluster, chart: Path) -> dict[str, str]:
    """Build (or find cached) the stand-in images and import those the chart runs into the node's
    containerd (an import costs about 30 s per 200 MiB)."""
    began = time.monotonic()
    result = subprocess.run([sys.executable, str(REPO / "tools" / "build_images.py"), "--release", RELEASE],
                            capture_output=True, text=True, timeout=5400)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        pytest.fail(f"tools/build_images.py --release {RELEASE} failed ({result.returncode}):\n{tail}", pytrace=False)
    REPORT.append(f"stand-in images built or cached in {time.monotonic() - began:.0f}s")
    index = json.loads((Path.home() / ".cache" / "chartgen" / "images" / f"index-{RELEASE}.json").read_text())
    rendered = real_cluster.helm("template", "oaas", str(chart), major=4).stdout
    used = set(re.findall(r'image: "?(localhost/chartgen/[^"\s]+)', rendered))
    missing = used - {entry["image"] for entry in index.values()}
    assert not missing, f"the chart runs images no recipe in images/ builds: {sorted(missing)}"
    began = time.monotonic()
    imported = {name: real_cluster.import_image(Path(entry["tar"]), entry["image"])
                for name, entry in sorted(index.items()) if entry["image"] in used}
    REPORT.append(f"{len(imported)} stand-in images imported in {time.monotonic() - began:.0f}s")
    return imported


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real-chart")
    args = ["build", "--release", RELEASE, "--out", str(out), "--quiet"]
    for overlay in OVERLAYS:
        args += ["--overlay", str(REPO / overlay)]
    subprocess.run([sys.executable, "-m", "chartgen", *args], check=True, cwd=REPO)
    return out / "oaas"


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's own type
    for line in REALPODS_REPORT + REPORT:
        terminalreporter.write_line(line)
