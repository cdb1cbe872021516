"""A service installed alone on the real-pods cluster, as the failover and backup tests need it.

The chart is built for 2025.1 with the real-pods overlays plus the test's own; the stand-in images
it runs are imported as the last image build left them (never built here: `make images`, which
the run of test_openstack.py also drives); it gets a namespace of its own, static volumes and a
Helm 4 `install --wait`, and is uninstalled at the end, even when the test failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

import images
from cluster import REPO, RealCluster

RELEASE = "2025.1"
BASE_OVERLAYS = ("examples/site-small.yaml", "examples/site-single-node.yaml", "tests/realpods/standins-2025.1.yaml")
# global.testImage: every service's secrets Job runs it.
CLIENT_IMAGE = "openstack-client"


@dataclass(frozen=True)
class Installed:
    namespace: str
    chart: Path  # the built umbrella, for later `helm upgrade`s
    install_seconds: float


def build_chart(out: Path, *overlays: str | Path, release: str = RELEASE) -> Path:
    """The umbrella for `release` with the real-pods overlays, then `overlays` (relative to the repository)."""
    args = ["build", "--release", release, "--out", str(out), "--quiet"]
    for path in (*BASE_OVERLAYS, *overlays):
        args += ["--overlay", str(REPO / path)]
    subprocess.run([sys.executable, "-m", "chartgen", *args], check=True, cwd=REPO)
    return out / "oaas"


def import_standins(cluster: RealCluster, names: tuple[str, ...]) -> None:
    try:
        archives = images.standin_archives(RELEASE, (*names, CLIENT_IMAGE))
    except images.ImageError as err:
        pytest.fail(str(err), pytrace=False)
    for archive, image in archives:
        cluster.import_image(archive, image)


@contextmanager
def release_namespace(cluster: RealCluster, prefix: str, volumes: int) -> Iterator[str]:
    """A fresh namespace and `volumes` static volumes for one `oaas` release, which is uninstalled
    (and the namespace deleted) afterwards, even when the test failed."""
    namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.add_persistent_volumes(volumes)
    try:
        yield namespace
    finally:
        cluster.helm("uninstall", "oaas", "--namespace", namespace, "--wait", "--timeout", "10m", major=4,
                     check=False, timeout=900)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@contextmanager
def installed_alone(cluster: RealCluster, *, overlay: str, standins: tuple[str, ...], volumes: int, out: Path,
                    namespace_prefix: str) -> Iterator[Installed]:
    """`overlay` switches the other services off; `standins` are the images its pods run."""
    chart = build_chart(out, overlay)
    import_standins(cluster, standins)
    with release_namespace(cluster, namespace_prefix, volumes) as namespace:
        began = time.monotonic()
        cluster.helm("install", "oaas", str(chart), "--namespace", namespace, "--wait", "--timeout", "20m",
                     major=4, timeout=1500)
        yield Installed(namespace, chart, time.monotonic() - began)
