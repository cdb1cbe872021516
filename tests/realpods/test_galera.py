"""Galera recovers by itself and loses nothing, on real pods: three real MariaDB/Galera members
(tests/realpods/galera-three-members.yaml puts them on the one real node) lose every process at
once, twice (the second time member 2 alone holds the newest row), lose every pod at once, and
lose one member. After each, the cluster is Primary again without anyone's help, bootstrapped by
the member that held the highest committed seqno, and every row written before is there.

The tests of this module run in order on one installation of galera alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import installs  # noqa: E402
from cluster import RealCluster  # noqa: E402
from summary import REPORT  # noqa: E402

pytestmark = pytest.mark.realpods

MEMBERS = [f"oaas-galera-server-{index}" for index in range(3)]
POSITIONS = "oaas-galera-server-positions"
IMAGES = ("mariadb-server", "haproxy")
RECOVERY_TIMEOUT = 900
BOOTSTRAPPED = "this member holds the highest committed seqno"  # recover.py's words when it bootstraps
JOINED = "answers: joining its cluster"


class Galera:
    """One installation of galera in a namespace; SQL through each member's own mysql client."""

    def __init__(self, cluster: RealCluster, namespace: str):
        self.cluster, self.namespace = cluster, namespace

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.cluster.kubectl("--namespace", self.namespace, *args, check=check)  # before exec's `--`

    def sql(self, member: str, statement: str, check: bool = True) -> str:
        result = self.kubectl("exec", member, "-c", "server", "--", "mysql", "-uroot", "-N", "-B", "-e", statement, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{member}: {statement}: {result.stdout}{result.stderr}")
        return result.stdout.strip() if result.returncode == 0 else ""

    def status(self, member: str) -> dict[str, str]:
        """The member's wsrep status; {} while its mysqld does not answer."""
        text = self.sql(member, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status', 'wsrep_cluster_size', "
                                "'wsrep_local_state_comment', 'wsrep_last_committed')", check=False)
        return dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)

    def primary(self, member: str) -> bool:
        return self.status(member).get("wsrep_cluster_status") == "Primary"

    def all_synced(self) -> bool:
        states = [self.status(member) for member in MEMBERS]
        return all(s.get("wsrep_local_state_comment") == "Synced" and s.get("wsrep_cluster_size") == "3" for s in states)

    def container_id(self, member: str) -> str:
        pod = self.cluster.kubectl_json("get", "pod", member, "--namespace", self.namespace)
        found = [s["containerID"] for s in pod["status"].get("containerStatuses", []) if s["name"] == "server" and s.get("containerID")]
        assert found, f"{member} has no running server container"
        return found[0].split("://", 1)[1]

    def kill_every_process(self) -> float:
        """SIGKILL every member's mysqld at once (through containerd, as the OOM killer would)."""
        ids = [self.container_id(member) for member in MEMBERS]
        began = time.monotonic()
        for task in ids:
            self.cluster.ctr("tasks", "kill", "--signal", "SIGKILL", task, timeout=30)
        return began

    def log(self, member: str) -> str:
        return self.kubectl("logs", member, "-c", "server", check=False).stdout

    def records(self) -> dict[str, str]:
        return self.cluster.kubectl_json("get", "configmap", POSITIONS, "--namespace", self.namespace).get("data") or {}

    def wait_until_recovered(self, what: str, began: float) -> tuple[float, float]:
        """Seconds from `began` until a member is Primary, and until all three are Synced in one cluster."""
        self.cluster.wait_for(f"a Primary galera member {what}", lambda: any(self.primary(m) for m in MEMBERS), timeout=RECOVERY_TIMEOUT)
        primary = time.monotonic() - began
        self.cluster.wait_for(f"all three galera members Synced in one cluster {what}", self.all_synced, timeout=RECOVERY_TIMEOUT)
        return primary, time.monotonic() - began

    def pod_uids(self) -> dict[str, str]:
        """Each member's pod uid ('' while it has none)."""
        return {member: self.kubectl("get", "pod", member, "-o", "jsonpath={.metadata.uid}", check=False).stdout.strip()
                for member in MEMBERS}

    def pod_state(self, member: str) -> str:
        """One line: the pod's phase, uid, deletion mark and each container's state and restarts."""
        result = self.kubectl("get", "pod", member, "-o", "json", check=False)
        if result.returncode != 0:
            return f"no pod ({result.stderr.strip()})"
        pod = json.loads(result.stdout)
        containers = [f"{c['name']}: {next(iter(c.get('state', {'?': 0})))} ready={c.get('ready')} restarts={c.get('restartCount')}"
                      for c in pod["status"].get("initContainerStatuses", []) + pod["status"].get("containerStatuses", [])]
        return (f"{pod['status'].get('phase')} uid={pod['metadata']['uid'][:8]} "
                f"deleting={pod['metadata'].get('deletionTimestamp', 'no')} [{'; '.join(containers)}]")

    def explain(self) -> str:
        lines = [f"positions: {json.dumps(self.records(), sort_keys=True)}"]
        lines += [f"pod {member}: {self.pod_state(member)}" for member in MEMBERS]
        for member in MEMBERS:
            lines.append(f"--- {member}: {self.status(member)}")
            lines += [f"    | {line}" for line in self.log(member).splitlines()[-30:]]
            previous = self.kubectl("logs", member, "-c", "server", "--previous", check=False).stdout
            lines += [f"    previous | {line}" for line in previous.splitlines()[-10:]]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def galera(real_cluster: RealCluster, busybox: str, tmp_path_factory: pytest.TempPathFactory):  # busybox: global.waitImage
    with installs.installed_alone(real_cluster, overlay="tests/realpods/galera-three-members.yaml", standins=IMAGES,
                                  volumes=len(MEMBERS), out=tmp_path_factory.mktemp("galera-chart"),
                                  namespace_prefix="galera") as installed:
        REPORT.append(f"galera, 3 members on one real node: helm 4 install --wait in {installed.install_seconds:.0f}s")
        yield Galera(real_cluster, installed.namespace)


def explained(galera: Galera, step) -> None:
    try:
        step()
    except Exception as err:  # noqa: BLE001 - any failure gets the members' state attached
        raise AssertionError(f"{err}\n--- galera ---\n{galera.explain()}") from None


def rows(galera: Galera, member: str) -> set[str]:
    return set(galera.sql(member, "SELECT note FROM e2e.notes").split())


def test_three_members_form_one_cluster(galera: Galera) -> None:
    explained(galera, lambda: galera.cluster.wait_for("three Synced members", galera.all_synced, timeout=300))
    galera.sql(MEMBERS[0], "CREATE DATABASE IF NOT EXISTS e2e; CREATE TABLE IF NOT EXISTS e2e.notes (note VARCHAR(64) PRIMARY KEY)")
    assert set(galera.records()) == set(MEMBERS) and set(galera.records().values()) == {"started"}


def test_every_process_killed_at_once_recovers_with_every_row(galera: Galera) -> None:
    galera.sql(MEMBERS[1], "INSERT INTO e2e.notes VALUES ('before-the-first-outage')")
    began = galera.kill_every_process()
    primary, synced = 0.0, 0.0

    def recover() -> None:
        nonlocal primary, synced
        primary, synced = galera.wait_until_recovered("after every mysqld was killed", began)
        for member in MEMBERS:
            assert "before-the-first-outage" in rows(galera, member), member
        assert sum(BOOTSTRAPPED in galera.log(member) for member in MEMBERS) == 1

    explained(galera, recover)
    REPORT.append(f"galera, every mysqld SIGKILLed at once: Primary after {primary:.0f}s, all 3 Synced after {synced:.0f}s")


def test_the_most_advanced_member_bootstraps_even_when_it_is_member_2(galera: Galera) -> None:
    """Member 2 alone commits the last row: pc.weight keeps it Primary while members 0 and 1 cut
    themselves off (gmcast.isolate); then every process is killed. Member 0 must not bootstrap."""
    last, others = MEMBERS[2], MEMBERS[:2]
    galera.sql(last, "SET GLOBAL wsrep_provider_options = 'pc.weight=3'")
    time.sleep(2)  # the weight change is itself a cluster message
    for member in others:
        galera.sql(member, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'")

    def alone() -> bool:
        state = galera.status(last)
        return state.get("wsrep_cluster_size") == "1" and state.get("wsrep_cluster_status") == "Primary"

    explained(galera, lambda: galera.cluster.wait_for("member 2 Primary on its own", alone, timeout=120))
    galera.sql(last, "INSERT INTO e2e.notes VALUES ('only-member-2-has-it')")
    seqnos = {member: int(galera.status(member).get("wsrep_last_committed", "-1")) for member in MEMBERS}
    assert seqnos[last] > max(seqnos[member] for member in others), seqnos
    began = galera.kill_every_process()
    primary, synced = 0.0, 0.0

    def recover() -> None:
        nonlocal primary, synced
        primary, synced = galera.wait_until_recovered("after member 2 alone committed, then every mysqld was killed", began)
        assert BOOTSTRAPPED in galera.log(last)
        assert not any(BOOTSTRAPPED in galera.log(member) for member in others)
        for member in MEMBERS:
            assert {"before-the-first-outage", "only-member-2-has-it"} <= rows(galera, member), member

    explained(galera, recover)
    REPORT.append(f"galera, member 2 the most advanced, every mysqld SIGKILLed: member 2 bootstrapped; Primary after "
                  f"{primary:.0f}s, all 3 Synced after {synced:.0f}s (seqnos before: {seqnos})")


def test_every_pod_deleted_at_once_recovers_with_every_row(galera: Galera) -> None:
    galera.sql(MEMBERS[0], "INSERT INTO e2e.notes VALUES ('before-the-pods-went')")
    old_pods = galera.pod_uids()
    began = time.monotonic()
    galera.kubectl("delete", "pod", *MEMBERS, "--wait=false")
    primary, synced = 0.0, 0.0

    def recover() -> None:
        nonlocal primary, synced
        galera.cluster.wait_for("every galera member in a new pod", lambda: all(
            uid not in ("", old_pods[member]) for member, uid in galera.pod_uids().items()), timeout=180)
        primary, synced = galera.wait_until_recovered("after every pod was deleted", began)
        for member in MEMBERS:
            assert {"before-the-first-outage", "only-member-2-has-it", "before-the-pods-went"} <= rows(galera, member), member

    explained(galera, recover)
    REPORT.append(f"galera, every pod deleted at once: Primary after {primary:.0f}s, all 3 Synced after {synced:.0f}s")


def test_a_minority_loss_heals_by_state_transfer_without_a_bootstrap(galera: Galera) -> None:
    lost = MEMBERS[1]
    began = time.monotonic()
    galera.kubectl("delete", "pod", lost, "--wait=false")

    def heal() -> None:
        galera.cluster.wait_for(f"{lost} gone from the cluster", lambda: galera.status(MEMBERS[0]).get("wsrep_cluster_size") == "2", timeout=180)
        assert galera.primary(MEMBERS[0]) and galera.primary(MEMBERS[2])  # the majority stays Primary
        galera.sql(MEMBERS[0], "INSERT INTO e2e.notes VALUES ('while-member-1-was-away')")
        galera.cluster.wait_for(f"{lost} back and Synced", galera.all_synced, timeout=RECOVERY_TIMEOUT)
        log = galera.log(lost)
        assert JOINED in log and BOOTSTRAPPED not in log, log[-2000:]
        assert "while-member-1-was-away" in rows(galera, lost)

    explained(galera, heal)
    REPORT.append(f"galera, one member of three deleted: back and Synced (IST/SST, no bootstrap) after {time.monotonic() - began:.0f}s")
