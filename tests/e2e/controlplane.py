"""A real Kubernetes control plane with simulated (kwok) nodes, for e2e tests.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the
upstream binaries built by tools/build-control-plane.sh; kwok plays the
kubelets: it marks the fake nodes Ready, runs pods (Pending -> Running/Ready),
finishes run-to-completion pods and confirms pod deletions. Everything listens
on 127.0.0.1 only and lives in a temporary folder.

tests/realpods/cluster.py extends it with a real node (kubelet, containerd,
kube-proxy): the API server then binds and advertises a node-reachable address
(`address`), and the hooks _start_nodes / _real_node_count / _start_addons
add the node's parts to the same start sequence.

Only the standard library is used (plus the openssl CLI for the PKI), so the
module works before any project dependency is installed.

    with ControlPlane() as cp:
        cp.kubectl("get", "nodes")
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
STAGES_FILE = Path(__file__).resolve().parent / "kwok" / "stages.yaml"

# Node roles of the seed cluster: label `<role>=true`. Quorum services scale to
# 5 replicas with required anti-affinity on controller nodes, hence 5.
DEFAULT_NODE_COUNTS = {"controller": 5, "compute": 2, "network": 2}
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
STORAGE_CLASS = "chartgen-e2e-static"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
LOG_TAIL_LINES = 40
# Taints the apiserver (TaintNodesByCondition) puts on new nodes and the node
# lifecycle controller removes once they are Ready; pods cannot land before.
NOT_READY_TAINTS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}


# Lines the e2e tests want in the terminal summary (sizes, times), printed by conftest.py.
E2E_REPORT: list[str] = []


class ControlPlaneError(RuntimeError):
    """The control plane could not start or a call to it failed."""


def default_bin_dir() -> Path:
    tools = Path(os.environ.get("CHARTGEN_TOOLS_DIR", REPO / ".tools"))
    return tools / "k8s" / "current" / "bin"


def free_port() -> int:
    # The port is released before the component binds it; a collision is
    # possible but unlikely, and shows up as a component exiting at start.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    # If pytest is killed outright (SIGKILL, or a second SIGTERM), take the
    # component along instead of leaving etcd and friends running. Linux
    # only, best effort; the signal follows the *thread* that started it.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        return f"<no log: {err}>"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Component:
    name: str
    process: subprocess.Popen
    log_path: Path

    def exited(self) -> int | None:
        return self.process.poll()


class ControlPlane:
    """Context manager running etcd, the Kubernetes control plane and kwok.

    Failure to start raises ControlPlaneError after tearing everything down and
    saving the logs under <repo>/.e2e-logs/<timestamp>/.
    """

    workdir_prefix = "chartgen-e2e-"

    def __init__(
        self,
        *,
        bin_dir: Path | None = None,
        node_counts: dict[str, int] | None = None,
        persistent_volumes: int = 30,
        volume_size: str = "100Gi",
        volume_binding_mode: str = "Immediate",
        startup_timeout: float = 180.0,
        log_root: Path | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        self.bin_dir = Path(bin_dir) if bin_dir else default_bin_dir()
        self.node_counts = dict(DEFAULT_NODE_COUNTS if node_counts is None else node_counts)
        self.initial_volumes = persistent_volumes
        self.volume_size = volume_size
        self.volume_binding_mode = volume_binding_mode
        # Where the API server binds and what it advertises (the `kubernetes`
        # Service's endpoint): loopback for kwok, an address pods reach otherwise.
        self.address = address
        self.startup_timeout = startup_timeout
        self.log_root = Path(log_root) if log_root else REPO / ".e2e-logs"

        self.workdir: Path | None = None
        self.kubeconfig: Path | None = None
        self.server: str | None = None
        self.components: list[Component] = []
        self.timings: dict[str, float] = {}
        self.startup_seconds: float | None = None
        self.started_at: float | None = None
        self.saved_logs: Path | None = None
        self._tokens: dict[str, str] = {}
        self._ssl: ssl.SSLContext | None = None
        self._volume_count = 0
        self._previous_sigterm: Any = None

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> "ControlPlane":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        # KeyboardInterrupt is a BaseException and arrives here as well.
        self.stop(failed=exc_type is not None)
        return False

    def start(self) -> None:
        began = self.started_at = time.monotonic()
        self._trap_sigterm()
        try:
            self._check_binaries()
            self.workdir = Path(tempfile.mkdtemp(prefix=self.workdir_prefix))
            self._prepare_host()
            self._timed("pki", self._write_pki)
            self._timed("etcd", self._start_etcd)
            self._timed("kube-apiserver", self._start_apiserver)
            self._start_controllers()
            self._timed("objects", self._create_cluster_objects)
            self._start_nodes()
            self._timed("nodes-ready", self._wait_nodes_ready)
            self._timed("default-serviceaccount", self._wait_default_service_account)
            self._start_addons()
        except BaseException as err:
            self.stop(failed=True)
            if isinstance(err, Exception) and not isinstance(err, ControlPlaneError):
                raise ControlPlaneError(f"control plane failed to start: {err}") from err
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self, failed: bool = False) -> None:
        """Terminate every component; on failure keep and print their logs."""
        # From here on a second SIGTERM ends Python at once (the components
        # then die with it, see _die_with_parent) instead of raising midway.
        self._restore_sigterm()
        for component in reversed(self.components):
            self._terminate(component)
        if failed and self.components:
            self.save_logs()
        self.components = []
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _trap_sigterm(self) -> None:
        # A CI timeout or `kill` sends SIGTERM, which would end Python without
        # running teardown. Raising KeyboardInterrupt instead unwinds through
        # __exit__ (and pytest's fixture finalizers), so logs are kept and the
        # temporary folder goes away. Only where nobody else handles SIGTERM.
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def interrupt(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")

        self._previous_sigterm = signal.signal(signal.SIGTERM, interrupt)

    def _restore_sigterm(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def save_logs(self) -> Path | None:
        """Copy every component log to <log_root>/<timestamp>/ and print tails."""
        if self.workdir is None or self.saved_logs is not None:
            return self.saved_logs
        target = self.log_root / datetime.now().strftime("%Y%m%d-%H%M%S")
        target.mkdir(parents=True, exist_ok=True)
        for log in sorted((self.workdir / "logs").glob("*.log")):
            shutil.copy2(log, target / log.name)
            print(f"\n===== {log.name} (last {LOG_TAIL_LINES} lines) =====", file=sys.stderr)
            print(_tail(log), file=sys.stderr)
        print(f"\ncontrol plane logs kept in {target}", file=sys.stderr)
        self.saved_logs = target
        return target

    def _timed(self, name: str, step: Callable[[], None]) -> None:
        began = time.monotonic()
        step()
        self.timings[name] = round(time.monotonic() - began, 2)

    # Hooks for real nodes (tests/realpods/cluster.py); nothing to do with kwok alone.

    def _prepare_host(self) -> None:
        """Change the machine before anything starts (a real node's address and rules)."""

    def _start_nodes(self) -> None:
        """Start real nodes after the control plane is up (before waiting for Ready)."""

    def _real_node_count(self) -> int:
        return 0

    def _start_addons(self) -> None:
        """Deploy cluster add-ons once the nodes are Ready (CoreDNS on real nodes)."""

    def _identities(self) -> dict[str, tuple[str, str]]:
        """Static token identities: key -> (user name, comma-separated groups)."""
        # The admin is in system:masters; controller-manager and scheduler get
        # the identities the bootstrap RBAC policy is written for.
        return {
            "admin": ("chartgen-e2e-admin", "system:masters"),
            "controller-manager": ("system:kube-controller-manager", ""),
            "scheduler": ("system:kube-scheduler", ""),
        }

    def _authorization_modes(self) -> str:
        return "RBAC"

    def _fake_node_count(self) -> int:
        return sum(self.node_counts.values())

    def _check_binaries(self) -> None:
        missing = [b for b in (*COMPONENTS, "kubectl") if not (self.bin_dir / b).is_file()]
        if missing:
            raise ControlPlaneError(
                f"missing {', '.join(missing)} in {self.bin_dir}; run tools/build-control-plane.sh"
            )

    # ---------------------------------------------------------------- processes

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None,
               program: str | None = None) -> Component:
        """Start a component (our binary `name`, or `program`), logging to logs/<name>.log."""
        logs = self._path("logs")
        logs.mkdir(exist_ok=True)
        log_path = logs / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [program or str(self.bin_dir / name), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
                # Own process group: Ctrl-C in the terminal reaches pytest
                # only, and teardown can signal the whole group.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        component = Component(name, process, log_path)
        self.components.append(component)
        return component

    @staticmethod
    def _terminate(component: Component, grace: float = 10.0) -> None:
        process = component.process
        if process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def _check_alive(self) -> None:
        for component in self.components:
            code = component.exited()
            if code is not None:
                # Its last log line usually names the cause (a bad flag, a port in use).
                last = _tail(component.log_path, 1).strip()[:400]
                raise ControlPlaneError(f"{component.name} exited with code {code} during startup: {last}")

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float | None = None) -> None:
        """Poll `ready` until true; fail early, naming it, if a component died.

        Errors raised by `ready` (API or kubectl failures) count as "not yet".
        """
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if ready():
                    return
            except (OSError, ControlPlaneError, ValueError, KeyError, subprocess.TimeoutExpired) as err:
                last_error = err
            time.sleep(0.25)
        detail = f" (last error: {last_error})" if last_error else ""
        raise ControlPlaneError(f"timed out after {timeout or self.startup_timeout:.0f}s waiting for {what}{detail}")

    # ---------------------------------------------------------------- PKI

    def _path(self, *parts: str) -> Path:
        assert self.workdir is not None, "control plane not started"
        return self.workdir.joinpath(*parts)

    def _openssl(self, *args: str) -> None:
        if shutil.which("openssl") is None:
            raise ControlPlaneError("the openssl CLI is required (Debian package openssl)")
        result = subprocess.run(["openssl", *args], cwd=self._path("pki"), capture_output=True, text=True)
        if result.returncode != 0:
            raise ControlPlaneError(f"openssl {args[0]} failed: {result.stderr.strip()}")

    def _write_pki(self) -> None:
        """A throwaway CA, the apiserver serving cert, the SA key pair, tokens.

        Our own CA (rather than --cert-dir's self-signed cert) gives the
        controller-manager a real --root-ca-file to publish, and lets clients
        verify TLS instead of skipping verification.
        """
        self._path("pki").mkdir()
        self._openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=chartgen-e2e-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )
        names = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local"]
        # 10.96.0.1 is the `kubernetes` Service IP: the first of the range.
        ips = sorted({"127.0.0.1", "10.96.0.1", self.address})
        sans = ",".join([*(f"IP:{ip}" for ip in ips), *(f"DNS:{n}" for n in names)])
        self._openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-CA", "ca.crt", "-CAkey", "ca.key",
            "-keyout", "apiserver.key", "-out", "apiserver.crt", "-subj", "/CN=kube-apiserver",
            "-addext", f"subjectAltName={sans}",
            "-addext", "extendedKeyUsage=serverAuth",
        )
        # The API server's client identity towards kubelets (logs, exec,
        # port-forward); real kubelets authenticate it against our CA.
        self._openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-CA", "ca.crt", "-CAkey", "ca.key",
            "-keyout", "apiserver-kubelet-client.key", "-out", "apiserver-kubelet-client.crt",
            "-subj", "/O=system:masters/CN=kube-apiserver-kubelet-client",
            "-addext", "extendedKeyUsage=clientAuth",
        )
        self._openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key")
        self._openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub")

        lines = []
        for key, (user, groups) in self._identities().items():
            self._tokens[key] = secrets.token_hex(16)
            lines.append(f'{self._tokens[key]},{user},{user}' + (f',"{groups}"' if groups else ""))
        self._path("pki", "tokens.csv").write_text("\n".join(lines) + "\n")
        self._ssl = ssl.create_default_context(cafile=str(self._path("pki", "ca.crt")))

    def _write_kubeconfig(self, name: str, token: str) -> Path:
        # JSON is valid YAML, so every Kubernetes client reads it, and writing
        # it needs no YAML library.
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "chartgen-e2e", "cluster": {
                "server": self.server,
                "certificate-authority": str(self._path("pki", "ca.crt")),
            }}],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": "chartgen-e2e", "context": {"cluster": "chartgen-e2e", "user": name}}],
            "current-context": "chartgen-e2e",
        }
        path = self._path(f"{name}.kubeconfig")
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path

    # ---------------------------------------------------------------- components

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self._spawn("etcd", [
            "--name=e2e",
            f"--data-dir={self._path('etcd')}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=e2e=http://127.0.0.1:{peer}",
            # Throwaway data: durability is not worth the fsync latency.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ])

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2) as response:
                return json.load(response).get("health") == "true"

        self.wait_for("etcd /health", healthy)

    def _start_apiserver(self) -> None:
        port = free_port()
        self.server = f"https://{self.address}:{port}"
        pki = self._path("pki")
        # The `kubernetes` Endpoints may not hold a loopback address; with kwok
        # nothing reaches the apiserver through the Service. Real pods do, so
        # with a real address the default lease reconciler publishes it.
        reconciler = "none" if self.address.startswith("127.") else "lease"
        self._spawn("kube-apiserver", [
            f"--etcd-servers={self.etcd_url}",
            f"--bind-address={self.address}",
            f"--advertise-address={self.address}",
            f"--secure-port={port}",
            f"--endpoint-reconciler-type={reconciler}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--token-auth-file={pki / 'tokens.csv'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--authorization-mode={self._authorization_modes()}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            # Node addresses are loopback; never resolve fake node names.
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false",
        ])
        self.kubeconfig = self._write_kubeconfig("admin", self._tokens["admin"])
        self.wait_for("kube-apiserver /readyz", lambda: self._get_text("/readyz") == "ok")

    def _start_controllers(self) -> None:
        pki = self._path("pki")
        began = time.monotonic()
        kcm_config = self._write_kubeconfig("controller-manager", self._tokens["controller-manager"])
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={kcm_config}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            f"--cert-dir={self._path('kcm-certs')}",
            "--leader-elect=false",
            # All default controllers: PV binder, Job, StatefulSet, Deployment,
            # ReplicaSet, garbage collector, namespace, SA token, ...
            "--controllers=*",
            # Each controller acts as its own ServiceAccount, as with kubeadm,
            # so RBAC is exercised like in the seed cluster.
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            # Otherwise it creates /usr/libexec/kubernetes/... on the host.
            f"--flex-volume-plugin-dir={self._path('flexvolume')}",
        ])
        sched_config = self._write_kubeconfig("scheduler", self._tokens["scheduler"])
        self._spawn("kube-scheduler", [
            f"--kubeconfig={sched_config}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            f"--cert-dir={self._path('scheduler-certs')}",
            "--leader-elect=false",
            # A StatefulSet pod tried while the scheduler's cache does not hold its new claim yet
            # ("pod has unbound immediate PersistentVolumeClaims. not found") was not requeued
            # when the claim arrived and bound (seen on real pods with 1.34.4): it then waited the
            # default 5 minutes. Retry such pods after 30 s instead.
            "--pod-max-in-unschedulable-pods-duration=30s",
        ])
        if self._fake_node_count():
            self._start_kwok()
        self.timings["controllers-spawned"] = round(time.monotonic() - began, 2)

    def _start_kwok(self) -> None:
        # kwok manages only the nodes annotated as fake: never a real kubelet's node.
        kwok_home = self._path("kwok-home")
        kwok_home.mkdir()
        self._spawn("kwok", [
            f"--kubeconfig={self.kubeconfig}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION[0]}={KWOK_ANNOTATION[1]}",
            f"--config={STAGES_FILE}",
            # Fallback host IP for pods, should a node carry no address.
            "--node-ip=127.0.0.1",
            "--node-lease-duration-seconds=40",
        # kwok also reads ~/.kwok/kwok.yaml when it exists; a private HOME
        # keeps a developer's own kwok setup out of the tests.
        ], env={**os.environ, "HOME": str(kwok_home)})

    # ---------------------------------------------------------------- cluster objects

    def _create_cluster_objects(self) -> None:
        self._create("/apis/storage.k8s.io/v1/storageclasses", self._storage_class())
        self.add_persistent_volumes(self.initial_volumes)
        index = 0
        for role, count in self.node_counts.items():
            for ordinal in range(count):
                index += 1
                self._create("/api/v1/nodes", self._node(role, ordinal, index))

    def _storage_class(self) -> dict:
        # Immediate binding: the PV binder in the controller-manager binds a
        # claim as soon as it exists, with no scheduler involvement, and a
        # standalone claim (no pod yet) binds too. Our PVs carry no node
        # affinity, so there is no topology that WaitForFirstConsumer would
        # have to respect.
        return {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS},
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": self.volume_binding_mode,
            "reclaimPolicy": "Retain",
        }

    def _node(self, role: str, ordinal: int, index: int) -> dict:
        name = f"kwok-{role}-{ordinal}"
        # Loopback node address: should anything dial "the kubelet" (kubectl
        # logs/exec), it hits this machine and is refused, never the network.
        address = f"127.0.1.{index}"
        resources = {"cpu": "64", "memory": "256Gi", "pods": "250", "ephemeral-storage": "1Ti"}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {KWOK_ANNOTATION[0]: KWOK_ANNOTATION[1]},
                "labels": {
                    f"{role}": "true",
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            # Per-node pod CIDR so kwok hands out distinct pod IPs per node;
            # these are bookkeeping only, nothing routes or dials them.
            "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "addresses": [{"type": "InternalIP", "address": address}],
                "nodeInfo": {
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "kubeletVersion": "kwok",
                    "containerRuntimeVersion": "kwok",
                    "kernelVersion": "kwok",
                    "osImage": "kwok",
                    "kubeProxyVersion": "",
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                },
            },
        }

    def add_persistent_volumes(self, count: int, size: str | None = None) -> list[str]:
        """Create `count` more static PVs in the e2e StorageClass; return names.

        Each PV offers ReadWriteOnce and ReadWriteMany, so any RWO or RWX claim
        fits any free PV. With kwok nothing mounts the hostPath; a real kubelet
        does (under the temporary folder, removed at the end).
        """
        names = []
        for _ in range(count):
            name = f"chartgen-e2e-pv-{self._volume_count:03d}"
            self._volume_count += 1
            self._create("/api/v1/persistentvolumes", {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name, "labels": {"chartgen-e2e/volume": "static"}},
                "spec": {
                    "capacity": {"storage": size or self.volume_size},
                    "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": STORAGE_CLASS,
                    "hostPath": {"path": str(self._path("volumes", name)), "type": "DirectoryOrCreate"},
                },
            })
            names.append(name)
        return names

    def recycle_released_volumes(self) -> list[str]:
        """Make Released PVs (their claim was deleted) Available again.

        Retain keeps a PV out of circulation after its claim goes away; a
        session-wide control plane would otherwise run out of PVs.
        """
        recycled = []
        for pv in self.api("GET", "/api/v1/persistentvolumes?labelSelector=chartgen-e2e/volume%3Dstatic")["items"]:
            if pv.get("status", {}).get("phase") == "Released":
                name = pv["metadata"]["name"]
                self.api("PATCH", f"/api/v1/persistentvolumes/{name}",
                         [{"op": "remove", "path": "/spec/claimRef"}], content_type="application/json-patch+json")
                recycled.append(name)
        return recycled

    # ---------------------------------------------------------------- readiness

    def _wait_nodes_ready(self) -> None:
        expected = self._fake_node_count() + self._real_node_count()

        def schedulable(node: dict) -> bool:
            conditions = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions", [])}
            taints = {t["key"] for t in node.get("spec", {}).get("taints", [])}
            return conditions.get("Ready") == "True" and not taints & NOT_READY_TAINTS

        def all_ready() -> bool:
            nodes = self.api("GET", "/api/v1/nodes")["items"]
            return sum(schedulable(n) for n in nodes) == expected

        self.wait_for(f"{expected} Ready, untainted nodes", all_ready)

    def _wait_default_service_account(self) -> None:
        # Pods are rejected by the ServiceAccount admission plugin until the
        # controller-manager has created `default` in their namespace.
        def exists() -> bool:
            return self._exists("/api/v1/namespaces/default/serviceaccounts/default")

        self.wait_for("ServiceAccount default/default", exists)

    # ---------------------------------------------------------------- API access

    def _request(self, method: str, path: str, body: Any = None,
                 content_type: str = "application/json") -> urllib.request.Request:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.server}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._tokens['admin']}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        return request

    def _get_text(self, path: str) -> str:
        with urllib.request.urlopen(self._request("GET", path), context=self._ssl, timeout=10) as response:
            return response.read().decode()

    def api(self, method: str, path: str, body: Any = None,
            content_type: str = "application/json") -> Any:
        """Call the API server as admin; returns the decoded JSON answer."""
        try:
            with urllib.request.urlopen(self._request(method, path, body, content_type),
                                        context=self._ssl, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            raise ControlPlaneError(f"{method} {path}: HTTP {err.code}: {detail}") from None

    def _create(self, collection: str, obj: dict) -> dict:
        return self.api("POST", collection, obj)

    def _exists(self, path: str) -> bool:
        try:
            self.api("GET", path)
            return True
        except ControlPlaneError as err:
            if "HTTP 404" in str(err):
                return False
            raise

    # ---------------------------------------------------------------- helpers for tests

    def env(self) -> dict[str, str]:
        """Environment for subprocesses (kubectl, helm) talking to this cluster."""
        assert self.kubeconfig is not None, "control plane not started"
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            # Keep kubectl's discovery cache per run instead of in ~/.kube.
            "KUBECACHEDIR": str(self._path("kube-cache")),
        }

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the control plane's own kubectl; raise on failure unless check=False."""
        result = subprocess.run(
            [str(self.bin_dir / "kubectl"), *args],
            input=input, capture_output=True, text=True, env=self.env(), timeout=timeout,
        )
        if check and result.returncode != 0:
            raise ControlPlaneError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr.strip()}"
            )
        return result

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, *objects: dict, namespace: str | None = None) -> None:
        """`kubectl apply` the given objects (as one JSON List)."""
        args = ["apply", "-f", "-"] + (["--namespace", namespace] if namespace else [])
        self.kubectl(*args, input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))

    def server_version(self) -> dict:
        """The apiserver's /version document (gitVersion, major, minor, ...)."""
        return self.api("GET", "/version")

