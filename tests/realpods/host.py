"""What a real node changes on this machine, and how to take it all back.

A kubelet and containerd leave traces outside their folders: an address on
`lo`, a bridge, iptables chains (KUBE-*) and our FORWARD rule, the NetworkPolicy
engine's ipsets, cgroups, mounts
(overlay roots, shm, tmpfs volumes, network namespaces), shims and container
processes re-parented to init, a few sysctls, links in /var/log/containers and
CNI result files. `Host` finds each of them by a name or path prefix that is
ours alone, so teardown and the stale-run cleaner (`python
tests/realpods/host.py --clean`) use the same code, and `leftovers()` lists
whatever is still there (empty after a good teardown).

Standard library only; needs root and the iptables, ipset and iproute2 commands.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

# Sysctls the kubelet (kernel tunables), kube-proxy and the bridge CNI plugin
# may change; restored at teardown to what they were before.
WATCHED_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
    "vm.overcommit_memory",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
)
IPTABLES = ("iptables", "ip6tables")
# leftovers() lines another program's save-and-restore can bring back, and
# how often clean() sweeps them again.
RESURRECTABLE = tuple(f"{binary}:" for binary in IPTABLES) + ("ipset ",)
SWEEP_ROUNDS, SWEEP_PAUSE = 5, 1.0
TABLES = ("filter", "nat", "mangle", "raw")
BUILTIN_CHAINS = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
CONTAINER_LOG_LINKS = Path("/var/log/containers")
CNI_RESULTS = Path("/var/lib/cni/results")
# Folders created whatever the configuration says (the kubelet's device-plugin
# socket folder, containerd 1.6's shim sockets in /run/containerd/s): removed
# if a run created them.
HARD_CODED_FOLDERS = (CONTAINER_LOG_LINKS, Path("/var/lib/kubelet"), Path("/var/lib/cni"), Path("/run/containerd"))


class HostError(RuntimeError):
    """A host command failed (the message names it)."""


def run(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HostError(f"`{shlex.join(args)}` did not finish within {timeout:.0f}s") from None
    if check and result.returncode != 0:
        raise HostError(f"`{shlex.join(args)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result


# ---------------------------------------------------------------- processes

def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name in stat may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":  # a zombie holds nothing; its parent reaps it
            continue
        table[int(entry.name)] = (int(fields[1]), cmdline.strip())
    return table


def with_descendants(roots: set[int], table: dict[int, tuple[int, str]]) -> set[int]:
    found = set(roots) & table.keys()
    while True:
        more = {pid for pid, (ppid, _) in table.items() if ppid in found} - found
        if not more:
            return found
        found |= more


def kill_and_wait(pids: set[int], what: str, timeout: float = 15) -> list[str]:
    """SIGKILL the processes and wait until they are gone; return those that stayed."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = pids & process_table().keys()
        if not alive:
            return []
        time.sleep(0.2)
    table = process_table()
    return [f"{what} process {pid} survived SIGKILL for {timeout:.0f}s: {table[pid][1][:120]}"
            for pid in sorted(pids & table.keys())]


# ---------------------------------------------------------------- mounts

def _unescape_mountinfo(path: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \\ooo octal.
    return path.encode().decode("unicode_escape").encode("latin-1").decode(errors="replace")


def mounts_under(prefix: str) -> list[str]:
    """Mount points whose path starts with `prefix`, deepest first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape_mountinfo(line.split()[4])
        if point.startswith(prefix):
            points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def unmount_all(prefix: str, passes: int = 4) -> list[str]:
    """Unmount everything under `prefix` (lazily when busy); return what stays mounted."""
    for _ in range(passes):
        points = mounts_under(prefix)
        if not points:
            return []
        for point in points:
            if run("umount", point, check=False).returncode != 0:
                run("umount", "-l", point, check=False)
    return mounts_under(prefix)


# ---------------------------------------------------------------- iptables

def iptables_save(binary: str) -> list[str]:
    if shutil.which(f"{binary}-save") is None:
        return []
    return run(f"{binary}-save", check=False).stdout.splitlines()


def ours_in_rules(lines: list[str], bridge: str, kube_chains: bool = True) -> list[str]:
    """Lines of iptables-save output that name our bridge (or belong to Kubernetes)."""
    return [line for line in lines
            if (bridge in line or (kube_chains and "KUBE-" in line)) and not line.startswith("#")]


def remove_rules(binary: str, bridge: str, kube_chains: bool = True) -> None:
    """Delete the rules naming our bridge and (kube_chains) every KUBE-* chain and rule."""
    table = None
    chains: dict[str, list[str]] = {}
    deletions: list[tuple[str, list[str]]] = []
    for line in iptables_save(binary):
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":KUBE-") and table and kube_chains:
            chains.setdefault(table, []).append(line[1:].split()[0])
        elif line.startswith("-A ") and table:
            chain = line.split()[1]
            if chain in BUILTIN_CHAINS and ours_in_rules([line], bridge, kube_chains):
                deletions.append((table, shlex.split(line)[1:]))
    for table, rule in deletions:
        run(binary, "-w", "5", "-t", table, "-D", *rule, check=False)
    for table, names in chains.items():
        for chain in names:  # flush all first: KUBE chains jump to each other
            run(binary, "-w", "5", "-t", table, "-F", chain, check=False)
        for chain in names:
            run(binary, "-w", "5", "-t", table, "-X", chain, check=False)


# ---------------------------------------------------------------- ipsets

# kube-router's NetworkPolicy sets: KUBE-SRC-*, KUBE-DST-*, kube-router-* (and
# their inet6: twins when IPv6 is on).
IPSET_PREFIXES = ("KUBE-", "kube-router-", "inet6:KUBE-", "inet6:kube-router-")


def ipsets_named(prefixes: tuple[str, ...]) -> list[str]:
    if not prefixes or shutil.which("ipset") is None:
        return []
    names = run("ipset", "list", "-n", check=False).stdout.split()
    return sorted(name for name in names if name.startswith(prefixes))


def destroy_ipsets(prefixes: tuple[str, ...]) -> None:
    # Sets are referenced by rules: run after the rule sweep. A set one of
    # our sets lists (list:set) must go first: two passes.
    for _ in range(2):
        for name in ipsets_named(prefixes):
            run("ipset", "destroy", name, check=False)


# ---------------------------------------------------------------- sysctls

def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def read_sysctls() -> dict[str, str]:
    values = {}
    for name in WATCHED_SYSCTLS:
        try:
            values[name] = _sysctl_path(name).read_text().strip()
        except OSError:
            pass  # module not loaded (conntrack): nothing to restore
    return values


def write_sysctl(name: str, value: str) -> None:
    try:
        _sysctl_path(name).write_text(value + "\n")
    except OSError:
        pass


# ---------------------------------------------------------------- the host

@dataclass
class Host:
    """The traces of one real node, found by names and a path prefix of ours."""

    node_ip: str
    bridge: str
    cgroup_parent: str
    cni_network: str
    # Path prefix of the cluster's temporary folder(s): a folder, or the
    # common prefix of every run's folder for the stale-run cleaner.
    prefix: str
    state_file: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "chartgen-realpods.host.json")
    # Traces any node leaves under fixed names (KUBE-* chains, the folders
    # the kubelet hard-codes) are ours, as only one real-pods cluster runs at
    # a time; False only to test this module beside a running cluster.
    owns_shared_traces: bool = True
    # Name prefixes of the ipsets that are ours; None: the NetworkPolicy
    # engine's (shared names, so only when owns_shared_traces).
    ipset_prefixes: tuple[str, ...] | None = None

    # -- changes made at start

    def save_state(self) -> None:
        """Record what teardown must restore, for us and for a later cleaner."""
        if not self.state_file.exists():
            absent = [str(p) for p in HARD_CODED_FOLDERS if not p.exists()] if self.owns_shared_traces else []
            state = {"sysctls": read_sysctls(), "absent_folders": absent}
            self.state_file.write_text(json.dumps(state, indent=1))
        self._state = json.loads(self.state_file.read_text())

    def _saved_state(self) -> dict:
        # Kept in memory too: leftovers() still works after clean() removed the file.
        if getattr(self, "_state", None) is None:
            try:
                self._state = json.loads(self.state_file.read_text())
            except (OSError, ValueError):
                return {}
        return self._state

    def add_node_address(self) -> None:
        run("ip", "addr", "add", f"{self.node_ip}/32", "dev", "lo")

    def add_forward_drop(self) -> None:
        # The bridge plugin turns ip_forward on: pod traffic must not leave
        # the machine. Pod -> pod stays on the bridge; pod -> host is INPUT.
        run("iptables", "-w", "5", "-I", "FORWARD", "-i", self.bridge, "!", "-o", self.bridge, "-j", "DROP")

    def make_cgroup_parents(self) -> None:
        """The kubelet's cgroupRoot, in every hierarchy (the kubelet requires it to exist)."""
        for mount in self.cgroup_mounts():
            path = mount / self.cgroup_parent
            path.mkdir(exist_ok=True)
            # A new cpuset cgroup starts with no CPUs and no memory nodes.
            for knob in ("cpuset.cpus", "cpuset.mems"):
                if (mount / knob).exists() and not (path / knob).read_text().strip():
                    (path / knob).write_text((mount / knob).read_text())

    # -- finding

    @staticmethod
    def cgroup_mounts() -> list[Path]:
        mounts = []
        for line in Path("/proc/self/mounts").read_text().splitlines():
            _, point, fstype, *_ = line.split()
            if fstype in ("cgroup", "cgroup2"):
                mounts.append(Path(point))
        return mounts

    def processes(self) -> set[int]:
        """Processes whose command line names our folder (components, shims), and their children."""
        table = process_table()
        roots = {pid for pid, (_, cmdline) in table.items() if self.prefix in cmdline and pid != os.getpid()}
        return with_descendants(roots, table)

    def _ipset_prefixes(self) -> tuple[str, ...]:
        if self.ipset_prefixes is not None:
            return self.ipset_prefixes
        return IPSET_PREFIXES if self.owns_shared_traces else ()

    def _ip_has_address(self) -> bool:
        return f" {self.node_ip}/" in run("ip", "-o", "addr", "show", "dev", "lo", check=False).stdout

    def _link_exists(self) -> bool:
        return run("ip", "link", "show", self.bridge, check=False).returncode == 0

    def _cgroup_dirs(self) -> list[Path]:
        return [m / self.cgroup_parent for m in self.cgroup_mounts() if (m / self.cgroup_parent).exists()]

    def _log_links(self) -> list[Path]:
        if not CONTAINER_LOG_LINKS.is_dir():
            return []
        return [link for link in CONTAINER_LOG_LINKS.iterdir()
                if link.is_symlink() and os.readlink(link).startswith(self.prefix)]

    def _cni_results(self) -> list[Path]:
        return sorted(CNI_RESULTS.glob(f"{self.cni_network}-*")) if CNI_RESULTS.is_dir() else []

    def _created_folders(self) -> list[Path]:
        return [Path(p) for p in self._saved_state().get("absent_folders", []) if Path(p).exists()]

    def _changed_sysctls(self) -> dict[str, tuple[str, str]]:
        before = self._saved_state().get("sysctls", {})
        now = read_sysctls()
        return {name: (value, now[name]) for name, value in before.items() if now.get(name, value) != value}

    def _folders(self) -> list[Path]:
        parent = Path(self.prefix).parent
        name = Path(self.prefix).name
        return sorted(p for p in parent.glob(f"{name}*") if p.is_dir())

    def leftovers(self) -> list[str]:
        """Everything of ours still on the machine, one line each; empty when clean."""
        found = []
        table = process_table()
        found += [f"process {pid}: {table[pid][1][:120]}" for pid in sorted(self.processes()) if pid in table]
        found += [f"mount {point}" for point in mounts_under(self.prefix)]
        for binary in IPTABLES:
            found += [f"{binary}: {line}"
                      for line in ours_in_rules(iptables_save(binary), self.bridge, self.owns_shared_traces)]
        found += [f"ipset {name}" for name in ipsets_named(self._ipset_prefixes())]
        if self._ip_has_address():
            found.append(f"address {self.node_ip} on lo")
        if self._link_exists():
            found.append(f"link {self.bridge}")
        found += [f"cgroup {path}" for path in self._cgroup_dirs()]
        found += [f"log link {link}" for link in self._log_links()]
        found += [f"CNI result {path}" for path in self._cni_results()]
        found += [f"sysctl {name} = {now} (was {was})" for name, (was, now) in self._changed_sysctls().items()]
        found += [f"created folder {path}" for path in self._created_folders()]
        found += [f"folder {path}" for path in self._folders()]
        return found

    # -- taking it back

    def clean(self, kube_proxy: Path | None = None) -> list[str]:
        """Remove every trace; return what could not be removed (empty when clean).

        Order matters: processes first (they hold mounts and recreate rules),
        then mounts, then the network and kernel state, then the folders. A
        step that fails or hangs is reported and the next one still runs.
        """
        problems: list[str] = []
        rule_and_set_sweep = [
            *((f"{binary} rules", lambda b=binary: remove_rules(b, self.bridge, self.owns_shared_traces))
              for binary in IPTABLES),
            ("ipsets", lambda: destroy_ipsets(self._ipset_prefixes())),
        ]
        steps = [
            ("kill processes", lambda: problems.extend(kill_and_wait(self.processes(), "cluster"))),
            ("unmount", lambda: problems.extend(f"still mounted: {p}" for p in unmount_all(self.prefix))),
            ("kube-proxy --cleanup", lambda: self._kube_proxy_cleanup(kube_proxy)),
            *rule_and_set_sweep,
            ("node address", self._remove_address_and_bridge),
            ("cgroups", lambda: problems.extend(self._remove_cgroups())),
            ("files and sysctls", self._remove_files_and_restore_sysctls),
        ]
        self._run_steps(steps, problems)
        # A policy engine of another cluster on this machine (kube-router
        # saves and restores whole iptables tables and ipset lists) can put
        # back a rule or set removed while it was between save and restore.
        for _ in range(SWEEP_ROUNDS):
            if not any(line.startswith(RESURRECTABLE) for line in self.leftovers()):
                break
            time.sleep(SWEEP_PAUSE)
            self._run_steps(rule_and_set_sweep, problems)
        problems += self.leftovers()
        if not problems:
            self.state_file.unlink(missing_ok=True)
        return problems

    @staticmethod
    def _run_steps(steps: list[tuple[str, Callable[[], object]]], problems: list[str]) -> None:
        for what, step in steps:
            try:
                step()
            except (HostError, OSError, subprocess.SubprocessError) as err:
                problems.append(f"{what}: {err}")

    def _kube_proxy_cleanup(self, kube_proxy: Path | None) -> None:
        # kube-proxy knows its own chains and the nftables side (if any);
        # its exit code is no verdict: the rule sweep and leftovers() are.
        if kube_proxy is not None and kube_proxy.is_file() and self.owns_shared_traces:
            run(str(kube_proxy), "--cleanup", check=False, timeout=60)

    def _remove_address_and_bridge(self) -> None:
        if self._ip_has_address():
            run("ip", "addr", "del", f"{self.node_ip}/32", "dev", "lo", check=False)
        if self._link_exists():
            run("ip", "link", "del", self.bridge, check=False)

    def _remove_files_and_restore_sysctls(self) -> None:
        for path in [*self._log_links(), *self._cni_results()]:
            path.unlink(missing_ok=True)
        for name, (was, _) in self._changed_sysctls().items():
            write_sysctl(name, was)
        for folder in [*self._created_folders(), *self._folders()]:
            shutil.rmtree(folder, ignore_errors=True)

    def _remove_cgroups(self, timeout: float = 10) -> list[str]:
        # Depth first; a cgroup whose last task just died can take a moment to empty.
        deadline = time.monotonic() + timeout
        while True:
            for root in self._cgroup_dirs():
                for folder, _, _ in os.walk(root, topdown=False):
                    try:
                        os.rmdir(folder)
                    except OSError:
                        pass
            left = self._cgroup_dirs()
            if not left or time.monotonic() > deadline:
                return [f"cgroup not removable: {path}" for path in left]
            time.sleep(0.2)


def main(argv: list[str]) -> int:
    """`host.py --clean`: remove what a killed run left behind (needs root)."""
    if argv != ["--clean"]:
        print("usage: python tests/realpods/host.py --clean", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cluster import host_of_every_run, kube_proxy_binary  # noqa: PLC0415 - avoids an import cycle

    host = host_of_every_run()
    before = host.leftovers()
    problems = host.clean(kube_proxy_binary())
    for line in before:
        print(f"removed: {line}")
    for line in problems:
        print(f"NOT removed: {line}", file=sys.stderr)
    print("real-pods host state: " + ("clean" if not problems else f"{len(problems)} traces left"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
