"""chart-testing's `ct install` on the real-pods cluster, driving helm 4: it installs the umbrella
(`helm install --wait`), runs its `helm test` pods and uninstalls it. This is the product card's
"tested with chart-testing" done on real kubelets, and the suite's helm 4 *install* (the OpenStack
module installs with helm 3 and upgrades with helm 4).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import REPO, RealCluster  # noqa: E402
from summary import REPORT  # noqa: E402

pytestmark = pytest.mark.realpods

HELM_TIMEOUT = "40m"
CT_TIMEOUT = 3000  # seconds: install, test pods and uninstall of the whole umbrella
VOLUMES = 8


def helm4_first_on_path(folder: Path) -> str:
    """A PATH where `helm` is the project's helm 4 and `kubectl` the control plane's: ct calls both by name."""
    tools = Path(os.environ.get("CHARTGEN_TOOLS_DIR", REPO / ".tools"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "helm").symlink_to(tools / "bin" / "helm4")
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_ct_install_with_helm4_installs_and_helm_test_passes(
        real_cluster: RealCluster, busybox: str, standin_images: dict[str, str], chart: Path, tmp_path: Path) -> None:
    namespace = f"ct-{uuid.uuid4().hex[:6]}"
    real_cluster.kubectl("create", "namespace", namespace)
    real_cluster.add_persistent_volumes(VOLUMES)
    # ct runs `helm dependency build` in the chart folder: a copy keeps the built chart untouched.
    charts = tmp_path / "charts"
    shutil.copytree(chart, charts / chart.name)
    # ct installs once per ci/*-values.yaml. The scaled case (every quorum service at 5, with
    # required anti-affinity) needs five nodes; the kwok e2e and ct lint cover it. One real node
    # runs the compiled defaults.
    for values in (charts / chart.name / "ci").glob("*-values.yaml"):
        if values.name != "default-values.yaml":
            values.unlink()
    env = {**real_cluster.env(), "PATH": helm4_first_on_path(tmp_path / "bin"),
           "HELM_CACHE_HOME": str(tmp_path / "helm" / "cache"), "HELM_CONFIG_HOME": str(tmp_path / "helm" / "config"),
           "HELM_DATA_HOME": str(tmp_path / "helm" / "data")}
    command = [str(Path(os.environ.get("CHARTGEN_TOOLS_DIR", REPO / ".tools")) / "bin" / "ct"), "install",
               "--charts", str(charts / chart.name), "--chart-dirs", str(charts),
               "--namespace", namespace, "--release-name", "oaas",
               "--helm-extra-args", f"--timeout {HELM_TIMEOUT}"]
    began = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=CT_TIMEOUT, cwd=tmp_path)
    finally:
        real_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    seconds = time.monotonic() - began
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"ct install failed ({result.returncode}) after {seconds:.0f}s:\n" + "\n".join(output.splitlines()[-60:])
    # A run that installed nothing, or ran no test pod, must not pass.
    assert "All charts installed successfully" in output, output[-3000:]
    assert re.search(r"^Phase:\s+Succeeded", output, re.MULTILINE), f"no helm test pod ran:\n{output[-3000:]}"
    REPORT.append(f"ct install (helm 4 install --wait, helm test, uninstall): {seconds:.0f}s")
