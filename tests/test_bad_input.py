"""The bad-input corpus: every case exits 2 with `file:line:col: CODE`, no traceback, and leaves the
previous output byte-identical.

Each case edits a copy of the real project (blueprints/ and values/), so the rest of the input is
the shipped catalog. `edits` maps a file to its new content, or to (old, new) text replacements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartgen.config import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES
from chartgen.emit import yaml_text
from helpers import alias_bomb, run_chartgen, tree_bytes

SECONDS = 120  # for one chartgen run: a build takes about a second; a hang is killed, not waited for

Edit = str | list[tuple[str, str]]


@dataclass(frozen=True)
class Case:
    name: str
    edits: dict[str, Edit]
    expect: str  # "file:line:col: CODE" prefix of the diagnostic line we look for; "@" stands for
    # the line of `anchor` in the edited file, so the exact line survives edits elsewhere in the file
    message: str  # a fragment of its message
    release: str = "queens"
    extra: tuple[str, ...] = field(default=())
    anchor: str = ""


SITE = ("--overlay", "site.yaml")
LONG_NAME = """service: sidecar
description: a service whose component name is too long
images:
  main: {repository: docker.io/library/busybox, tag: "1.37.0", source: test}
components:
  # the object name would be <release>-sidecar-server-with-a-very-long-component-name-x
  serverWithAVeryLongComponentNameX:
    kind: Deployment
    replicas: 1
    image: main
    probes: {readiness: {exec: ["true"]}, liveness: {exec: ["true"]}}
    resources: {requests: {cpu: 10m}}
    nodeRole: controller
"""

CASES = [
    Case("syntax error", {"blueprints/memcached.yaml": [("  server:\n", "  server: [\n")]},
         "blueprints/memcached.yaml:", "CG101 YAML syntax error"),
    Case("duplicate key", {"blueprints/memcached.yaml": [("    replicas: 3\n", "    replicas: 3\n    replicas: 5\n")]},
         "blueprints/memcached.yaml:@:5: CG102", "duplicate key 'replicas' (first defined at line 13, column 5)", anchor='    replicas: 5\n'),
    Case("tab indentation", {"blueprints/etcd.yaml": [("    quorum: true\n", "\tquorum: true\n")]},
         "blueprints/etcd.yaml:@:1: CG101", "found a tab character that violates indentation", anchor='\tquorum: true'),
    Case("yaml 1.1 boolean", {"blueprints/memcached.yaml": [("    members: true\n", "    members: yes\n")]},
         "blueprints/memcached.yaml:@:14: CG103", "ambiguous scalar 'yes'", anchor='members: yes'),
    Case("yaml 1.1 octal", {"blueprints/memcached.yaml": [("    replicas: 3\n", "    replicas: 0755\n")]},
         "blueprints/memcached.yaml:@:15: CG103", "reads it as octal", anchor='replicas: 0755'),
    Case("null value", {"values/queens.yaml": [("        tag: \"6.2.4\"\n", "        tag:\n", )]},
         "values/queens.yaml:@:9: CG104", "'tag' has no value", anchor='        tag:\n'),
    Case("merge key", {"values/common.yaml": "base: &b {a: 1}\nglobal:\n  <<: *b\n"},
         "values/common.yaml:3:3: CG105", "merge keys (<<) are not supported"),
    Case("control character", {"blueprints/memcached.yaml": [("    replicas: 3\n", "    replicas: 3\x07\n")]},
         "blueprints/memcached.yaml:@:16: CG101", "character #x0007 is not allowed", anchor="replicas: 3\x07"),
    Case("alias", {"blueprints/memcached.yaml": [("      runAsUser: 42457\n      runAsGroup: 42457\n", "      runAsUser: &uid 42457\n      runAsGroup: *uid\n")]},
         "blueprints/memcached.yaml:@:19: CG108", "alias *uid repeats the value anchored at line", anchor="runAsGroup: *uid"),
    Case("alias bomb", {"blueprints/lol.yaml": alias_bomb()},
         "blueprints/lol.yaml:2:10: CG108", "alias *a0 repeats the value anchored at line 1, column 5"),
    Case("file over the size limit", {"blueprints/memcached.yaml": "# padding\n" * (MAX_FILE_BYTES // 10 + 1)},
         "blueprints/memcached.yaml:1:1: CG109", "file is larger than 1024 KiB, the limit of one input file"),
    # the root, services, memcached, components, server are 5 levels: the list holding the list too deep
    Case("nesting over the depth limit", {"site.yaml": "services:\n  memcached:\n    components: {server: {args: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}}\n"},
         f"site.yaml:3:{27 + MAX_DEPTH}: CG110", f"nested deeper than {MAX_DEPTH} levels", extra=SITE),
    Case("nodes over the limit", {"site.yaml": "services:\n  memcached:\n    components: {server: {args: [" + ",".join(["x"] * MAX_NODES) + "]}}\n"},
         "site.yaml:3:33: CG111", f"more than {MAX_NODES} YAML nodes", extra=SITE),
    Case("empty file", {"blueprints/memcached.yaml": ""},
         "blueprints/memcached.yaml:1:1: CG106", "expected a mapping"),
    Case("wrong type", {"blueprints/keystone.yaml": [("    replicas: 2\n", "    replicas: \"three\"\n")]},
         "blueprints/keystone.yaml:@:15: CG201", "expected integer, got string 'three'", anchor='replicas: "three"'),
    Case("wrong type in an overlay", {"site.yaml": 'services:\n  memcached:\n    components: {server: {replicas: [3]}}\n'},
         "site.yaml:3:37: CG201", 'memcached.components.server.replicas: expected integer, got array [3]', extra=SITE),
    Case("unknown key", {"blueprints/keystone.yaml": [("    replicas: 2\n", "    replicas: 2\n    replicaz: 3\n")]},
         "blueprints/keystone.yaml:@:5: CG202", "unknown key 'replicaz' (did you mean 'replicas'?)", anchor='replicaz: 3'),
    Case("unknown key from an overlay", {"site.yaml": 'services:\n  etcd:\n    components: {server: {nodeRoel: compute}}\n'},
         "site.yaml:3:27: CG202", "unknown key 'nodeRoel' (did you mean 'nodeRole'?)", extra=SITE),
    Case("missing required key", {"blueprints/memcached.yaml": [("description: memcached, the token and data cache of the OpenStack APIs\n", "")]},
         "blueprints/memcached.yaml:2:1: CG203", "missing required key 'description'"),
    Case("value not allowed", {"blueprints/memcached.yaml": [("    kind: StatefulSet\n", "    kind: ReplicaSet\n")]},
         "blueprints/memcached.yaml:@:11: CG204", "'ReplicaSet' is not one of", anchor='kind: ReplicaSet'),
    Case("release name mismatch", {"values/queens.yaml": [("  name: queens\n", "  name: rocky\n")]},
         "values/queens.yaml:3:9: CG204", "release.name is 'rocky' but the file is queens.yaml"),
    Case("unknown directive", {"site.yaml": 'services:\n  etcd:\n    components: {server: {args: {$apend: [--debug]}}}\n'},
         "site.yaml:3:33: CG301", "unknown directive, or a key mixed with directives: '$apend'", extra=SITE),
    Case("overlay deletes a missing key", {"values/queens.yaml": [("          admin: {$delete: true}\n", "          admin: {$delete: true}\n          metrics: {$delete: true}\n")]},
         "values/queens.yaml:@:11: CG302", "cannot delete 'metrics'", anchor='metrics: {$delete: true}'),
    Case("append to a map", {"site.yaml": 'services:\n  etcd:\n    components: {server: {ports: {$append: [x]}}}\n'},
         "site.yaml:3:34: CG303", '$append/$prepend need a list here, found a map', extra=SITE),
    Case("merge-by item without its key", {"site.yaml": 'services:\n  rabbitmq:\n    configFiles: {policy: {options: {policies: {$mergeBy: name, $items: [{vhost: /}]}}}}\n'},
         "site.yaml:3:74: CG304", "$items[0] has no 'name'", extra=SITE),
    Case("overlay for an unknown service", {"site.yaml": "services:\n  trove:\n    enabled: false\n"},
         "site.yaml:2:3: CG305", "no blueprint for service 'trove'", extra=SITE),
    Case("unknown service in dependsOn", {"blueprints/keystone.yaml": [("dependsOn: [galera, memcached, rabbitmq]", "dependsOn: [galera, memcached, rabbitmq, mysql]")]},
         "blueprints/keystone.yaml:8:42: CG401", "keystone depends on unknown service 'mysql'"),
    Case("dependency cycle", {"blueprints/galera.yaml": [("description: MariaDB Galera", "dependsOn: [keystone]\ndescription: MariaDB Galera")]},
         "blueprints/galera.yaml:6:13: CG402", "dependency cycle: galera -> keystone -> galera"),
    Case("even replicas on a quorum service", {"blueprints/rabbitmq.yaml": [("    replicas: 3\n", "    replicas: 4\n")]},
         "blueprints/rabbitmq.yaml:@:15: CG403", "rabbitmq.server is a quorum component: replicas must be odd (2n+1), got 4", anchor='replicas: 4'),
    Case("even replicas set by a site overlay", {"site.yaml": "services:\n  galera:\n    components:\n      server:\n        replicas: 2\n"},
         "site.yaml:5:19: CG403", "galera.server is a quorum component: replicas must be odd (2n+1), got 2", extra=SITE),
    Case("name too long", {"blueprints/sidecar.yaml": LONG_NAME},
         "blueprints/sidecar.yaml:7:3: CG404", "'sidecar-server-with-a-very-long-component-name-x' is 48 characters; at most 40"),
    Case("port clash", {"blueprints/galera.yaml": [("      ist: {port: 4568}\n", "      ist: {port: 4567}\n")]},
         "blueprints/galera.yaml:@:19: CG405", "port 4567/TCP of 'ist' is already used by 'replication'", anchor='ist: {port: 4567}'),
    Case("enabled service depends on a disabled one", {"site.yaml": 'services:\n  memcached:\n    enabled: false\n'},
         "blueprints/keystone.yaml:8:21: CG406", 'keystone is enabled but depends on memcached, which is disabled', extra=SITE),
    Case("unknown reference", {"blueprints/keystone.yaml": [("${host:galera.haproxy}:${port:galera.haproxy.mysql}/keystone", "${host:galera.proxy}:${port:galera.haproxy.mysql}/keystone")]},
         "blueprints/keystone.yaml:@:21: CG407", "service 'galera' has no component 'proxy'", anchor='${host:galera.proxy}'),
    Case("secret that does not exist", {"blueprints/keystone.yaml": [("      RABBITMQ_PASSWORD: messagingPassword\n", "      RABBITMQ_PASSWORD: rabbitmq.noSuchPassword\n")]},
         "blueprints/keystone.yaml:@:26: CG407", "service 'rabbitmq' declares no secret 'noSuchPassword'", anchor='rabbitmq.noSuchPassword'),
    Case("placeholder without a variable", {"blueprints/galera.yaml": [("TO 'root'@'%' IDENTIFIED BY '$(MYSQL_PWD)'", "TO 'root'@'%' IDENTIFIED BY '$(ROOT_PWD)'")]},
         "blueprints/galera.yaml:@:13: CG407", "uses $(ROOT_PWD), which is not in env, secretEnv or fieldEnv", anchor="      init: /oaas/galera/init.sql"),
    Case("reads a secret variable it does not declare", {"blueprints/galera.yaml": [("readsSecretEnv: [MYSQL_PWD]", "readsSecretEnv: [MYSQL_PASSWORD]")]},
         "blueprints/galera.yaml:@:22: CG407", "readsSecretEnv names MYSQL_PASSWORD, which is not in secretEnv of this workload", anchor="readsSecretEnv: [MYSQL_PASSWORD]"),
    Case("service defined twice", {"blueprints/memcached2.yaml": "service: memcached\ndescription: again\ncomponents: {}\n"},
         "blueprints/memcached2.yaml:1:10: CG408", "service 'memcached' is already defined in blueprints/memcached.yaml"),
    Case("privilege granted by an overlay", {"site.yaml": 'services:\n  memcached:\n    components: {server: {security: {privileged: true}}}\n'},
         "site.yaml:3:50: CG409", 'security.privileged grants privilege; declare it in the blueprint, not in a site overlay', extra=SITE),
    Case("API access widened by an overlay", {"site.yaml": 'services:\n  galera:\n    components: {server: {apiAccess: {objects: {positions: {verbs: [get, patch, update]}}}}}\n'},
         "site.yaml:3:68: CG409", 'galera.server: apiAccess.objects.positions.verbs grants Kubernetes API access; declare it in the blueprint, not in a site overlay', extra=SITE),
    Case("literal password", {"blueprints/keystone.yaml": [("        debug: false\n", "        debug: false\n        admin_token: passw0rd\n")]},
         "blueprints/keystone.yaml:@:22: CG410", "DEFAULT.admin_token holds a literal secret", anchor='admin_token: passw0rd'),
    Case("two member components", {"blueprints/galera.yaml": [("    kind: Deployment\n    replicas: 2\n", "    kind: Deployment\n    replicas: 2\n    members: true\n")]},
         "blueprints/galera.yaml:@:3: CG411", "galera already has member component 'server'; 'haproxy' cannot be one too", anchor='  haproxy:\n    description: HAProxy'),
    Case("config feature the image's version lacks", {"blueprints/galera.yaml": [("        maxconn 4096\n", "        maxconn 4096\n        log stdout format raw local0 info\n")]},
         "blueprints/galera.yaml:@:9: CG412", "HAProxy logging to stdout/stderr, log format keyword: haproxy 1.6.3 lacks it (since 1.9)", anchor="log stdout format raw"),
    Case("config feature the image lacks, from a site overlay", {"site.yaml": 'services:\n  galera:\n    configFiles: {init: {content: "CREATE USER IF NOT EXISTS \'root\'@\'%\';\\n"}}\n'},
         "site.yaml:3:35: CG412", "MariaDB CREATE USER IF NOT EXISTS: mariadb 10.0 lacks it (since 10.1.3)", extra=SITE),
    Case("script calls a program the image lacks", {"blueprints/galera.yaml": [('        extra="--wsrep-new-cluster"\n', '        extra="--wsrep-new-cluster"\n        nc -z -w 2 "$peer" 4567 || true\n')]},
         "blueprints/galera.yaml:@:9: CG413", "galera.server calls 'nc', which docker.io/kolla/ubuntu-binary-mariadb:6.2.4 does not have", anchor="nc -z -w 2"),
    Case("command path the image lacks", {"blueprints/zookeeper.yaml": [("      ZK_SERVER: /usr/share/zookeeper/bin/zkServer.sh\n", "      ZK_SERVER: /opt/zookeeper/bin/zkServer.sh\n")]},
         "blueprints/zookeeper.yaml:@:7: CG413", "zookeeper.server calls '/opt/zookeeper/bin/zkServer.sh', which docker.io/kolla/ubuntu-binary-zookeeper:6.2.4 does not have", anchor='exec "$ZK_SERVER" start-foreground'),
    Case("group the image does not have", {"blueprints/mongodb.yaml": [("      runAsGroup: 65534\n", "      runAsGroup: 42432\n")]},
         "blueprints/mongodb.yaml:@:19: CG414", "mongodb.server: security.runAsGroup 42432 is no gid of docker.io/kolla/ubuntu-binary-mongodb:6.2.4", anchor="runAsGroup: 42432"),
    Case("WSGI script outside every granted directory", {"values/queens.yaml": [("            WSGIScriptAlias / /var/www/cgi-bin/keystone/main\n", "            WSGIScriptAlias / /usr/bin/keystone-wsgi-public\n")]},
         "values/queens.yaml:@:13: CG415", "WSGI script /usr/bin/keystone-wsgi-public is in no <Directory> granted in its virtual host", anchor="WSGIScriptAlias / /usr/bin/keystone-wsgi-public"),
    Case("facts from a block the release does not define", {"values/queens.yaml": [("        facts:\n          from: [kolla]\n          source: \"kolla@6.2.4:docker/etcd/", "        facts:\n          from: [kolla, nosuch]\n          source: \"kolla@6.2.4:docker/etcd/")]},
         "values/queens.yaml:@:17: CG407", "facts.from names 'nosuch', which imageFacts does not define", anchor="from: [kolla, nosuch]"),
    Case("upgrade job stops a component the service lacks", {"values/queens.yaml": [("      stop: [conductor]\n", "      stop: [condutcor]\n")]},
         "values/queens.yaml:@:13: CG417", "upgrade job 'api-db-sync': no component 'condutcor' to stop", anchor="stop: [condutcor]"),
    Case("upgrade job runs in a job the service lacks", {"values/queens.yaml": [("      replaces: db-sync\n      command: [heat-manage", "      replaces: db-sync\n      runIn: bootstrapp\n      command: [heat-manage")]},
         "values/queens.yaml:@:14: CG417", "heat has no job or component 'bootstrapp' to run in", anchor="runIn: bootstrapp"),
    Case("upgrade job of a service without blueprint", {"values/queens.yaml": [("    - service: aodh\n", "    - service: aodhh\n")]},
         "values/queens.yaml:@:16: CG417", "names the service 'aodhh', which has no blueprint", anchor="service: aodhh"),
    Case("upgrade job stops a DaemonSet", {"values/queens.yaml": [("      stop: [conductor]\n", "      stop: [compute]\n")]},
         "values/queens.yaml:@:13: CG417", "'compute' is a DaemonSet: only a Deployment or StatefulSet can be scaled to 0", anchor="stop: [compute]"),
    Case("upgrade job replaces a step its job lacks", {"values/queens.yaml": [("      replaces: api-db-sync\n", "      replaces: api-db-synk\n")]},
         "values/queens.yaml:@:17: CG417", "bootstrap of nova has no step 'api-db-synk'", anchor="replaces: api-db-synk"),
    Case("upgrade job reuses a step its job lacks", {"values/stein.yaml": [("        - name: db-init\n", "        - name: db-inti\n")]},
         "values/stein.yaml:@:17: CG417", "upgrade job 'db-migrate': bootstrap of placement has no step 'db-inti' to reuse", release="stein", anchor="- name: db-inti"),
    Case("unknown release", {}, "values/mitaka.yaml:1:1: CG501", "unknown release 'mitaka' (known: newton, ocata, pike, queens, rocky, stein, train, ussuri, victoria, wallaby, xena, yoga, zed, 2023.1, 2023.2, 2024.1, 2024.2, 2025.1, 2025.2, 2026.1, 2026.2)", release="mitaka"),
    Case("dependency checked by a liveness probe", {"blueprints/nova.yaml": [('      liveness: {exec: [/bin/sh, -c, "grep -qa nova-conductor /proc/1/cmdline"]', "      liveness: {connectedTo: rabbitmq.server.amqp")]},
         "blueprints/nova.yaml:@:31: CG418", "nova.conductor: the liveness probe checks the dependency rabbitmq.server.amqp", anchor="liveness: {connectedTo: rabbitmq.server.amqp"),
    Case("dependency socket checked by a liveness probe", {"blueprints/nova.yaml": [('"grep -qa nova-conductor /proc/1/cmdline"', '"grep -q \':1628 01 \' /proc/net/tcp /proc/net/tcp6"')]},
         "blueprints/nova.yaml:@:24: CG418", "nova.conductor: the liveness probe checks the dependency rabbitmq.server.amqp", anchor="liveness: {exec: [/bin/sh, -c, \"grep -q ':1628"),
    # Galera's scheduled backup job (jobs.backup of blueprints/galera.yaml), set up by a site overlay.
    Case("backup schedule that is no cron schedule", {"site.yaml": 'services:\n  galera:\n    jobs:\n      backup: {enabled: true, schedule: "0 25 * * *"}\n'},
         "site.yaml:4:41: CG419", "schedule '0 25 * * *' is not a cron schedule", extra=SITE),
    Case("backup retention of 0", {"site.yaml": "services:\n  galera:\n    jobs:\n      backup:\n        settings:\n          keepCycles: {value: 0}\n"},
         "site.yaml:6:31: CG420", "setting 'keepCycles': 0 is less than the minimum 1", extra=SITE),
    Case("backup encryption without a Secret key", {"site.yaml": "services:\n  galera:\n    jobs:\n      backup:\n        settings:\n"
                                                                 "          encryption: {value: {enabled: true, secretName: backup-key, key: \"\"}}\n"},
         "site.yaml:6:76: CG420", "setting 'encryption': key is empty while enabled is true: name the Secret and its key", extra=SITE),
    Case("site overlay not found", {}, "missing-site.yaml:1:1: CG502", "overlay file not found", extra=("--overlay", "missing-site.yaml")),
    # A release overlay built on another one (release.basedOn): an unknown base, a loop.
    Case("basedOn an unknown release", {"values/rocky.yaml": [("  basedOn: queens\n", "  basedOn: kilo\n")]},
         "values/rocky.yaml:@:12: CG310", "release.basedOn names 'kilo', which is no release overlay", release="rocky", anchor="  basedOn: kilo\n"),
    Case("basedOn loop", {"values/queens.yaml": [("  name: queens\n", "  name: queens\n  basedOn: stein\n")]},
         "values/queens.yaml:@:12: CG310", "release.basedOn makes a loop: stein -> rocky -> queens -> stein", release="stein", anchor="  basedOn: stein\n"),
    # An image in a Kolla registry outside the release's recorded scheme (release.images).
    Case("image outside the release's scheme", {"values/stein.yaml": [("repository: docker.io/kolla/ubuntu-binary-placement-api", "repository: docker.io/kolla/ubuntu-source-placement-api")]},
         "values/stein.yaml:@:21: CG416", "docker.io/kolla/ubuntu-source-placement-api is not in the Kolla scheme of stein", release="stein",
         anchor="        repository: docker.io/kolla/ubuntu-source-placement-api\n"),
    Case("tag outside the release's scheme", {"values/2025.1.yaml": [("repository: quay.io/openstack.kolla/keystone\n        tag: 2025.1-ubuntu-noble", "repository: quay.io/openstack.kolla/keystone\n        tag: \"2025.1\"")]},
         "values/2025.1.yaml:@:14: CG416", "tag '2025.1' of quay.io/openstack.kolla/keystone is not the tag Kolla published for 2025.1", release="2025.1",
         anchor='        tag: "2025.1"\n'),
]


def apply(project: Path, edits: dict[str, Edit]) -> None:
    for name, edit in edits.items():
        path = project / name
        if isinstance(edit, str):
            path.write_text(edit, encoding="utf-8")
            continue
        text = path.read_text(encoding="utf-8")
        for old, new in edit:
            assert old in text, f"case edit does not apply to {name}: {old!r}"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")


def test_corpus_is_large_and_covers_every_input_code() -> None:
    assert len(CASES) >= 25
    codes = {case.expect.split(": ")[-1] for case in CASES if ": CG" in case.expect} | {"CG101", "CG407", "CG411"}
    from chartgen.diagnostics import CODES

    untested = sorted(code for code in CODES if code not in codes and code not in {"CG107", "CG209", "CG503", "CG504", "CG505", "CG506", "CG507", "CG508"})  # CG504: tests/test_init_site.py, CG505: tests/test_diff.py, CG506: tests/test_check_upgrade.py, CG507/CG508: tests/test_upgrade_path.py
    assert not untested, f"codes without a bad-input case: {untested}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, project: Path) -> None:
    out = project / "out"
    run_chartgen("build", "--release", "queens", "--out", str(out), cwd=project, check=True)
    before = tree_bytes(out)
    apply(project, case.edits)

    result = run_chartgen("build", "--release", case.release, "--out", str(out), *case.extra, cwd=project, timeout=SECONDS)
    expect = case.expect
    if case.anchor:
        text = (project / expect.split(":")[0]).read_text(encoding="utf-8")
        assert text.count(case.anchor) == 1, f"anchor {case.anchor!r} is not unique"
        expect = expect.replace("@", str(text[: text.index(case.anchor)].count("\n") + 1), 1)

    assert result.code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(expect)]
    assert lines, f"no line starting {expect!r} in:\n{result.stderr}"
    assert any(case.message in line for line in lines), f"{case.message!r} not in {lines}"
    assert tree_bytes(out) == before, "the previous output changed"


# --- fuzzed input through the real CLI (hypothesis) ----------------------------------------------------
# Each example is one `chartgen build` process, killed after SECONDS: whatever the input, it exits 0,
# or 2 with positioned diagnostics and the previous output untouched; never a traceback, never a hang.
DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: CG\d{3} ", re.MULTILINE)
FUZZ = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

TOKENS = ["services", "memcached", "components", "server", "replicas", ":", ": ", "\n", "  ", "- ", "[", "]", "{", "}",
          ",", "&a ", "*a", "<<: ", "!t ", "yes", "~", "3", "'", '"', "#", "\t", "\x00", "é", "$delete", "---\n"]
COMPONENT_KEYS = ["kind", "replicas", "image", "command", "args", "env", "secretEnv", "fieldEnv", "ports", "probes", "resources",
                  "nodeRole", "antiAffinity", "security", "persistence", "service", "members", "configFiles", "waitFor",
                  "readiness", "liveness", "tcpSocket", "port", "nodePort", "requests", "limits", "cpu", "memory",
                  "mountPath", "size", "runAsUser", "writablePaths", "$delete", "$replace", "$append"]
VALUES = st.one_of(st.integers(-2, 70000), st.booleans(), st.sampled_from(
    ["memcache", "memcached", "controller", "StatefulSet", "Deployment", "DaemonSet", "ClusterIP", "NodePort", "Headless",
     "100m", "64Mi", "/tmp", "x" * 70, "${host:galera.haproxy}", "${port:memcached.server.memcache}", "$(NAME)", "", "-v"]))
TREES = st.recursive(VALUES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(COMPONENT_KEYS), inner, max_size=4),
                     max_leaves=12)
COMPONENTS = st.dictionaries(st.sampled_from(COMPONENT_KEYS), TREES, min_size=1, max_size=4)


def build_once(project: Path, out: Path, *extra: str) -> None:
    before = tree_bytes(out)
    result = run_chartgen("build", "--release", "queens", "--out", str(out), "--quiet", *extra, cwd=project, timeout=SECONDS)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code in (0, 2), result.stdout + result.stderr
    if result.code == 2:
        assert DIAGNOSTIC.search(result.stderr), f"exit 2 without a positioned diagnostic:\n{result.stderr}"
        assert tree_bytes(out) == before, "the previous output changed"


@pytest.fixture
def built(project: Path) -> Path:
    out = project / "out"
    run_chartgen("build", "--release", "queens", "--out", str(out), "--quiet", cwd=project, check=True, timeout=SECONDS)
    return out


@FUZZ
@given(st.binary(max_size=300) | st.lists(st.sampled_from(TOKENS), max_size=40).map(lambda parts: "".join(parts).encode()))
def test_fuzzed_bytes_as_a_site_overlay(project: Path, built: Path, raw: bytes) -> None:
    (project / "site.yaml").write_bytes(raw)
    build_once(project, built, *SITE)


@FUZZ
@given(COMPONENTS)
def test_fuzzed_component_in_a_site_overlay(project: Path, built: Path, component: dict[str, Any]) -> None:
    (project / "site.yaml").write_text(yaml_text({"services": {"memcached": {"components": {"server": component}}}}), encoding="utf-8")
    build_once(project, built, *SITE)


@FUZZ
@given(COMPONENTS)
def test_fuzzed_component_in_a_blueprint(project: Path, built: Path, component: dict[str, Any]) -> None:
    from chartgen.load import load_file

    path = project / "blueprints" / "memcached.yaml"
    original = path.read_bytes()
    data = load_file(path).data
    data["components"]["server"].update(component)
    try:
        path.write_text(yaml_text(data), encoding="utf-8")
        build_once(project, built)
    finally:
        path.write_bytes(original)
