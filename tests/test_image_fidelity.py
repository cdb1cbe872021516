"""Every command, path, uid and config line fits the image it runs in (issue 11), read from
`helm template` of the built umbrella (real helm). One test per defect of the issue's table; each
fails on the output chartgen rendered before the fix."""

from __future__ import annotations

import json
import re

import pytest

from helmrender import built, config_file, find, objects
from helpers import RELEASES, run_chartgen

pytestmark = pytest.mark.tools

BINARY = RELEASES[: RELEASES.index("xena")]  # kolla's Ubuntu binary images on Docker Hub (newton..wallaby)
SOURCE = RELEASES[RELEASES.index("xena"):]  # source images in the virtualenv, quay.io (xena..)
EXPECTED_TAGS = {"newton": "3.0.3", "ocata": "ocata", "pike": "5.0.5", "queens": "6.2.4", "rocky": "7.1.1", "stein": "8.0.5",
                 "train": "9.4.0", "ussuri": "10.4.0", "victoria": "11.3.0", "wallaby": "wallaby", "xena": "xena", "yoga": "yoga",
                 "zed": "zed-ubuntu-jammy", "2023.1": "2023.1-ubuntu-jammy", "2023.2": "2023.2-ubuntu-jammy",
                 "2024.1": "2024.1-ubuntu-jammy", "2024.2": "2024.2-ubuntu-noble", "2025.1": "2025.1-ubuntu-noble",
                 "2025.2": "2025.2-ubuntu-noble", "2026.1": "2026.1-ubuntu-noble", "2026.2": "2026.2-ubuntu-noble"}
# Virtual hosts with WSGI scripts under Apache: keystone moves to uWSGI in 2025.2 (its scripts are
# gone), and Kolla's 2026.1 images have no Apache at all.
APACHE_WSGI = {"2025.2": {"oaas-cinder-config"}, "2026.1": set(), "2026.2": set()}
UWSGI_HORIZON = ("2026.1", "2026.2")
RABBITMQ_4 = ("2025.1", "2025.2", "2026.1", "2026.2")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("fidelity"))


def container(docs: list[dict], kind: str, name: str) -> dict:
    return find(docs, kind, name)["spec"]["template"]["spec"]["containers"][0]


def pod(docs: list[dict], kind: str, name: str) -> dict:
    return find(docs, kind, name)["spec"]["template"]["spec"]


@pytest.mark.parametrize("release", RELEASES)
def test_row1_haproxy_logs_to_stdout_only_from_1_9(scratch: str, release: str) -> None:
    haproxy = config_file(objects(built(release, scratch)), "galera", "haproxy.cfg")
    # HAProxy 1.6 (xenial) and 1.8 (bionic) refuse `log stdout` and `format`; the source releases' have them.
    assert ("log stdout" in haproxy) is (release in SOURCE)
    assert not re.search(r"^\s*log\s+\S+.*\sformat\s", haproxy, re.M) or release in SOURCE


@pytest.mark.parametrize("release", RELEASES)
def test_row2_root_is_created_without_create_user_if_not_exists(scratch: str, release: str) -> None:
    init = config_file(objects(built(release, scratch)), "galera", "init.sql")
    assert "IF NOT EXISTS" not in init.upper()  # MariaDB 10.0 has no CREATE USER IF NOT EXISTS
    assert "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' IDENTIFIED BY '$(MYSQL_PWD)' WITH GRANT OPTION;" in init


@pytest.mark.parametrize("release", RELEASES)
def test_row3_galera_probes_peers_without_netcat_and_bootstraps_only_on_recover_py_s_word(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    start = config_file(docs, "galera", "start.sh")
    recover = config_file(docs, "galera", "recover.py")
    assert not re.search(r"(^|[\s;|&(])nc\s", start + recover)  # no kolla image has netcat
    assert start.startswith("#!/bin/bash") and "set -eu" in start
    assert container(docs, "StatefulSet", "oaas-galera-server")["command"][0] == "/bin/bash"
    # Peers are probed by recover.py with Python's socket module (every kolla image has a Python).
    assert "socket.create_connection((peer, port), timeout=3)" in recover
    assert "python=$(command -v python3 || command -v python)" in start
    # --wsrep-new-cluster only when recover.py says so; when it gives up (exit 3), set -e stops the
    # script before mysqld starts.
    decided = start.index('decision=$("$python" /oaas/galera/recover.py)')
    assert decided < start.index('if [ "$decision" = bootstrap ]; then') < start.index('extra="--wsrep-new-cluster"')


@pytest.mark.parametrize("release", BINARY)
def test_row4_rabbitmq_3_6_loads_definitions_through_the_management_plugin(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    config = config_file(docs, "rabbitmq", "rabbitmq.config")
    management = config[config.index("{rabbitmq_management"):]
    assert '{load_definitions, "/etc/rabbitmq/definitions.json"}' in management
    env = {e["name"]: e.get("value", "") for e in container(docs, "StatefulSet", "oaas-rabbitmq-server")["env"]}
    assert "load_definitions" not in env.get("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "")


def _wsgi_files(docs: list[dict]) -> list[tuple[str, str, str]]:
    return [(doc["metadata"]["name"], name, text) for doc in docs if doc["kind"] == "ConfigMap"
            for name, text in doc.get("data", {}).items() if "WSGIScriptAlias" in text]


@pytest.mark.parametrize("release", RELEASES)
def test_row5_every_wsgi_script_is_granted_in_its_virtual_host(scratch: str, release: str) -> None:
    files = _wsgi_files(objects(built(release, scratch)))
    assert APACHE_WSGI.get(release, {"oaas-keystone-config", "oaas-cinder-config"}) <= {name for name, _, _ in files}
    for config_map, name, text in files:
        for host in re.findall(r"<VirtualHost.*?</VirtualHost>", text, re.S):
            granted = [d.rstrip("/") for d in re.findall(r"<Directory\s+\"?([^\">]+)\"?>(?:(?!</Directory>).)*Require all granted", text, re.S)]
            for script in re.findall(r"WSGIScriptAlias\s+\S+\s+(\S+)", host):
                assert any(script.startswith(folder + "/") for folder in granted), (config_map, name, script)


@pytest.mark.parametrize("release", RELEASES)
def test_row6_horizon_settings_are_mounted_where_the_image_reads_them(scratch: str, release: str) -> None:
    mounts = {m["mountPath"] for m in container(objects(built(release, scratch)), "Deployment", "oaas-horizon-server")["volumeMounts"]}
    # kolla links Django's local_settings.py to /etc/openstack-dashboard/local_settings (binary images)
    expected = "/etc/openstack-dashboard/local_settings" + (".py" if release in SOURCE else "")
    assert expected in mounts, mounts
    assert not {"/etc/openstack-dashboard/local_settings", "/etc/openstack-dashboard/local_settings.py"} - {expected} & mounts


@pytest.mark.parametrize("release", RELEASES)
def test_row7_horizon_listens_on_8080_behind_service_port_80(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    main = container(docs, "Deployment", "oaas-horizon-server")
    assert [p["containerPort"] for p in main["ports"]] == [8080]
    assert "NET_BIND_SERVICE" not in json.dumps(main.get("securityContext", {}))
    port = find(docs, "Service", "oaas-horizon-server")["spec"]["ports"][0]
    assert (port["port"], port["targetPort"], port.get("nodePort")) == (80, "http", None)  # NodePort 30080 is opt-in
    if release in UWSGI_HORIZON:
        assert "http-socket = 0.0.0.0:8080" in config_file(docs, "horizon", "horizon-uwsgi.ini")
    else:
        assert "Listen 0.0.0.0:8080" in config_file(docs, "horizon", "openstack-dashboard.conf")


@pytest.mark.parametrize("release", ("ocata", "pike", "queens"))
def test_row8_zookeeper_runs_the_ubuntu_package_script(scratch: str, release: str) -> None:
    env = {e["name"]: e.get("value") for e in container(objects(built(release, scratch)), "StatefulSet", "oaas-zookeeper-server")["env"]}
    assert env["ZK_SERVER"] == "/usr/share/zookeeper/bin/zkServer.sh"


def test_row9_newton_rabbitmq_runs_without_the_uid_checking_wrapper(scratch: str) -> None:
    server = container(objects(built("newton", scratch)), "StatefulSet", "oaas-rabbitmq-server")
    # /usr/sbin/rabbitmq-server exits for any uid but rabbitmq's and root; kolla 3.0.3 has no fixed uid.
    assert server["command"] == ["/usr/lib/rabbitmq/bin/rabbitmq-server"]
    # Nor does a probe call /usr/sbin/rabbitmqctl, the same wrapper: readiness is the AMQP port.
    assert "exec" not in server["readinessProbe"] and server["readinessProbe"]["tcpSocket"]["port"] == "amqp"


def test_row10_newton_names_no_zookeeper_image_kolla_never_built(scratch: str) -> None:
    chart = built("newton", scratch)
    text = (chart / "Chart.yaml").read_text() + (chart / "charts" / "zookeeper" / "values.yaml").read_text()
    # kolla 3.0.3 has no docker/zookeeper: the (disabled) default is ocata's published image
    assert "ubuntu-binary-zookeeper:3.0.3" not in text
    assert not re.search(r'repository: docker.io/kolla/ubuntu-binary-zookeeper\n\s+tag: "?3\.0\.3"?\n', text)
    assert re.search(r'repository: docker.io/kolla/ubuntu-binary-zookeeper\n\s+tag: "?ocata"?\n', text), text


@pytest.mark.parametrize("release, group", [("ocata", 65534), ("pike", 65534), ("queens", 65534), ("2025.1", 999)])
def test_row11_mongodb_and_ceilometer_compute_run_in_groups_the_images_have(scratch: str, release: str, group: int) -> None:
    docs = objects(built(release, scratch), "--set", "mongodb.enabled=true")
    mongo = pod(docs, "StatefulSet", "oaas-mongodb-server")["securityContext"]
    assert (mongo["runAsGroup"], mongo["fsGroup"]) == (group, group)
    compute = pod(docs, "DaemonSet", "oaas-ceilometer-compute")["securityContext"]
    assert compute["runAsGroup"] == (42405 if release == "ocata" else 42473)  # no libvirt group before kolla 5.0.0


@pytest.mark.parametrize("release", RABBITMQ_4)
def test_row12_every_service_on_the_bus_uses_quorum_queues_on_rabbitmq_4(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    texts = {doc["metadata"]["name"]: text for doc in docs if doc["kind"] == "ConfigMap"
             for text in doc.get("data", {}).values() if re.search(r"^transport_url = ", text, re.M)}
    assert len(texts) >= 8
    for name, text in texts.items():
        section = text[text.index("[oslo_messaging_rabbit]"):]
        for option in ("rabbit_quorum_queue = true", "rabbit_transient_quorum_queue = true", "rabbit_stream_fanout = true"):
            assert option in section, (name, option)


@pytest.mark.parametrize("release", RELEASES)
def test_row13_image_tags_are_the_published_ones_with_their_evidence(release: str) -> None:
    rows = json.loads(run_chartgen("services", "--release", release, "--format", "json", check=True).stdout)
    kolla = [image for row in rows if row["enabled"] for image in row["images"] if "kolla" in image]
    assert kolla and {image.rsplit(":", 1)[1] for image in kolla} == {EXPECTED_TAGS[release]}
    for row in rows:
        for image, facts in row["imageFacts"].items():
            assert facts is not None, image  # every default image has facts, each source a kolla@TAG path or a Dockerfile
            assert all("kolla@" in source or "Dockerfile" in source for source in facts["sources"]), (image, facts["sources"])
