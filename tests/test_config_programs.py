"""Real programs check every rendered config file of every release (the `config` step of chartgen
lint), and every checker is shown to fail on a broken file.

The programs are this machine's (Debian 12's packages, installed by `make tools`), not the images':
each test's name says both versions where they differ. What a newer program accepts and the image's
older one does not (HAProxy 2.6 vs 1.6, MariaDB 10.11 vs 10.0, RabbitMQ 3.10 vs 3.6) is left to the
version rules of the image facts, not to these tests.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pytest
from ruamel.yaml import YAML

from chartgen import configcheck
from chartgen.build import compile_release
from chartgen.cli import _config
from chartgen.configcheck import file_checks
from chartgen.model import FileCheck
from chartgen.verify import Tools, render_every_subchart
from helmrender import built
from helpers import LAYOUT_RELEASES as RELEASES, ROOT, run_chartgen

pytestmark = pytest.mark.tools

TOOLS_BIN = ROOT / ".tools" / "bin"
# This machine's programs (Debian 12 packages; test_machine_programs_are_the_named_versions keeps
# these names honest) and the images' (kolla sources, per release).
MACHINE = {"haproxy": "HAProxy 2.6", "apache": "Apache 2.4 mod_wsgi 4.9", "mariadb": "MariaDB 10.11",
           "rabbitmq": "RabbitMQ 3.10", "python": f"Python {platform.python_version()}", "shell": "dash",
           "oslo": "oslo.config 9.7"}
XENIAL = {  # kolla 3.0.3-6.0.0 ubuntu-binary: ubuntu 16.04 (kolla/common/config.py base_tag)
    "haproxy": "HAProxy 1.6", "apache": "Apache 2.4.18 mod_wsgi 4.3",
    "mariadb": "MariaDB 10.0",  # docker/base/sources.list.ubuntu: mariadb repo 10.0
    "rabbitmq": "RabbitMQ 3.6.5",  # docker/rabbitmq/Dockerfile.j2: rabbitmq-server_3.6.5, Erlang 18
    "python": "Python 2.7", "shell": "dash",
}
NOBLE = {  # kolla 20.x (2025.1): ubuntu 24.04, MariaDB 10.11, RabbitMQ 4
    "haproxy": "HAProxy 2.8", "apache": "Apache 2.4.58 mod_wsgi 5.0", "mariadb": "MariaDB 10.11",
    "rabbitmq": "RabbitMQ 4", "python": "Python 3.12", "shell": "dash",
}
BIONIC = {  # kolla 7.x-10.x ubuntu-binary: ubuntu 18.04 (values/rocky.yaml .. values/ussuri.yaml)
    "haproxy": "HAProxy 1.8", "apache": "Apache 2.4.29 mod_wsgi 4.5", "mariadb": "MariaDB 10.1-10.3",
    "rabbitmq": "RabbitMQ 3.6-3.8", "python": "Python 2.7-3.6", "shell": "dash",
}
FOCAL = {  # kolla 11.x-14.x: ubuntu 20.04 (values/victoria.yaml .. values/yoga.yaml)
    "haproxy": "HAProxy 2.0", "apache": "Apache 2.4.41 mod_wsgi 4.6", "mariadb": "MariaDB 10.3-10.6",
    "rabbitmq": "RabbitMQ 3.8-3.9", "python": "Python 3.8", "shell": "dash",
}
JAMMY = {  # kolla 15.x-18.x: ubuntu 22.04 (values/zed.yaml .. values/2024.1.yaml)
    "haproxy": "HAProxy 2.4", "apache": "Apache 2.4.52 mod_wsgi 4.9", "mariadb": "MariaDB 10.6-10.11",
    "rabbitmq": "RabbitMQ 3.10-3.13", "python": "Python 3.10", "shell": "dash",
}
IMAGE = {**dict.fromkeys(("newton", "ocata", "pike", "queens"), XENIAL), **dict.fromkeys(("rocky", "stein", "train", "ussuri"), BIONIC),
         **dict.fromkeys(("victoria", "wallaby", "xena", "yoga"), FOCAL), **dict.fromkeys(("zed", "2023.1", "2023.2", "2024.1"), JAMMY),
         **dict.fromkeys(("2024.2", "2025.1", "2025.2", "2026.1", "2026.2"), NOBLE)}
# Files no real program checks, and why (a new config file must be checked or listed here).
NOT_CHECKED = {
    "fernet-0": "a secret key, no syntax", "fernet-1": "a secret key, no syntax",
    "credential-0": "a secret key, no syntax", "credential-1": "a secret key, no syntax",
    "erlang.cookie": "a secret, no syntax", "keyfile": "a secret, no syntax",
    "nfs_shares": "cinder's NFS driver reads it at volume start; no offline parser",
    "init.sql": "executed by mariadbd --init-file at start; checking it needs a running server",
    "pipeline.yaml": "ceilometer's, serialised by chartgen (valid YAML by construction)",
    "event_pipeline.yaml": "ceilometer's, serialised by chartgen (valid YAML by construction)",
    "polling.yaml": "ceilometer's, serialised by chartgen (valid YAML by construction)",
    **dict.fromkeys(("keystone-api-uwsgi.ini", "nova-api-uwsgi.ini", "nova-metadata-uwsgi.ini", "neutron-api-uwsgi.ini",
                     "heat-api-uwsgi.ini", "heat-api-cfn-uwsgi.ini", "cinder-api-uwsgi.ini", "placement-api-uwsgi.ini",
                     "aodh-api-uwsgi.ini", "gnocchi-api-uwsgi.ini", "horizon-uwsgi.ini", "glance-api-uwsgi.ini"),
                    "uWSGI settings (2025.2 on): no uwsgi program on the checking machine; chartgen writes them as text"),
    "libvirtd.conf": "libvirt has no offline config check", "qemu.conf": "libvirt has no offline config check",
    "zoo.cfg": "ZooKeeper parses it only when it starts (Java)",
}


@lru_cache(maxsize=None)
def rendering(release: str, scratch: str) -> tuple[str, dict[tuple[str, str], FileCheck | None]]:
    """The release's chart rendered with every subchart enabled, and how its blueprints check each file."""
    chart = built(release, scratch)
    tools = Tools.find(ROOT)
    check, manifest = render_every_subchart(chart, str(TOOLS_BIN / "helm4"), tools.env())
    assert check.ok, check.output
    return manifest, file_checks(compile_release(_config(release, ())).umbrella)


@lru_cache(maxsize=None)
def report(release: str, scratch: str) -> configcheck.Report:
    manifest, checks = rendering(release, scratch)
    return configcheck.check_manifest(manifest, "openstack", release, checks, TOOLS_BIN)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("configcheck"))


def _case_id(release: str, kind: str) -> str:
    machine, image = MACHINE[kind], IMAGE[release].get(kind, "")
    if kind == "oslo":
        return f"{release}-oslo-{machine} on the {release} registries"
    return f"{release}-{kind}-{machine}" + ("" if kind == "shell" else f" (image {image})")


@pytest.mark.parametrize(("release", "kind"), [(r, k) for r in RELEASES for k in configcheck.CHECKERS],
                         ids=[_case_id(r, k) for r in RELEASES for k in configcheck.CHECKERS])
def test_every_file_passes_its_program(release: str, kind: str, scratch: str) -> None:
    result = report(release, scratch)
    manifest, checks = rendering(release, scratch)
    wanted = sorted({f"{service}/{name}" for (service, name), check in checks.items() if check and check.kind == kind})
    if kind == "oslo" and not (configcheck.OPTDATA / release).is_dir():
        missing = sorted(f"{f.service}/{f.name}" for f, why in result.unchecked if "no option registries" in why)
        assert missing, "oslo files of a release without registries must be listed as not checked"
        pytest.skip(f"no option registries for {release}: {len(missing)} files only covered by version rules")
    if not wanted:  # Kolla's 2026.1 images have no Apache: no file of the release is Apache's
        pytest.skip(f"{release} has no file {kind} reads")
    kinds = {k.kind: k for k in result.kinds}
    assert kind in kinds, f"no {kind} file rendered in {release} (blueprints name {wanted})"
    checked = {f"{r.file.service}/{r.file.name}" for r in kinds[kind].results}
    rendered = {f"{f.service}/{f.name}" for f in result.rendering.files}
    unavailable = {f"{f.service}/{f.name}" for f, why in result.unchecked if why.startswith("no option registr")}
    assert checked == (set(wanted) & rendered) - unavailable, "a rendered file was not run through its program"
    failures = [f"{r.file.label} ({r.where}): {line}" for r in kinds[kind].results for line in r.errors]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("release", RELEASES)
def test_files_not_checked_are_the_known_ones(release: str, scratch: str) -> None:
    result = report(release, scratch)
    no_check = {f.name for f, why in result.unchecked if why == "its blueprint names no check"}
    assert no_check <= set(NOT_CHECKED), f"config files no program checks: {sorted(no_check - set(NOT_CHECKED))}"
    # A registry may be missing only for a project the release does not have (placement before stein).
    sources = configcheck.OPTDATA / release / "SOURCES.yaml"
    projects = {name.split("/")[0] for name in YAML(typ="safe").load(sources.read_text())["registries"]} if sources.exists() else set()
    others = [(f.label, why) for f, why in result.unchecked if why != "its blueprint names no check" and "no option registries" not in why
              and not (why.startswith("no option registry ") and why.split()[3].split("/")[0] not in projects)]
    assert not others, others


# --- each checker fails on a broken file -------------------------------------------------------------
def _with_file(manifest: str, service: str, name: str, change: Callable[[str], str]) -> str:
    """The manifest with one ConfigMap file changed (documents written back as JSON, which is YAML)."""
    documents = [doc for doc in YAML(typ="safe").load_all(manifest) if doc]
    target = next(doc for doc in documents if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == f"oaas-{service}-config")
    before = target["data"][name]
    target["data"][name] = change(before)
    assert target["data"][name] != before, "the injected change did not apply"
    return "\n---\n".join(json.dumps(doc) for doc in documents)


def _check_one(release: str, scratch: str, service: str, name: str, change: Callable[[str], str],
               also: tuple[str, ...] = (), whole_group: bool = False) -> list[Any]:
    """The results for the changed file (whole_group: for every file checked with it)."""
    manifest, checks = rendering(release, scratch)
    broken = _with_file(manifest, service, name, change)
    kind = checks[(service, name)].kind  # type: ignore[union-attr]
    only = {key: check for key, check in checks.items() if key[0] == service and (key[1] == name or key[1] in also)}
    outcome = configcheck.check_manifest(broken, "openstack", release, only, TOOLS_BIN)
    results = [r for k in outcome.kinds if k.kind == kind for r in k.results if whole_group or r.file.name == name]
    assert results, f"{service}/{name} was not checked"
    return results


def _append(text: str) -> Callable[[str], str]:
    return lambda content: content.rstrip("\n") + "\n" + text + "\n"


def _replace(old: str, new: str) -> Callable[[str], str]:
    return lambda content: content.replace(old, new, 1)


BROKEN = [
    # (release, service, file, change, what the program says, id)
    ("2025.1", "galera", "haproxy.cfg", _replace("option tcpka", "option tcpkaa"), "unknown option 'tcpkaa'", "haproxy-unknown-keyword"),
    ("queens", "galera", "haproxy.cfg", _replace("  server oaas-galera-server-0 oaas-galera-server-0.", "  server oaas-galera-server-0 oaas-galera-srv-0."),
     "could not resolve address 'oaas-galera-srv-0", "haproxy-host-the-cluster-does-not-have"),
    ("2025.1", "keystone", "wsgi-keystone.conf", _replace("WSGIPassAuthorization On", "WSGIPassAuthorisation On"),
     "Invalid command 'WSGIPassAuthorisation'", "apache-misspelt-directive"),
    ("queens", "keystone", "wsgi-keystone.conf", _replace("WSGIApplicationGroup %{GLOBAL}", "WSGIApplicationGroup"),
     "WSGIApplicationGroup takes one argument", "apache-mod_wsgi-directive-without-argument"),
    ("queens", "galera", "galera.cnf", _replace("max_connections = ", "max_connectionz = "), "unknown variable 'max_connectionz", "mariadb-unknown-server-variable"),
    ("2025.1", "galera", "galera.cnf", _replace("max_connections = 4096", "max_connections = lots"), "max_connections", "mariadb-bad-value"),
    ("2025.1", "galera", "galera.cnf", _replace("[client]\n", "[client]\nsockett = /tmp/x\n"), "unknown variable 'sockett", "mariadb-unknown-client-variable"),
    ("2025.1", "rabbitmq", "rabbitmq.conf", _append("cluster_partition_handlin = autoheal"), "cluster_partition_handlin", "rabbitmq-conf-unknown-key"),
    ("2025.1", "rabbitmq", "rabbitmq.conf", _replace("cluster_partition_handling = pause_minority", "cluster_partition_handling = pause_majority"),
     "cluster_partition_handling", "rabbitmq-conf-bad-value"),
    ("queens", "rabbitmq", "rabbitmq.config", _replace("{loopback_users, []}", "{loopback_users, []"), "file:consult", "rabbitmq-classic-config-syntax"),
    ("queens", "rabbitmq", "enabled_plugins", _replace("].", "]"), "cannot_read_enabled_plugins_file", "rabbitmq-enabled-plugins-syntax"),
    ("queens", "rabbitmq", "definitions.json", _replace("}", "},"), "definitions", "rabbitmq-definitions-json"),
    ("2025.1", "horizon", "local_settings.py", _append("if True\n    pass"), "SyntaxError", "python-syntax-error"),
    ("queens", "galera", "start.sh", _append("if [ -z \"$x\" ]; then\n  echo"), "end of file", "shell-unterminated-if"),
    ("2025.1", "keystone", "keystone.conf", _replace("[token]\n", "[token]\nexpiraton = 3600\n"), "token/expiraton is not part of the sample config", "oslo-unknown-option"),
    ("2025.1", "cinder", "cinder.conf", _replace("[NFS]\n", "[NFS]\nnfs_shares_confg = /x\n"), "NFS/nfs_shares_confg is not part of the sample config", "oslo-unknown-option-in-run-time-section"),
    ("2025.1", "neutron", "openvswitch_agent.ini", _append("[agent]\nl2_populaton = true"), "agent/l2_populaton is not part of the sample config", "oslo-unknown-agent-option"),
]


@pytest.mark.parametrize(("release", "service", "name", "change", "said"), [case[:5] for case in BROKEN], ids=[case[5] for case in BROKEN])
def test_program_fails_on_a_broken_file(release: str, service: str, name: str, change: Callable[[str], str], said: str, scratch: str) -> None:
    results = _check_one(release, scratch, service, name, change,
                         also=("rabbitmq.config", "rabbitmq.conf", "enabled_plugins", "definitions.json", "ports.conf") if service in ("rabbitmq",) else ())
    errors = [line for r in results for line in r.errors]
    assert errors, f"{service}/{name} passed although broken"
    assert any(said in line for line in errors), errors


def test_apache_checks_the_files_of_a_container_together(scratch: str) -> None:
    """ports.conf and the dashboard vhost both Listen on port 8080: fine alone, an error together
    (Apache reports it in the vhost, which apache2.conf includes after ports.conf)."""
    results = _check_one("2025.1", scratch, "horizon", "ports.conf", _replace("# Listen directives", "Listen 0.0.0.0:8080\n# Listen directives"),
                         also=("openstack-dashboard.conf", "000-default.conf"), whole_group=True)
    assert any("multiple Listeners on the same IP:port" in line for r in results for line in r.errors), results


def test_oslo_warns_on_a_deprecated_option(scratch: str) -> None:
    results = _check_one("2025.1", scratch, "keystone", "keystone.conf", _replace("[DEFAULT]\n", "[DEFAULT]\nlogdir = /var/log/keystone\n"))
    assert all(r.ok for r in results), results
    assert any("Deprecated opt DEFAULT/logdir" in line for r in results for line in r.warnings), results


def test_rabbitmq_warns_on_a_plugin_it_does_not_have(scratch: str) -> None:
    results = _check_one("2025.1", scratch, "rabbitmq", "enabled_plugins", _replace("[rabbitmq_management]", "[rabbitmq_management, rabbitmq_managment]"),
                         also=("rabbitmq.conf", "definitions.json"))
    assert all(r.ok for r in results), results
    assert any("rabbitmq_managment" in line for r in results for line in r.warnings), results


def test_machine_programs_are_the_named_versions() -> None:
    """The versions the test names give for this machine's programs are the installed ones."""
    def output(*command: str) -> str:
        return subprocess.run(command, capture_output=True, text=True).stdout
    assert re.search(r"version 2\.6\.", output("/usr/sbin/haproxy", "-v"))
    assert "Apache/2.4." in output("/usr/sbin/apache2", "-v")
    assert output("dpkg-query", "-W", "-f", "${Version}", "libapache2-mod-wsgi-py3").startswith("4.9.")
    assert "10.11." in output("/usr/sbin/mariadbd", "--version")
    assert sorted(Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-3.10.*"))
    assert output(str(TOOLS_BIN / "oslo-config-validator"), "--version").startswith("9.7.")


def test_lint_names_the_broken_file_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "charts"
    run_chartgen("build", "--release", "2025.1", "--out", str(out), "--quiet", check=True)
    template = out / "oaas" / "charts" / "galera" / "templates" / "configmap.yaml"
    template.write_text(template.read_text().replace("option tcpka", "option tcpkaa", 1))
    result = run_chartgen("lint", "--chart", str(out / "oaas"))
    assert result.code == 1, result.stdout + result.stderr
    assert re.search(r"^FAIL +\S+ +config: haproxy 2\.6\S* -c: 1 file", result.stdout, re.M), result.stdout
    assert re.search(r"galera: ConfigMap oaas-galera-config, haproxy\.cfg: .*unknown option 'tcpkaa'", result.stderr), result.stderr
    assert re.search(r"^ok +\S+ +config: oslo-config-validator", result.stdout, re.M), "the other programs ran too"
