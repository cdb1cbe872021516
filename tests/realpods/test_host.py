"""The leftover check of the real-pods teardown can fail: traces planted the
way a node leaves them (a process and its child, a mount, an iptables rule, an
ipset, an address on lo, a bridge, a cgroup, a folder) are each reported, and clean()
removes them all. Names differ from the real cluster's, and KUBE-* chains are
left alone here; the session runs this before it starts the cluster
(conftest.BEFORE_THE_CLUSTER), whose kube-router rewrites the iptables tables
and the ipset list whole."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from host import Host, run

pytestmark = pytest.mark.realpods


@pytest.fixture
def host(tmp_path: Path):
    folder = Path(tempfile.mkdtemp(prefix="chartgen-hosttest-"))
    planted = Host(node_ip="10.250.0.99", bridge="cni-hosttest0", cgroup_parent="chartgen-hosttest",
                   cni_network="chartgen-hosttest", prefix=str(folder), state_file=tmp_path / "state.json",
                   owns_shared_traces=False, ipset_prefixes=("chartgen-hosttest",))
    planted.save_state()
    yield planted
    planted.clean()  # whatever the test left, even when it failed


def test_every_planted_trace_is_reported_then_removed(host: Host):
    folder = Path(host.prefix)
    # A shell named after our folder, and its child (which is not).
    shell = subprocess.Popen(["sh", "-c", "sleep 300; true", str(folder / "marker")])
    (folder / "mnt").mkdir()
    run("mount", "-t", "tmpfs", "tmpfs", str(folder / "mnt"))
    host.add_node_address()
    host.add_forward_drop()
    run("ip", "link", "add", host.bridge, "type", "bridge")
    run("ipset", "create", "-exist", "chartgen-hosttest-pods", "hash:ip")  # -exist: a killed earlier run's may be there
    host.make_cgroup_parents()

    found = host.leftovers()
    for expected in ("process", f"mount {folder}/mnt", f"-A FORWARD -i {host.bridge}",
                     "ipset chartgen-hosttest-pods", f"address {host.node_ip} on lo", f"link {host.bridge}", "cgroup", f"folder {folder}"):
        assert any(expected in line for line in found), (expected, found)
    assert sum(line.startswith("process") for line in found) == 2, found  # the shell and its sleep

    assert host.clean() == []
    assert host.leftovers() == []
    assert shell.wait(timeout=10) == -9
    assert not folder.exists()
