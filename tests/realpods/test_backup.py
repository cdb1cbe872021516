"""Galera backups on real pods: the backup CronJob of blueprints/galera.yaml (mariadb-backup)
takes a full backup, then an incremental one after more rows; a table is dropped; the restore Job
(jobs.backup.restore.enabled) brings back every row. Each backup run verifies the backup it took
by restoring its chain into a scratch server, and its Job's exit code is the verdict: a damaged
backup file in the chain fails the next run's verification.

The tests of this module run in order on one installation of galera alone (one member).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import installs  # noqa: E402
from cluster import RealCluster  # noqa: E402
from summary import REPORT  # noqa: E402

pytestmark = [pytest.mark.realpods, pytest.mark.steps]

MEMBER = "oaas-galera-server-0"
CRONJOB = "oaas-galera-backup"
JOB_TIMEOUT = 600


class Backups:
    """One installation of galera with backups on; SQL through the member's own mysql client."""

    def __init__(self, cluster: RealCluster, namespace: str, chart: Path):
        self.cluster, self.namespace, self.chart = cluster, namespace, chart

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.cluster.kubectl("--namespace", self.namespace, *args, check=check)

    def sql(self, statement: str) -> str:
        result = self.kubectl("exec", MEMBER, "-c", "server", "--", "mysql", "-uroot", "-N", "-B", "-e", statement, check=False)
        assert result.returncode == 0, f"{statement}: {result.stdout}{result.stderr}"
        return result.stdout.strip()

    def run_job(self, create: list[str], name: str) -> tuple[bool, str, float]:
        """Create a Job, wait until it completed or failed: (succeeded, its pod's log, seconds)."""
        began = time.monotonic()
        self.kubectl(*create)
        succeeded, log = self.outcome(name)
        return succeeded, log, time.monotonic() - began

    def outcome(self, name: str) -> tuple[bool, str]:
        """Wait until Job `name` completed or failed: (succeeded, its pod's log)."""
        def status() -> dict:
            return self.cluster.kubectl_json("get", "job", name, "--namespace", self.namespace).get("status", {})

        def finished(state: dict) -> bool:
            return bool(state.get("succeeded") or state.get("failed"))

        self.cluster.wait_for(f"job {name} finished", lambda: finished(status()), timeout=JOB_TIMEOUT)
        return bool(status().get("succeeded")), self.kubectl("logs", f"job/{name}", check=False).stdout

    def backup_now(self) -> tuple[bool, str, float]:
        name = f"backup-{uuid.uuid4().hex[:6]}"
        return self.run_job(["create", "job", name, f"--from=cronjob/{CRONJOB}"], name)


def verdict(log: str) -> str:
    found = [line for line in log.splitlines() if "VERIFY" in line or "FAILED" in line or "RESTORE" in line]
    return found[-1] if found else log[-1500:]


@pytest.fixture(scope="module")
def backups(real_cluster: RealCluster, busybox: str, tmp_path_factory: pytest.TempPathFactory):  # busybox: global.waitImage
    # Two volumes: the member's datadir and the backups.
    with installs.installed_alone(real_cluster, overlay="tests/realpods/galera-backup.yaml", standins=("mariadb-server", "haproxy"),
                                  volumes=2, out=tmp_path_factory.mktemp("galera-backup-chart"),
                                  namespace_prefix="backup") as installed:
        REPORT.append(f"backup: galera (1 member) with backups on, helm 4 install --wait in {installed.install_seconds:.0f}s")
        yield Backups(real_cluster, installed.namespace, installed.chart)


def rows(backups: Backups) -> set[str]:
    return set(backups.sql("SELECT note FROM e2e.notes").split())


def take_verified_backup(backups: Backups, level: int, what: str) -> None:
    """Run the CronJob now: the backup of `level` is taken and verified (its Job succeeds)."""
    ok, log, seconds = backups.backup_now()
    assert ok, log[-3000:]
    assert f"level {level} of a cycle of 3" in log and "VERIFY OK" in log, log[-3000:]
    REPORT.append(f"backup: {what} backup taken and verified in {seconds:.0f}s: {verdict(log)} | "
                  + next(line for line in log.splitlines() if "bytes in" in line))


def test_a_full_backup_is_taken_and_verified(backups: Backups) -> None:
    backups.sql("CREATE DATABASE e2e; CREATE TABLE e2e.notes (note VARCHAR(64) PRIMARY KEY); "
                "CREATE TABLE e2e.kept (id INT PRIMARY KEY); INSERT INTO e2e.kept VALUES (1), (2), (3)")
    backups.sql("INSERT INTO e2e.notes VALUES " + ", ".join(f"('full-{index}')" for index in range(200)))
    take_verified_backup(backups, level=0, what="full")


def test_an_incremental_backup_holds_the_new_rows(backups: Backups) -> None:
    backups.sql("INSERT INTO e2e.notes VALUES " + ", ".join(f"('incremental-{index}')" for index in range(100)))
    take_verified_backup(backups, level=1, what="incremental")


def test_a_dropped_table_is_restored_with_every_row(backups: Backups) -> None:
    before = rows(backups)
    assert len(before) == 300
    backups.sql("DROP TABLE e2e.notes")
    began = time.monotonic()
    backups.cluster.helm("upgrade", "oaas", str(backups.chart), "--namespace", backups.namespace, "--reuse-values",
                         "--set", "galera.jobs.backup.restore.enabled=true", "--wait", "--timeout", "10m", major=4, timeout=900)
    jobs = backups.cluster.kubectl_json("get", "jobs", "--namespace", backups.namespace)["items"]
    found = [job["metadata"]["name"] for job in jobs if job["metadata"]["name"].startswith("oaas-galera-backup-restore-")]
    assert found, [job["metadata"]["name"] for job in jobs]
    _, log = backups.outcome(found[0])
    assert "RESTORE OK" in log, log[-3000:]
    assert rows(backups) == before
    assert backups.sql("SELECT COUNT(*) FROM e2e.kept") == "3"
    REPORT.append(f"backup: table dropped, restored by the restore Job with all {len(before)} rows in "
                  f"{time.monotonic() - began:.0f}s (helm upgrade included): {verdict(log)}")
    backups.cluster.helm("upgrade", "oaas", str(backups.chart), "--namespace", backups.namespace, "--reuse-values",
                         "--set", "galera.jobs.backup.restore.enabled=false", major=4, timeout=900)


def test_a_damaged_backup_fails_the_next_verification(backups: Backups) -> None:
    """A byte of the full backup changed on the claim: the next run (an incremental on top of it)
    must fail its verification, with the Job failed and the verdict in its log."""
    damage = ("import json,os; d='/backups'; c=json.load(open(d+'/catalog.json'))['backups']; "
              "p=os.path.join(d,c[0]['file']); f=open(p,'r+b'); f.seek(os.path.getsize(p)//2); b=f.read(1); "
              "f.seek(-1,1); f.write(bytes([b[0]^255])); f.close(); print('damaged', p)")
    name = f"damage-{uuid.uuid4().hex[:6]}"
    # The CronJob's own pod (same claims, user and node), with another command.
    cronjob = backups.cluster.kubectl_json("get", "cronjob", CRONJOB, "--namespace", backups.namespace)
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": cronjob["spec"]["jobTemplate"]["spec"]}
    job["spec"]["template"]["spec"]["containers"][0]["command"] = ["python3", "-c", damage]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as manifest:
        json.dump(job, manifest)
    try:
        ok, log, _ = backups.run_job(["apply", "-f", manifest.name], name)
    finally:
        Path(manifest.name).unlink()
    assert ok and "damaged" in log, log
    ok, log, seconds = backups.backup_now()
    assert not ok, log[-3000:]
    assert "VERIFY FAILED" in log and "checksum" in log, log[-3000:]
    REPORT.append(f"backup: damaged full backup -> the next run's Job failed in {seconds:.0f}s: {verdict(log)}")
