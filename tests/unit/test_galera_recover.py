"""galera's recover.py (blueprints/galera.yaml, configFiles.recover): which member bootstraps after
an outage. The decision runs on the records every member leaves in the positions ConfigMap; the
position itself is read by a real MariaDB with Galera (mysqld --wsrep-recover after a SIGKILL)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import types
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
MEMBERS = ["oaas-galera-server-0", "oaas-galera-server-1", "oaas-galera-server-2"]
UUID = "6a0d5e1c-7f4b-11ef-9c2f-0242ac110002"
OTHER_UUID = "0b9f2e44-7f4c-11ef-8d11-0242ac110003"


@pytest.fixture(scope="module")
def recover() -> types.ModuleType:
    """The script as its pods run it: the text of the blueprint, executed as a module."""
    blueprint = YAML(typ="safe").load((REPO / "blueprints" / "galera.yaml").read_text(encoding="utf-8"))
    module = types.ModuleType("recover")
    exec(compile(blueprint["configFiles"]["recover"]["content"], "recover.py", "exec"), module.__dict__)  # noqa: S102
    return module


def records(**seqnos: object) -> dict[str, str]:
    """{member: record} from member ordinal keywords: m0=12 -> "uuid:12", m1="started"."""
    return {f"oaas-galera-server-{key[1:]}": value if isinstance(value, str) else f"{UUID}:{value}" for key, value in seqnos.items()}


def test_the_member_with_the_highest_seqno_bootstraps_not_member_0(recover):
    found = records(m0=40, m1=41, m2=57)
    assert recover.decide("oaas-galera-server-2", MEMBERS, found)[0] == "bootstrap"
    for me in MEMBERS[:2]:
        decision, why = recover.decide(me, MEMBERS, found)
        assert decision == "wait"
        assert "oaas-galera-server-2 holds the highest committed seqno 57" in why


def test_a_tie_goes_to_the_lowest_ordinal(recover):
    found = records(m0=9, m1=12, m2=12)
    assert recover.decide("oaas-galera-server-1", MEMBERS, found)[0] == "bootstrap"
    assert recover.decide("oaas-galera-server-2", MEMBERS, found)[0] == "wait"


def test_a_new_cluster_is_bootstrapped_by_member_0(recover):
    new = {name: f"{recover.NO_UUID}:-1" for name in MEMBERS}
    assert [recover.decide(me, MEMBERS, new)[0] for me in MEMBERS] == ["bootstrap", "wait", "wait"]


def test_nobody_bootstraps_while_a_member_may_be_running(recover):
    """A member that started mysqld after its last record may be part of a Primary component."""
    found = records(m0=40, m1="started", m2=57)
    for me in MEMBERS:
        decision, why = recover.decide(me, MEMBERS, found)
        assert decision == "wait"
        assert "oaas-galera-server-1 ran mysqld after its last record" in why


def test_nobody_bootstraps_before_every_member_recorded_its_position(recover):
    found = records(m0=40, m1=41)
    decision, why = recover.decide("oaas-galera-server-1", MEMBERS, found)
    assert (decision, why) == ("wait", "oaas-galera-server-2 has not recorded its position since it last ran (it may hold newer data)")


def test_an_unreadable_record_is_waited_for_like_a_missing_one(recover):
    found = records(m0=40, m1=41, m2="57")
    assert recover.decide("oaas-galera-server-1", MEMBERS, found)[0] == "wait"


def test_a_member_recorded_as_lost_is_not_waited_for(recover):
    found = records(m0=40, m1=41, m2="lost")
    assert recover.decide("oaas-galera-server-1", MEMBERS, found)[0] == "bootstrap"
    assert recover.decide("oaas-galera-server-2", MEMBERS, found)[0] == "wait"


def test_a_member_that_lost_its_data_does_not_win(recover):
    found = records(m0=40, m1=41)
    found["oaas-galera-server-2"] = f"{recover.NO_UUID}:-1"
    assert recover.decide("oaas-galera-server-1", MEMBERS, found)[0] == "bootstrap"


def test_two_cluster_histories_are_not_chosen_between(recover):
    found = records(m0=40, m1=41)
    found["oaas-galera-server-2"] = f"{OTHER_UUID}:90"
    decision, why = recover.decide("oaas-galera-server-2", MEMBERS, found)
    assert decision == "wait" and "different cluster histories" in why


def test_records_of_members_scaled_away_are_ignored(recover):
    found = records(m0=40, m1=41, m2=42, m3="started", m4="started")
    assert recover.decide("oaas-galera-server-2", MEMBERS, found)[0] == "bootstrap"


def test_grastate_after_a_clean_stop_and_after_a_crash(recover):
    clean = f"# GALERA saved state\nversion: 2.1\nuuid:    {UUID}\nseqno:   57\nsafe_to_bootstrap: 1\n"
    crashed = f"# GALERA saved state\nversion: 2.1\nuuid:    {UUID}\nseqno:   -1\nsafe_to_bootstrap: 0\n"
    assert recover.read_grastate(clean) == (UUID, 57, True)
    assert recover.read_grastate(crashed) == (UUID, -1, False)


def test_peer_names_are_pod_names(recover):
    assert recover.member_name("oaas-galera-server-2.oaas-galera-server") == "oaas-galera-server-2"


# --- the position, read by a real server ---------------------------------------------------------
def _mysqld() -> str:
    mysqld = shutil.which("mysqld") or shutil.which("mariadbd")
    if not mysqld or not Path("/usr/lib/galera/libgalera_smm.so").is_file() or not shutil.which("mysql_install_db"):
        pytest.skip("needs mariadb-server and galera-4 (make tools installs them)")
    return mysqld


def _sql(socket: Path, statement: str) -> str:
    result = subprocess.run(["mysql", f"--socket={socket}", "-uroot", "-N", "-e", statement], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_position_of_a_member_killed_mid_flight_is_recovered_from_innodb(recover, tmp_path):
    """SIGKILL leaves seqno -1 in grastate.dat; --wsrep-recover finds the last committed one."""
    mysqld = _mysqld()
    data, socket = tmp_path / "data", tmp_path / "mysqld.sock"
    cnf = tmp_path / "my.cnf"
    cnf.write_text(
        "[mysqld]\n"
        f"user = {'root' if os.geteuid() == 0 else os.environ.get('USER', 'mysql')}\n"
        f"datadir = {data}\nsocket = {socket}\npid-file = {tmp_path / 'mysqld.pid'}\nskip-networking = 0\n"
        "bind-address = 127.0.0.1\nport = 0\nbinlog_format = ROW\ndefault_storage_engine = InnoDB\ninnodb_autoinc_lock_mode = 2\n"
        "innodb_buffer_pool_size = 16M\nwsrep_on = ON\nwsrep_provider = /usr/lib/galera/libgalera_smm.so\n"
        "wsrep_cluster_address = gcomm://\nwsrep_provider_options = \"gmcast.listen_addr=tcp://127.0.0.1:0\"\n"
        "wsrep_node_address = 127.0.0.1\n",
        encoding="utf-8",
    )
    install = subprocess.run(["mysql_install_db", f"--defaults-file={cnf}", "--auth-root-authentication-method=normal"],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert recover.own_position(str(data), str(cnf)) == (recover.NO_UUID, -1)  # a new datadir: nothing committed
    server = subprocess.Popen([mysqld, f"--defaults-file={cnf}", "--wsrep-new-cluster", f"--log-error={tmp_path / 'error.log'}"])
    try:
        deadline = time.monotonic() + 120
        while subprocess.run(["mysqladmin", f"--socket={socket}", "-uroot", "ping"], capture_output=True).returncode != 0:
            assert server.poll() is None, (tmp_path / "error.log").read_text()
            assert time.monotonic() < deadline, "mysqld did not answer on its socket within 120 s"
            time.sleep(1)
        _sql(socket, "CREATE DATABASE t; CREATE TABLE t.rows (id INT PRIMARY KEY); INSERT INTO t.rows VALUES (1), (2), (3)")
        committed = _sql(socket, "SHOW GLOBAL STATUS LIKE 'wsrep_last_committed'").split()[-1]
        uuid = _sql(socket, "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_uuid'").split()[-1]
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    assert recover.read_grastate((data / "grastate.dat").read_text())[1] == -1
    assert recover.own_position(str(data), str(cnf)) == (uuid, int(committed))
    assert int(committed) >= 3
