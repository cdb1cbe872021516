"""A real Kubernetes cluster on this machine: pods really run.

The control plane of tests/e2e/controlplane.py (etcd, kube-apiserver,
controller-manager, scheduler) plus one real node: containerd (own config,
root, state and socket), the kubelet, kube-proxy in iptables mode, a bridge CNI
network on a private pod range, kube-router's firewall controller enforcing
NetworkPolicies (iptables and ipsets; see tools/control-plane.env for why not
kube-network-policies), and CoreDNS as a Deployment. The API server
binds and advertises the node's address, which lives on `lo` (no dummy links
here, and a node IP cannot be loopback), so pods reach it through the
`kubernetes` Service. kwok may add fake compute/network nodes beside the real
one (it only manages nodes annotated as fake). Images come from OCI archives
(`import_image`): there is no registry.

One real node: two cores do not hold three kubelets, three containerds and
three members each of galera and rabbitmq within CI time.

The node's names, addresses and configuration files are in nodeconfig.py;
what it changes on the machine, and how teardown takes it back, in host.py.
Why each setting: ../../../shared/reference/real-cluster.md (the pitfalls of
these machines: no CAP_SYS_RESOURCE, cgroup v1, no systemd, no registry).

    with RealCluster(node_labels={"controller": "true"}) as cluster:
        cluster.import_image(Path("keystone.tar"), "docker.io/local/keystone:2025.1")
        cluster.kubectl("get", "pods", "-A")
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from controlplane import REPO, SERVICE_CIDR, ControlPlane, ControlPlaneError  # noqa: E402
from host import Host, HostError, kill_and_wait, process_table, unmount_all, with_descendants  # noqa: E402

import addons  # noqa: E402
import images  # noqa: E402
from nodeconfig import (  # noqa: E402
    BRIDGE, CGROUP_PARENT, CNI_BIN_DIR, CNI_NETWORK, NODE_IP, NODE_NAME, PAUSE_IMAGE)
import nodeconfig  # noqa: E402

WORKDIR_PREFIX = "chartgen-realpods-"
BUSYBOX_IMAGE = "docker.io/local/busybox:chartgen"
FAKE_NODES = {"compute": 1, "network": 1}
# Pods with no role selector may land on a kwok node, where nothing runs:
# test pods that must really run select the real node with this label.
REAL_NODE_SELECTOR = {"chartgen-e2e/node": "real"}
LOCK_FILE = Path(tempfile.gettempdir()) / "chartgen-realpods.lock"
HOST_PROGRAMS = ("containerd", "containerd-shim-runc-v2", "ctr", "runc", "iptables", "ip6tables",
                 "iptables-save", "ipset", "conntrack", "ip", "umount")
# Host processes of the node, stopped first at teardown (nothing may restart pods or rewrite rules).
NODE_AGENTS = ("kubelet", "kube-proxy", "kube-router")
INSTALL_HINT = "run tools/install-node-packages.sh (as root)"
BUILD_HINT = "run tools/build-node.sh"


def coredns_version() -> str:
    for line in (REPO / "tools" / "control-plane.env").read_text().splitlines():
        if line.startswith("COREDNS_VERSION="):
            return line.split("=", 1)[1].strip()
    raise ControlPlaneError("COREDNS_VERSION missing from tools/control-plane.env")


def kube_proxy_binary() -> Path:
    from controlplane import default_bin_dir  # noqa: PLC0415
    return default_bin_dir() / "kube-proxy"


def host_of_every_run() -> Host:
    """The host traces of any run (the stale-run cleaner's view)."""
    return Host(node_ip=NODE_IP, bridge=BRIDGE, cgroup_parent=CGROUP_PARENT, cni_network=CNI_NETWORK,
                prefix=str(Path(tempfile.gettempdir()) / WORKDIR_PREFIX))


class RealCluster(ControlPlane):
    """A control plane with one real node (and optionally kwok nodes); see the module doc.

    Needs root. A missing prerequisite fails start() with one line naming it
    and its fix; every wait has a timeout and names what it waited for.
    """

    workdir_prefix = WORKDIR_PREFIX

    def __init__(self, *, node_labels: dict[str, str], fake_nodes: dict[str, int] | None = None,
                 persistent_volumes: int = 0, startup_timeout: float = 180.0,
                 lock_timeout: float = 900.0, **kwargs: Any) -> None:
        super().__init__(node_counts=FAKE_NODES if fake_nodes is None else fake_nodes,
                         persistent_volumes=persistent_volumes, startup_timeout=startup_timeout,
                         address=NODE_IP, **kwargs)
        self.node_labels = dict(node_labels)
        self.lock_timeout = lock_timeout
        self.image_dir = self.bin_dir.parent / "images"
        self.host = host_of_every_run()
        self.teardown_problems: list[str] = []
        self._lock: Any = None
        self._host_changed = False
        # Set once this cluster changed the machine: its leftovers are then its own.
        self.touched_machine = False

    # ---------------------------------------------------------------- prerequisites

    def _check_binaries(self) -> None:
        super()._check_binaries()
        if os.geteuid() != 0:
            raise ControlPlaneError("real pods need root (containerd, mounts, iptables): run as root")
        missing = [p for p in HOST_PROGRAMS if shutil.which(p) is None]
        missing += [f"{CNI_BIN_DIR}/{p}" for p in ("bridge", "host-local", "loopback")
                    if not (CNI_BIN_DIR / p).is_file()]
        if missing:
            raise ControlPlaneError(f"missing {', '.join(missing)}: {INSTALL_HINT}")
        ours = [self.bin_dir / b for b in NODE_AGENTS]
        ours += [self.image_dir / f"{i}.tar" for i in ("pause", "coredns", "busybox")]
        missing = [str(p) for p in ours if not p.is_file()]
        if missing:
            raise ControlPlaneError(f"missing {', '.join(missing)}: {BUILD_HINT}")
        self._check_cgroups()
        if "overlay" not in Path("/proc/filesystems").read_text():
            run_quietly("modprobe", "overlay")
            if "overlay" not in Path("/proc/filesystems").read_text():
                raise ControlPlaneError("the kernel has no overlay filesystem (containerd's snapshotter): "
                                        "load the overlay module (modprobe overlay)")
        # Last prerequisite, before our folder exists: the machine is ours.
        self._claim_machine()

    @staticmethod
    def _check_cgroups() -> None:
        mounts = {m.name: m for m in Host.cgroup_mounts()}
        v1 = {"cpu", "memory", "pids"} <= mounts.keys() or {"cpu,cpuacct", "memory", "pids"} <= mounts.keys()
        unified = Path("/sys/fs/cgroup/cgroup.controllers")
        v2 = unified.is_file() and {"cpu", "memory", "pids"} <= set(unified.read_text().split())
        if not (v1 or v2):
            raise ControlPlaneError(
                "cgroup trouble: neither cgroup v1 hierarchies cpu, memory and pids under /sys/fs/cgroup "
                f"nor cgroup v2 with those controllers (found {sorted(mounts)}); mount them before "
                "running real pods")

    # ---------------------------------------------------------------- the machine

    def _claim_machine(self) -> None:
        """Take the machine-wide lock, then remove what a killed earlier run left."""
        self._take_lock()
        stale = self.host.leftovers()
        if stale:
            # The lock proves no other real-pods cluster runs: what is there is
            # what a killed run left behind.
            print(f"removing {len(stale)} traces of an earlier real-pods run (e.g. {stale[0]})", file=sys.stderr)
            problems = self.host.clean(kube_proxy_binary())
            if problems:
                raise ControlPlaneError(f"an earlier run left {problems[0]} (and {len(problems) - 1} more); "
                                        "remove it by hand or run make e2e-real-clean")

    def _prepare_host(self) -> None:
        self.host = Host(node_ip=NODE_IP, bridge=BRIDGE, cgroup_parent=CGROUP_PARENT,
                         cni_network=CNI_NETWORK, prefix=str(self.workdir))
        self._host_changed = True
        self.touched_machine = True
        self.host.save_state()
        try:
            self.host.add_node_address()
            self.host.add_forward_drop()
            self.host.make_cgroup_parents()
        except (HostError, OSError) as err:
            raise ControlPlaneError(f"could not prepare the machine for a real node: {err}") from err

    def _take_lock(self) -> None:
        """One real-pods cluster per machine: wait (bounded) for another run to end."""
        if lock_held_by_parent():
            # `flock <LOCK_FILE> pytest ...` already serialises this run: a second lock
            # on the same file would wait for ourselves until the timeout.
            return
        self._lock = open(LOCK_FILE, "a+")
        deadline = time.monotonic() + self.lock_timeout
        told = False
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = Path(LOCK_FILE).read_text().strip() or "?"
                if time.monotonic() > deadline:
                    self._lock.close()
                    self._lock = None
                    raise ControlPlaneError(
                        f"another real-pods cluster (pid {holder}) still runs on this machine after "
                        f"{self.lock_timeout:.0f}s ({LOCK_FILE} is locked): wait for it to finish") from None
                if not told:
                    print(f"waiting up to {self.lock_timeout:.0f}s for the real-pods cluster of pid {holder} "
                          "to finish", file=sys.stderr)
                    told = True
                time.sleep(2)
        self._lock.seek(0)
        self._lock.truncate()
        self._lock.write(f"{os.getpid()}\n")
        self._lock.flush()

    def _identities(self) -> dict[str, tuple[str, str]]:
        # The node authorizer lets the kubelet read exactly its pods' secrets;
        # kube-proxy is bound to system:node-proxier by the default policy.
        return {**super()._identities(),
                "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
                "kube-proxy": ("system:kube-proxy", ""),
                "kube-router": (addons.POLICY_ENGINE_USER, "")}

    def _authorization_modes(self) -> str:
        return "Node,RBAC"

    def _real_node_count(self) -> int:
        return 1

    # ---------------------------------------------------------------- node

    def _start_nodes(self) -> None:
        self._timed("containerd", self._start_containerd)
        self._timed("system-images", self._import_system_images)
        self._timed("kubelet-spawned", self._start_kubelet)
        self._timed("kube-proxy-spawned", self._start_kube_proxy)
        self._timed("network-policy-engine", self._start_policy_engine)

    def _start_containerd(self) -> None:
        self._path("cni", "net.d").mkdir(parents=True)
        cni = nodeconfig.cni_config(self._path("cni", "ipam"))
        self._path("cni", "net.d", "10-chartgen.conflist").write_text(json.dumps(cni, indent=2))
        config = self._path("containerd", "config.toml")
        config.parent.mkdir()
        config.write_text(nodeconfig.containerd_config(self._path("containerd"), self._path("cni", "net.d")))
        self._spawn("containerd", ["--config", str(config)], program=shutil.which("containerd"))
        self.wait_for("containerd to answer on its socket",
                      lambda: self.ctr("version", check=False, timeout=10).returncode == 0, timeout=60)

    @property
    def containerd_socket(self) -> Path:
        return nodeconfig.containerd_socket(self._path("containerd"))

    def _kubelet_config(self) -> dict:
        return nodeconfig.kubelet_config(self.workdir)

    def _import_system_images(self) -> None:
        self.import_image(self.image_dir / "pause.tar", PAUSE_IMAGE)
        self.import_image(self.image_dir / "coredns.tar", f"docker.io/local/coredns:{coredns_version()}")

    def _start_kubelet(self) -> None:
        root = self._path("kubelet")
        root.mkdir()
        config = self._path("kubelet-config.json")
        config.write_text(json.dumps(self._kubelet_config(), indent=2))
        kubeconfig = self._write_kubeconfig("kubelet", self._tokens["kubelet"])
        labels = ",".join(f"{k}={v}" for k, v in sorted({**self.node_labels, **REAL_NODE_SELECTOR}.items()))
        self._spawn("kubelet", [
            f"--config={config}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={root}",
            f"--cert-dir={root / 'pki'}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={NODE_IP}",
            f"--node-labels={labels}",
            "--v=1",
        ])

    def _start_kube_proxy(self) -> None:
        kubeconfig = self._write_kubeconfig("kube-proxy", self._tokens["kube-proxy"])
        config = self._path("kube-proxy-config.json")
        config.write_text(json.dumps(nodeconfig.kube_proxy_config(kubeconfig), indent=2))
        self._spawn("kube-proxy", [f"--config={config}", "--v=1"])

    def _start_policy_engine(self) -> None:
        """kube-router with only its firewall controller: pods stay on the bridge CNI, Services on kube-proxy."""
        self.apply(*addons.policy_engine_rbac())
        kubeconfig = self._write_kubeconfig("kube-router", self._tokens["kube-router"])
        self._spawn("kube-router", [
            f"--kubeconfig={kubeconfig}",
            f"--hostname-override={NODE_NAME}",
            "--run-firewall=true", "--run-router=false", "--run-service-proxy=false", "--enable-cni=false",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--health-port=0", "--metrics-port=0", "--v=1",
        ])
        # Its top chain, hooked into FORWARD, exists once the first full sync is done.
        self.wait_for("kube-router to install its NetworkPolicy chains (KUBE-ROUTER-FORWARD)",
                      lambda: run_quietly("iptables", "-w", "5", "-S", "KUBE-ROUTER-FORWARD") == 0, timeout=60)

    def _start_addons(self) -> None:
        self.timings["node-ready-after"] = round(time.monotonic() - self.started_at, 2)
        self._timed("coredns", self._start_coredns)

    def _start_coredns(self) -> None:
        self.apply(*addons.coredns_objects(f"docker.io/local/coredns:{coredns_version()}", NODE_NAME))
        self.wait_for("Deployment kube-system/coredns to be available (CoreDNS Ready)", self._coredns_ready,
                      timeout=120)

    def _coredns_ready(self) -> bool:
        status = self.api("GET", "/apis/apps/v1/namespaces/kube-system/deployments/coredns").get("status", {})
        return status.get("availableReplicas", 0) >= 1

    # ---------------------------------------------------------------- for tests

    def ctr(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """containerd's own client against this node, in the CRI namespace."""
        command = ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise ControlPlaneError(f"{shlex.join(command)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def import_image(self, oci_tar: Path, name: str) -> str:
        """Import an OCI-layout tar (one image) as `name`; return the name pods use.

        The name is stored fully qualified (`local/x:1` -> `docker.io/local/x:1`),
        the form the CRI resolves, and is the only name created (images.py says
        why); pods refer to it with imagePullPolicy: Never.
        """
        began = time.monotonic()
        ctr = ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io"]
        try:
            ref = images.import_archive(ctr, Path(oci_tar), name)
        except images.ImageError as err:
            raise ControlPlaneError(str(err)) from None
        self.timings[f"import {ref}"] = round(time.monotonic() - began, 2)
        return ref

    def helm(self, *args: str, major: int = 4, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        """Run the project's helm 3 or 4 against this cluster."""
        tools = Path(os.environ.get("CHARTGEN_TOOLS_DIR", REPO / ".tools"))
        helm = tools / "bin" / f"helm{major}"
        env = {**self.env(), "HELM_CACHE_HOME": str(self._path("helm", "cache")),
               "HELM_CONFIG_HOME": str(self._path("helm", "config")),
               "HELM_DATA_HOME": str(self._path("helm", "data"))}
        result = subprocess.run([str(helm), *args], capture_output=True, text=True, env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise ControlPlaneError(f"helm{major} {' '.join(args)} failed ({result.returncode}):\n"
                                    f"{result.stderr.strip()}")
        return result

    def add_persistent_volumes(self, count: int, size: str | None = None) -> list[str]:
        """Static hostPath PVs under our folder, writable by the non-root users of the charts."""
        names = super().add_persistent_volumes(count, size)
        for name in names:
            folder = self._path("volumes", name)
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o777)
        return names

    def memory_mib(self) -> float:
        """Resident memory of every process of the cluster (components, shims, containers)."""
        total = 0
        for pid in self.host.processes() | {c.process.pid for c in self.components}:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    # ---------------------------------------------------------------- teardown

    def stop(self, failed: bool = False) -> None:
        """Stop the node, then the control plane; take back every change to the machine.

        Never raises for what it cannot remove: that goes to teardown_problems
        (and leftovers()), which the test session asserts empty.
        """
        began = time.monotonic()
        if self.workdir is not None and self._host_changed:
            self._timed("teardown-node", self._stop_node)
            self.teardown_problems += [f"still mounted: {p}" for p in unmount_all(str(self.workdir))]
        if failed and self.workdir is not None:
            self.save_logs()
        self._timed("teardown-control-plane", lambda: super(RealCluster, self).stop(failed=failed))
        if self._host_changed:
            self._timed("teardown-host", lambda: self.teardown_problems.extend(
                self.host.clean(kube_proxy_binary())))
            self._host_changed = False
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        self.timings["teardown"] = round(time.monotonic() - began, 2)

    def _stop_node(self) -> None:
        """kubelet, kube-proxy and kube-router first (nothing restarts pods), then containers, then containerd."""
        node = [c for c in self.components if c.name in NODE_AGENTS]
        for component in node:
            self._timed(f"teardown-{component.name}", lambda: self._terminate(component))
        containerd = [c for c in self.components if c.name == "containerd"]
        if containerd and containerd[0].exited() is None:
            self._timed("teardown-tasks", self._remove_tasks)
            self._timed("teardown-containerd", lambda: self._terminate(containerd[0]))
        self.components = [c for c in self.components if c not in node + containerd]
        # Shims and containers outlive containerd (they are re-parented to init).
        control_plane = {c.process.pid for c in self.components}
        leftover = self.host.processes() - with_descendants(control_plane, process_table())
        self.teardown_problems += kill_and_wait(leftover, "node")

    def _remove_tasks(self) -> None:
        # Deleting a task unmounts its root filesystem and ends its shim.
        listing = self.ctr("tasks", "ls", "-q", check=False, timeout=30).stdout.split()
        for task in listing:
            self.ctr("tasks", "kill", "--all", "--signal", "SIGKILL", task, check=False, timeout=30)
        for task in listing:
            self.ctr("tasks", "delete", "--force", task, check=False, timeout=30)

    def save_logs(self) -> Path | None:
        target = super().save_logs()
        if target is not None and self.workdir is not None:
            for extra in ("pod-logs", "kubelet-config.json", "kube-proxy-config.json", "containerd/config.toml",
                          "cni/net.d"):
                source = self._path(extra)
                if source.is_dir():
                    shutil.copytree(source, target / extra.replace("/", "-"), dirs_exist_ok=True, symlinks=True)
                elif source.is_file():
                    shutil.copy2(source, target / extra.replace("/", "-"))
        return target

    def leftovers(self) -> list[str]:
        """What this cluster left on the machine (empty after a good teardown)."""
        return self.host.leftovers()


def lock_held_by_parent() -> bool:
    """Whether this process runs under `flock LOCK_FILE ...` (flock(1) holding the machine's lock)."""
    try:
        argv = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return Path(argv[0].decode(errors="replace")).name == "flock" and str(LOCK_FILE).encode() in argv


def run_quietly(*args: str) -> int:
    return subprocess.run(args, capture_output=True, check=False, timeout=60).returncode
