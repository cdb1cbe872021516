"""What the blueprints promise, read from `helm template` of the built umbrella (real helm 3 and 4)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from helpers import RELEASES, ROOT
from helmrender import built, config_file, find, objects, template

from chartgen.model import NEW_DATABASE_FLAG

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("charts"))


def workloads(docs: list[dict]) -> list[dict]:
    return [doc for doc in docs if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]


def pod_specs(docs: list[dict]) -> list[tuple[str, dict]]:
    return [(f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]) for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")]


# The chart's own Jobs with a token and a narrow Role (test_least_privilege_everywhere checks it):
# each service's secrets Job and its upgrade-hook twin (named by the hash of their spec) and an upgrade's stop Job.
CHART_OWN_JOB = re.compile(r"Job/oaas-[a-z]+-((upgrade-)?secrets-[0-9a-f]{8}|upgrade-stop-[a-z0-9-]+)")


@pytest.mark.parametrize("major", [3, 4])
def test_galera_topology(scratch: str, major: int) -> None:
    docs = objects(built("queens", scratch), major=major)
    server = find(docs, "StatefulSet", "oaas-galera-server")
    assert server["spec"]["replicas"] == 3
    assert server["spec"]["serviceName"] == "oaas-galera-server"
    service = find(docs, "Service", "oaas-galera-server")
    assert service["spec"]["clusterIP"] == "None"
    assert 3306 in [port["port"] for port in service["spec"]["ports"]]
    assert find(docs, "PodDisruptionBudget", "oaas-galera-server")["spec"]["minAvailable"] == 2
    gcomm = re.search(r"wsrep_cluster_address = gcomm://(\S+)", config_file(docs, "galera", "galera.cnf")).group(1)
    assert gcomm.split(",") == [f"oaas-galera-server-{i}.oaas-galera-server" for i in range(3)]


@pytest.mark.parametrize("release, has_admin", [("newton", True), ("ocata", True), ("pike", True), ("queens", False), ("2025.1", False)])
def test_keystone_admin_port_exists_only_before_queens(scratch: str, release: str, has_admin: bool) -> None:
    docs = objects(built(release, scratch))
    service_ports = [p["port"] for p in find(docs, "Service", "oaas-keystone-api")["spec"]["ports"]]
    container = find(docs, "Deployment", "oaas-keystone-api")["spec"]["template"]["spec"]["containers"][0]
    assert (35357 in service_ports) is has_admin
    assert (35357 in [p["containerPort"] for p in container["ports"]]) is has_admin
    assert ("Listen 0.0.0.0:35357" in config_file(docs, "keystone", "wsgi-keystone.conf")) is has_admin
    assert 5000 in service_ports


def test_member_lists_and_quorum_follow_the_replica_count(scratch: str) -> None:
    docs = objects(built("queens", scratch), "--set", "global.replicas.galera=5", "--set", "global.replicas.rabbitmq=5",
                   "--set", "global.replicas.memcached=4")
    assert find(docs, "StatefulSet", "oaas-galera-server")["spec"]["replicas"] == 5
    assert find(docs, "PodDisruptionBudget", "oaas-galera-server")["spec"]["minAvailable"] == 3
    assert find(docs, "PodDisruptionBudget", "oaas-rabbitmq-server")["spec"]["minAvailable"] == 3
    haproxy = config_file(docs, "galera", "haproxy.cfg")
    servers = [line.split() for line in haproxy.splitlines() if line.strip().startswith("server ")]
    assert [s[1] for s in servers] == [f"oaas-galera-server-{i}" for i in range(5)]
    assert [s[-1] == "backup" for s in servers] == [False, True, True, True, True]
    keystone = config_file(docs, "keystone", "keystone.conf")
    transport = re.search(r"transport_url = (\S+)", keystone).group(1)
    assert transport.count("@oaas-rabbitmq-server-") == 5
    memcache = re.search(r"memcache_servers = (\S+)", keystone).group(1)
    assert memcache.split(",") == [f"oaas-memcached-server-{i}.oaas-memcached-server:11211" for i in range(4)]
    assert config_file(docs, "rabbitmq", "rabbitmq.config").count("'rabbit@oaas-rabbitmq-server-") == 5


@pytest.mark.parametrize("release", RELEASES)
def test_every_long_running_container_has_probes_and_requests(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    assert len(workloads(docs)) >= 6
    for doc in workloads(docs):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            where = f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}"
            assert "readinessProbe" in container and "livenessProbe" in container, where
            assert container["resources"]["requests"], where


def declared_privileged(release: str) -> set[str]:
    """Object names of the workloads whose blueprint declares privilege (the only ones allowed it)."""
    from chartgen.build import compile_release
    from chartgen.config import BuildConfig

    umbrella = compile_release(BuildConfig(ROOT, release)).umbrella
    return {f"oaas-{s.name}-{w.name}" for s in umbrella.services for w in s.workloads if w.security.privileged}


@pytest.mark.parametrize("release", RELEASES)
def test_least_privilege_everywhere(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    allowed = declared_privileged(release)
    seen_privileged = set()
    roles = {d["metadata"]["name"]: d["rules"] for d in docs if d["kind"] == "Role"}
    for where, spec in pod_specs(docs):
        name = where.split("/", 1)[1]
        if "-upgrade-stop-" in name:  # the one token of the chart: it may read and scale the objects it stops, nothing else
            assert spec["serviceAccountName"] == name and roles[name] == [roles[name][0]], where
            assert roles[name][0]["verbs"] == ["get", "patch"] and roles[name][0]["apiGroups"] == ["apps"], where
            assert roles[name][0]["resourceNames"], where
        elif where.startswith("Job/") and spec.get("serviceAccountName", "").endswith("-secrets"):
            assert spec["automountServiceAccountToken"] is True, where  # its Role: its own Secret (get, patch), create
        else:
            assert spec["automountServiceAccountToken"] is False, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        for container in spec.get("initContainers", []) + spec["containers"]:
            security = container["securityContext"]
            label = f"{where}/{container['name']}"
            assert security["capabilities"]["drop"] == ["ALL"], label
            if security["privileged"]:
                assert name in allowed and container in spec["containers"], f"{label} is privileged, its blueprint does not say so"
                seen_privileged.add(name)
            else:
                assert security["allowPrivilegeEscalation"] is False, label
    assert seen_privileged == {name for name in allowed if any(w.endswith("/" + name) for w, _ in pod_specs(docs))}


@pytest.mark.parametrize("release", ["queens", "2025.1"])
def test_api_tokens_only_where_a_blueprint_declares_api_access(scratch: str, release: str) -> None:
    """A pod has a ServiceAccount token only when its blueprint declares apiAccess; then only its
    main container mounts it, and its Role names each object (one the chart creates) and no verb
    that creates, lists or deletes."""
    from chartgen.build import compile_release
    from chartgen.config import BuildConfig

    umbrella = compile_release(BuildConfig(ROOT, release)).umbrella
    declared = {f"oaas-{s.name}-{w.name}": w for s in umbrella.services for w in s.components if w.api_access}
    assert "oaas-galera-server" in declared
    docs = objects(built(release, scratch))
    created = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    for where, spec in pod_specs(docs):
        name = where.split("/", 1)[1]
        mounts = {container["name"]: [m["mountPath"] for m in container.get("volumeMounts", [])]
                  for container in spec.get("initContainers", []) + spec["containers"]}
        token = "/var/run/secrets/kubernetes.io/serviceaccount"
        if CHART_OWN_JOB.fullmatch(where):
            continue
        if name not in declared:
            assert "serviceAccountName" not in spec and not any(token in paths for paths in mounts.values()), where
            continue
        assert spec["serviceAccountName"] == name and ("ServiceAccount", name) in created, where
        assert [container for container, paths in mounts.items() if token in paths] == [spec["containers"][0]["name"]], where
        role = find(docs, "Role", name)
        binding = find(docs, "RoleBinding", name)
        assert binding["roleRef"]["name"] == name and binding["subjects"] == [{"kind": "ServiceAccount", "name": name}]
        kinds = {"configmaps": "ConfigMap", "leases": "Lease"}
        for rule in role["rules"]:
            assert rule["resourceNames"] and not set(rule["verbs"]) & {"create", "list", "delete", "deletecollection", "*"}, rule
            for resource in rule["resources"]:
                assert all((kinds[resource], object_name) in created for object_name in rule["resourceNames"]), rule
    positions = find(docs, "ConfigMap", "oaas-galera-server-positions")
    assert "data" not in positions  # the members' records are theirs: an upgrade must not reset them


def test_node_roles_and_anti_affinity_follow_the_blueprints(scratch: str) -> None:
    from chartgen.build import compile_release
    from chartgen.config import BuildConfig

    umbrella = compile_release(BuildConfig(ROOT, "queens")).umbrella
    declared = {f"oaas-{s.name}-{w.name}": w for s in umbrella.services for w in s.components}
    docs = objects(built("queens", scratch), "--set", "global.nodeRoles.controller.key=node-role.example/control")
    labels = {"controller": "node-role.example/control", "compute": "compute", "network": "network"}
    for doc in workloads(docs):
        workload = declared[doc["metadata"]["name"]]
        spec = doc["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == {labels[workload.node_role]: "true"}, doc["metadata"]["name"]
        if workload.anti_affinity == "required":
            terms = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            assert terms[0]["topologyKey"] == "kubernetes.io/hostname"
    assert declared["oaas-galera-server"].node_role == "controller"


def test_secrets_never_reach_config_or_the_manifest_outside_secrets(scratch: str) -> None:
    marker = "Zq8NotInConfig"
    docs = objects(built("queens", scratch), "--set", f"galera.secrets.rootPassword={marker}1",
                   "--set", f"keystone.secrets.dbPassword={marker}2", "--set", f"rabbitmq.secrets.adminPassword={marker}3")
    for doc in docs:
        if doc["kind"] != "Secret":
            assert marker not in str(doc), f"{doc['kind']}/{doc['metadata']['name']} holds a secret value"
    for _, spec in pod_specs(docs):
        for container in spec.get("initContainers", []) + spec["containers"]:
            for env in container.get("env", []):
                if re.search(r"PASSWORD|PWD|COOKIE|KEY_\d", env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), env


@pytest.mark.parametrize("major", [3, 4])
@pytest.mark.parametrize("release", RELEASES)
def test_same_chart_and_values_render_the_same_bytes(scratch: str, release: str, major: int) -> None:
    """Argo CD renders with `helm template` (no lookup): a random value there would rotate it on every sync."""
    chart = built(release, scratch)
    first, second = template(chart, major=major), template(chart, major=major)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert not [d for d in objects(chart, major=major) if d["kind"] == "Secret"]  # the cluster makes them, once


def test_generated_secrets_are_made_by_a_job_with_a_narrow_role(scratch: str) -> None:
    docs = objects(built("queens", scratch), "--namespace", "openstack")
    job = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith("oaas-keystone-secrets-"))
    spec = job["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["SECRET_NAME"] == "oaas-keystone" and "OVERRIDES_NAME" not in env
    assert set(env["SECRET_KEYS"].split()) == {"adminPassword:alphanumeric:32", "dbPassword:alphanumeric:32", "messagingPassword:alphanumeric:32",
                                              "fernetKey0:fernet:32", "fernetKey1:fernet:32", "credentialKey0:fernet:32", "credentialKey1:fernet:32"}
    assert container["image"] == find(docs, "Pod", "oaas-keystone-test-api")["spec"]["containers"][0]["image"]  # the chart's own image
    assert spec["serviceAccountName"] == "oaas-keystone-secrets" and spec["automountServiceAccountToken"] is True
    role = find(docs, "Role", "oaas-keystone-secrets")
    named = {(verb, name) for rule in role["rules"] for verb in rule["verbs"] for name in rule.get("resourceNames", ["*"])}
    assert named == {("get", "oaas-keystone"), ("patch", "oaas-keystone"), ("get", "oaas-keystone-overrides"), ("create", "*")}
    assert all(rule["resources"] == ["secrets"] and rule["apiGroups"] == [""] for rule in role["rules"])
    binding = find(docs, "RoleBinding", "oaas-keystone-secrets")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "oaas-keystone-secrets", "namespace": "openstack"}]
    others = [name for name, s in pod_specs(docs) if s.get("automountServiceAccountToken") is not False and not CHART_OWN_JOB.fullmatch(name)]
    assert not others  # only the secrets Jobs and the upgrade's stop Jobs get a token


def test_an_override_is_a_rendered_secret_the_job_copies(scratch: str) -> None:
    chart = built("queens", scratch)
    job_name = lambda *args: next(d["metadata"]["name"] for d in objects(chart, *args) if d["kind"] == "Job" and "keystone-secrets" in d["metadata"]["name"])  # noqa: E731
    docs = objects(chart, "--set", "keystone.secrets.dbPassword=chosen")
    overrides = find(docs, "Secret", "oaas-keystone-overrides")
    assert overrides["data"] == {"dbPassword": "Y2hvc2Vu"}
    assert job_name() != job_name("--set", "keystone.secrets.dbPassword=chosen") != job_name("--set", "keystone.secrets.dbPassword=other")


def test_job_name_follows_its_spec(scratch: str) -> None:
    chart = built("queens", scratch)
    name = lambda *args: [d["metadata"]["name"] for d in objects(chart, *args) if d["kind"] == "Job" and "keystone" in d["metadata"]["name"]]  # noqa: E731
    assert name() == name()
    assert name() != name("--set", "keystone.images.keystone.tag=6.0.1")
    assert name()[0].startswith("oaas-keystone-bootstrap-")


def config_checksums(docs: list[dict]) -> dict[str, tuple[str, str]]:
    """Each long-running workload's checksum/config, beside the files of its service's ConfigMap."""
    files = {doc["metadata"]["name"]: json.dumps(doc.get("data"), sort_keys=True) for doc in docs if doc["kind"] == "ConfigMap"}
    return {f"{doc['kind']}/{doc['metadata']['name']}": (
                doc["spec"]["template"]["metadata"]["annotations"]["checksum/config"],
                files[f"oaas-{doc['metadata']['labels']['app.kubernetes.io/name']}-config"])
            for doc in workloads(docs) if "checksum/config" in doc["spec"]["template"]["metadata"].get("annotations", {})}


def hook_weight(doc: dict) -> int:
    return int(doc["metadata"]["annotations"]["helm.sh/hook-weight"])


def test_upgrade_jobs_find_their_secret_and_database_when_the_upgrade_adds_the_service(scratch: str) -> None:
    """Pre-upgrade hooks run before Helm applies any plain object. So for a service the upgrade adds
    (stein's placement, or any service a `helm upgrade` enables), the plain secrets Job and bootstrap
    Job have not run yet when its upgrade Jobs start: the secrets Job runs first as a hook, with its own
    ServiceAccount, Role and overrides copy, and the first upgrade Job of the service starts with the
    bootstrap's idempotent db-init steps."""
    docs = objects(built("stein", scratch), "--namespace", "openstack", "--set", "placement.secrets.dbPassword=chosen")
    hooks = [d for d in docs if d["metadata"].get("annotations", {}).get("helm.sh/hook") == "pre-upgrade"]
    service = lambda d: d["metadata"]["labels"]["app.kubernetes.io/name"]  # noqa: E731
    component = lambda d: d["metadata"]["labels"]["app.kubernetes.io/component"]  # noqa: E731
    upgrade_jobs = [d for d in hooks if d["kind"] == "Job" and component(d).startswith("upgrade-") and component(d) != "upgrade-secrets"
                    and not component(d).startswith("upgrade-stop-")]
    assert "placement" in {service(d) for d in upgrade_jobs}
    for name in sorted({service(d) for d in upgrade_jobs}):
        jobs = sorted((d for d in upgrade_jobs if service(d) == name), key=hook_weight)
        refs = {ref["secretKeyRef"]["name"] for d in jobs for c in d["spec"]["template"]["spec"].get("initContainers", []) + d["spec"]["template"]["spec"]["containers"]
                for ref in (item.get("valueFrom", {}) for item in c.get("env", [])) if "secretKeyRef" in ref}
        made = [d for d in hooks if service(d) == name and component(d) == "upgrade-secrets"]
        if f"oaas-{name}" in refs:
            kinds = {d["kind"]: d for d in made}
            assert {"ServiceAccount", "Role", "RoleBinding", "Job"} <= set(kinds), (name, sorted(kinds))
            assert all(d["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded" for d in made)
            assert max(hook_weight(d) for d in made if d["kind"] != "Job") < hook_weight(kinds["Job"]) < hook_weight(jobs[0]), name
            job = kinds["Job"]["spec"]["template"]["spec"]
            plain = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith(f"oaas-{name}-secrets-"))["spec"]["template"]["spec"]
            env = lambda spec: {item["name"]: item["value"] for item in spec["containers"][0]["env"]}  # noqa: E731
            assert {k: v for k, v in env(job).items() if k != "OVERRIDES_NAME"} == {k: v for k, v in env(plain).items() if k != "OVERRIDES_NAME"}
            assert job["serviceAccountName"] == f"oaas-{name}-upgrade-secrets" == kinds["RoleBinding"]["subjects"][0]["name"]
        bootstrap = next((d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith(f"oaas-{name}-bootstrap-")), None)
        db_init = [c["name"] for c in (bootstrap["spec"]["template"]["spec"]["initContainers"] if bootstrap else []) if c["name"].startswith("db-init")]
        first = [c["name"] for c in jobs[0]["spec"]["template"]["spec"].get("initContainers", [])]
        assert [step for step in first if step in db_init] == db_init, (name, first)
    # placement's overrides reach the hook's Job through a copy of its own, named in its Role
    role = find(docs, "Role", "oaas-placement-upgrade-secrets")
    assert ("get", "oaas-placement-overrides-upgrade") in {(verb, n) for rule in role["rules"] for verb in rule["verbs"] for n in rule.get("resourceNames", [])}
    assert find(docs, "Secret", "oaas-placement-overrides-upgrade")["data"] == {"dbPassword": "Y2hvc2Vu"}


def test_a_new_database_gets_its_full_sync_before_the_first_expand(scratch: str) -> None:
    """On upgrade, the bootstrap's sync step gives way to the release's upgrade Jobs. When the upgrade
    adds the service, an expand or a migrate meets an empty database: the first upgrade Job runs the
    replaced sync after db-init, only when db-init flagged the database new (in an emptyDir every
    container of its pod mounts). A sync replaced by the same command (placement, nova) is not repeated."""
    docs = objects(built("2025.1", scratch), "--namespace", "openstack")
    hooks = [d for d in docs if d["kind"] == "Job" and d["metadata"].get("annotations", {}).get("helm.sh/hook") == "pre-upgrade"]
    service = lambda d: d["metadata"]["labels"]["app.kubernetes.io/name"]  # noqa: E731
    full_sync_first = set()
    for name in sorted({service(d) for d in hooks}):
        bootstrap = next((d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith(f"oaas-{name}-bootstrap-")), None)
        if bootstrap is None:
            continue
        steps = {c["name"]: c["command"] for c in bootstrap["spec"]["template"]["spec"].get("initContainers", [])}
        first = sorted((d for d in hooks if service(d) == name and d["metadata"]["name"].startswith(f"oaas-{name}-upgrade-")
                        and "-upgrade-secrets" not in d["metadata"]["name"] and "-upgrade-stop-" not in d["metadata"]["name"]), key=hook_weight)[0]
        pod = first["spec"]["template"]["spec"]
        inits = [c for c in pod.get("initContainers", []) if c["name"] in steps]
        for container in inits:
            if not any(NEW_DATABASE_FLAG in word for word in container["command"]):
                continue
            full_sync_first.add(name)
            shell, flag, script, step_name, *command = container["command"]
            assert (shell, flag, step_name, command) == ("/bin/sh", "-c", container["name"], steps[container["name"]]), container["command"]
            assert script.startswith("if [ -e /oaas/step-flags/new-database ]; then") and 'exec "$@"' in script
            assert [c["name"] for c in inits].index(container["name"]) > max(i for i, c in enumerate(inits) if c["name"].startswith("db-init"))
            writers = [c for c in inits if c["name"].startswith("db-init")]
            for each in writers + [container] + pod["containers"]:  # db-init flags, the sync reads
                assert {"name": "step-flags", "mountPath": "/oaas/step-flags"} in each["volumeMounts"], (name, each["name"])
            assert {"name": "step-flags", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}} in pod["volumes"]
    assert full_sync_first == {"glance", "keystone", "neutron"}, full_sync_first
    assert f'NEW_DATABASE_FLAG = "{NEW_DATABASE_FLAG}"' in (ROOT / "chartgen" / "shared" / "db-init.py").read_text()


@pytest.mark.parametrize("before, after", [("queens", "rocky"), ("2025.1", "2025.2")])
def test_a_release_upgrade_rolls_only_the_pods_whose_files_changed(scratch: str, before: str, after: str) -> None:
    # The ConfigMaps' labels carry the release: hashing them rolled every database and broker pod on
    # each release upgrade, none of whose files had changed.
    old, new = config_checksums(objects(built(before, scratch))), config_checksums(objects(built(after, scratch)))
    assert old.keys() & new.keys()
    unchanged = {name for name in old.keys() & new.keys() if old[name][1] == new[name][1]}
    assert unchanged and unchanged != old.keys() & new.keys(), (before, after, unchanged)  # both cases occur
    for name in old.keys() & new.keys():
        assert (old[name][0] == new[name][0]) is (name in unchanged), (name, before, after)


@pytest.mark.parametrize("major", [3, 4])
@pytest.mark.parametrize("setting, message", [
    ("global.replicas.galera=4", "replicas"),
    ("keystone.api.replicas=three", "replicas"),
    ("keystone.api.replicaz=3", "replicaz"),
    ("galera.server.privileged=true", "privileged"),
])
def test_values_schema_refuses_bad_values(scratch: str, major: int, setting: str, message: str) -> None:
    args = ["--set-string" if "three" in setting else "--set", setting]
    result = template(built("queens", scratch), *args, major=major)
    assert result.returncode != 0
    assert "schema" in result.stderr and message in result.stderr, result.stderr


BACKUPS_ON = ("--set", "galera.jobs.backup.enabled=true")
ENCRYPTED = ("--set", "galera.jobs.backup.encryption.enabled=true", "--set", "galera.jobs.backup.encryption.secretName=backup-key",
             "--set", "galera.jobs.backup.encryption.key=passphrase")


@pytest.mark.parametrize("release", ["queens", "2025.1"])
def test_galera_backups_are_opt_in_and_run_beside_one_member(scratch: str, release: str) -> None:
    chart = built(release, scratch)
    assert not [d for d in objects(chart) if d["kind"] == "CronJob" or d["metadata"]["name"].startswith("oaas-galera-backup")]
    docs = objects(chart, *BACKUPS_ON, "--set", "galera.jobs.backup.member=2")
    cronjob = find(docs, "CronJob", "oaas-galera-backup")
    assert cronjob["spec"]["schedule"] == "30 2 * * *" and cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
    # The member's claim, read-only, on the member's node; the backups on a claim of their own, kept on uninstall.
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["member-data"]["persistentVolumeClaim"] == {"claimName": "data-oaas-galera-server-2", "readOnly": True}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "oaas-galera-backup-data"}
    term = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term == {"labelSelector": {"matchLabels": {"statefulset.kubernetes.io/pod-name": "oaas-galera-server-2"}}, "topologyKey": "kubernetes.io/hostname"}
    claim = find(docs, "PersistentVolumeClaim", "oaas-galera-backup-data")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" and claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    (container,) = pod["containers"]
    env = {var["name"]: var for var in container["env"]}
    assert env["MYSQL_PWD"]["valueFrom"]["secretKeyRef"] == {"name": "oaas-galera", "key": "rootPassword"}
    assert env["SOURCE_MEMBER"]["value"] == "2" and env["BACKUP_CYCLE"]["value"] == "7" and "BACKUP_KEY" not in env
    assert container["securityContext"]["readOnlyRootFilesystem"] is True and container["securityContext"]["privileged"] is False
    assert {"ephemeral-storage", "memory"} <= set(container["resources"]["limits"])
    assert all(volume["emptyDir"].get("sizeLimit") for volume in pod["volumes"] if "emptyDir" in volume)


def test_backup_encryption_key_comes_from_the_deployers_secret_only_when_on(scratch: str) -> None:
    docs = objects(built("queens", scratch), *BACKUPS_ON, *ENCRYPTED)
    pod = find(docs, "CronJob", "oaas-galera-backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = {var["name"]: var for var in pod["containers"][0]["env"]}
    assert env["BACKUP_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "backup-key", "key": "passphrase"}
    assert not pod.get("initContainers")  # no other container of the pod gets the key


def test_the_restore_job_exists_only_when_switched_on_and_follows_its_choice(scratch: str) -> None:
    chart = built("queens", scratch)
    restores = lambda *args: [d for d in objects(chart, *BACKUPS_ON, *args) if d["kind"] == "Job"  # noqa: E731
                              and d["metadata"]["name"].startswith("oaas-galera-backup-restore-")]
    assert restores() == []
    (job,) = restores("--set", "galera.jobs.backup.restore.enabled=true")
    (other,) = restores("--set", "galera.jobs.backup.restore.enabled=true", "--set", "galera.jobs.backup.restore.backup=20260101T023000Z-L0")
    assert job["metadata"]["name"] != other["metadata"]["name"]
    container = other["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-1].endswith("backup.py restore")
    assert {var["name"]: var.get("value") for var in container["env"]}["RESTORE_BACKUP"] == "20260101T023000Z-L0"


@pytest.mark.parametrize("setting, message", [
    ("galera.jobs.backup.schedule=0 25 * * *", "schedule"),
    ("galera.jobs.backup.keepCycles=0", "keepCycles"),
    ("galera.jobs.backup.cycle=0", "cycle"),
    ("galera.jobs.backup.encryption.enabled=true", "secretName"),
    ("galera.jobs.backup.restore.backup=yesterday", "backup"),
])
def test_values_schema_refuses_bad_backup_values(scratch: str, setting: str, message: str) -> None:
    result = template(built("queens", scratch), *BACKUPS_ON, "--set", setting)
    assert result.returncode != 0
    assert "schema" in result.stderr and message in result.stderr, result.stderr


def test_render_config_script_fills_placeholders_with_real_sh(scratch: str, tmp_path: Path) -> None:
    docs = objects(built("queens", scratch))
    pod = find(docs, "Deployment", "oaas-keystone-api")["spec"]["template"]["spec"]
    init = next(c for c in pod["initContainers"] if c["name"] == "render-config")
    script = init["args"][0].replace("$$(", "$(")  # what Kubernetes hands to the shell
    templates, rendered = tmp_path / "templates", tmp_path / "config"
    templates.mkdir(), rendered.mkdir()
    (templates / "keystone.conf").write_text("connection = mysql://keystone:$(DB_PASSWORD)@db/keystone\nx = $(RABBITMQ_PASSWORD)\n")
    for name in ("wsgi-keystone.conf",):
        (templates / name).write_text("plain\n")
    for name in ("fernet-0", "fernet-1", "credential-0", "credential-1"):
        (templates / name).write_text(f"$({name.upper().replace('-', '_').replace('FERNET', 'FERNET_KEY').replace('CREDENTIAL', 'CREDENTIAL_KEY')})")
    script = script.replace("/oaas/config-templates", str(templates)).replace("/oaas/config", str(rendered))
    env = {"PATH": "/usr/bin:/bin", "DB_PASSWORD": "p&a|ss\\w/rd", "RABBITMQ_PASSWORD": "r", "FERNET_KEY_0": "f0", "FERNET_KEY_1": "f1",
           "CREDENTIAL_KEY_0": "c0", "CREDENTIAL_KEY_1": "c1"}
    subprocess.run(["/bin/sh", "-ec", script], env=env, check=True, capture_output=True)
    assert (rendered / "keystone.conf").read_text() == "connection = mysql://keystone:p&a|ss\\w/rd@db/keystone\nx = r\n"
    assert (rendered / "fernet-1").read_text() == "f1"
    assert oct((rendered / "fernet-1").stat().st_mode & 0o777) == "0o400"


def test_a_single_member_quorum_never_blocks_a_drain(scratch: str) -> None:
    docs = objects(built("queens", scratch), "--set", "global.replicas.galera=1")
    pdb = find(docs, "PodDisruptionBudget", "oaas-galera-server")["spec"]
    assert pdb.get("maxUnavailable") == 1 and "minAvailable" not in pdb


# --- a secret reaches only the container that reads it ------------------------------------------------
KUBE_REFERENCE = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)")  # what Kubernetes expands ($$ escapes)


def program_containers(spec: dict) -> list[tuple[str, dict]]:
    """The containers that run the workload's programs: the main ones and a job's steps (every init
    container but the chart's own render-config and wait-* helpers)."""
    steps = [c for c in spec.get("initContainers", []) if c["name"] != "render-config" and not c["name"].startswith("wait-")]
    return [("main", c) for c in spec["containers"]] + [("step", c) for c in steps]


def secret_vars(container: dict) -> set[str]:
    return {env["name"] for env in container.get("env", []) if "secretKeyRef" in env.get("valueFrom", {})}


def mounted_files(docs: list[dict], spec: dict, container: dict) -> dict[str, str]:
    """By mount path, the text of each chart config file in the container (a rendered one as
    render-config leaves it for this purpose: its $(NAME) placeholders already filled)."""
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    config = volumes.get("config", {}).get("configMap", {}).get("name")
    data = find(docs, "ConfigMap", config)["data"] if config else {}
    files = {}
    for mount in container.get("volumeMounts", []):
        if mount["name"] in ("config", "rendered-config") and mount.get("subPath") in data:
            text = data[mount["subPath"]]
            files[mount["mountPath"]] = KUBE_REFERENCE.sub("", text) if mount["name"] == "rendered-config" else text
    return files


def mentioned(names: set[str], container: dict, files: dict[str, str]) -> set[str]:
    """The names the container mentions as words: in its command, args, probe commands and plain env
    values, or in a file it runs (its mount path appears there, or in a file it runs)."""
    texts = [*container.get("command", []), *container.get("args", [])]
    texts += [part for probe in ("readinessProbe", "livenessProbe", "startupProbe") for part in container.get(probe, {}).get("exec", {}).get("command", [])]
    texts += [env["value"] for env in container.get("env", []) if "value" in env]
    text, todo, run = "\n".join(texts), ["\n".join(texts)], set()
    while todo:
        current = todo.pop()
        for path, content in files.items():
            if path not in run and path in current:
                run.add(path)
                todo.append(content)
                text += "\n" + content
    return {name for name in names if re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", text)}


def reads_secret_env(release: str) -> dict[tuple[str, str], set[str]]:
    """(pod label app.kubernetes.io/name, container name) -> readsSecretEnv of its blueprint entry."""
    from chartgen.build import compile_release
    from chartgen.config import BuildConfig
    from chartgen.model import kebab

    tree = compile_release(BuildConfig(ROOT, release)).merged.tree["services"]
    found: dict[tuple[str, str], set[str]] = {}
    for service, spec in tree.items():
        for group in ("components", "jobs"):
            for key, workload in spec.get(group, {}).items():
                found[(service, kebab(key))] = set(workload.get("readsSecretEnv", []))
                for step in workload.get("steps", []):
                    found[(service, step["name"])] = set(step.get("readsSecretEnv", []))
    return found


def secret_env_facts(docs: list[dict], release: str) -> list[tuple[str, str, set[str], set[str], set[str]]]:
    """Per program container: (where, role, its secret variables, the pod's, those it mentions or reads)."""
    declared = reads_secret_env(release)
    facts = []
    for where, spec in pod_specs(docs):
        doc = next(d for d in docs if f"{d['kind']}/{d['metadata']['name']}" == where)
        service = doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        pod_secrets = set().union(*(secret_vars(c) for c in spec.get("initContainers", []) + spec["containers"]))
        for role, container in program_containers(spec):
            files = mounted_files(docs, spec, container)
            reads = mentioned(pod_secrets, container, files) | declared.get((service, container["name"]), set())
            facts.append((f"{where}/{container['name']}", role, secret_vars(container), pod_secrets, reads))
    return facts


@pytest.mark.parametrize("release", RELEASES)
def test_a_secret_reaches_only_the_containers_that_read_it(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    facts = secret_env_facts(docs, release)
    assert sum(1 for _, role, *_ in facts if role == "step") >= 10  # the bootstrap jobs' steps are checked too
    for where, _, carried, pod_secrets, reads in facts:
        assert carried <= reads, f"{where} carries {sorted(carried - reads)}, which it never reads"
        assert reads & pod_secrets <= carried, f"{where} reads {sorted((reads & pod_secrets) - carried)} but does not get them"
    # The render-config init container gets exactly the variables its script fills.
    for where, spec in pod_specs(docs):
        for init in (c for c in spec.get("initContainers", []) if c["name"] == "render-config"):
            names = set(re.search(r"for name in ([A-Z0-9_ ]+); do", init["args"][0]).group(1).split())
            assert {env["name"] for env in init["env"]} == names, where


@pytest.mark.parametrize("release", RELEASES)
def test_every_variable_a_container_refers_to_is_defined_before(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    checked = 0
    for where, spec in pod_specs(docs):
        for container in spec.get("initContainers", []) + spec["containers"]:
            label = f"{where}/{container['name']}"
            defined: list[str] = []
            for env in container.get("env", []):
                for name in KUBE_REFERENCE.findall(env.get("value", "")):
                    assert name in defined, f"{label}: env {env['name']} refers to $({name}), not defined before it"
                    checked += 1
                defined.append(env["name"])
            for part in container.get("command", []) + container.get("args", []):
                for name in KUBE_REFERENCE.findall(part):
                    assert name in defined, f"{label}: $({name}) in its command or args is not one of its variables"
                    checked += 1
    assert checked >= 1


def test_main_containers_keep_no_secret_only_render_config_needs(scratch: str) -> None:
    """The issue's finding, stated for queens: fernet keys, DB and bus passwords only in render-config."""
    docs = objects(built("queens", scratch))
    keystone = find(docs, "Deployment", "oaas-keystone-api")["spec"]["template"]["spec"]
    assert secret_vars(keystone["containers"][0]) == set()
    render = next(c for c in keystone["initContainers"] if c["name"] == "render-config")
    assert {"FERNET_KEY_0", "DB_PASSWORD", "RABBITMQ_PASSWORD"} <= secret_vars(render)
    compute = find(docs, "DaemonSet", "oaas-nova-compute")["spec"]["template"]["spec"]["containers"][0]
    assert compute["securityContext"]["privileged"] and secret_vars(compute) == set()
    galera = find(docs, "StatefulSet", "oaas-galera-server")["spec"]["template"]["spec"]["containers"][0]
    assert secret_vars(galera) == {"MYSQL_PWD"}  # readsSecretEnv: the probes' mysql client reads it


def pod_spec_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def pod_specs_with_tests(docs: list[dict]) -> list[tuple[str, dict]]:
    return pod_specs(docs) + [(f"Pod/{d['metadata']['name']}", d["spec"]) for d in docs if d["kind"] == "Pod"]


@pytest.mark.parametrize("release", RELEASES)
def test_scratch_space_is_bounded_everywhere(scratch: str, release: str) -> None:
    """Every container requests and limits ephemeral storage, every disk emptyDir has a sizeLimit:
    a runaway log or scratch file gets its pod evicted instead of filling the node's disk."""
    docs = objects(built(release, scratch))
    unbounded = [f"{where} {c['name']}" for where, spec in pod_specs_with_tests(docs) for c in pod_spec_containers(spec)
                 if not {"requests", "limits"} <= {section for section, quantities in c["resources"].items() if "ephemeral-storage" in quantities}]
    assert not unbounded
    volumes = [(where, volume) for where, spec in pod_specs_with_tests(docs) for volume in spec.get("volumes", []) if "emptyDir" in volume]
    assert len(volumes) > 100
    assert not [f"{where} {volume['name']}" for where, volume in volumes if not volume["emptyDir"].get("sizeLimit")]


@pytest.mark.parametrize("release", RELEASES)
def test_quorum_members_and_node_agents_have_their_priority_class(scratch: str, release: str) -> None:
    docs = objects(built(release, scratch))
    classes = {d["metadata"]["name"]: d["value"] for d in docs if d["kind"] == "PriorityClass"}
    # helm template: namespace "default", release "oaas"; two installs in one cluster get their own
    assert classes == {"default-oaas-quorum": 1000000, "default-oaas-node-agent": 900000}
    priority = {f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["spec"].get("priorityClassName") for d in workloads(docs)}
    quorum = {"StatefulSet/oaas-galera-server", "StatefulSet/oaas-rabbitmq-server"}
    assert quorum <= set(priority)
    # etcd, zookeeper, mongodb: the releases that have them
    quorum |= {f"StatefulSet/oaas-{name}-server" for name in ("etcd", "zookeeper", "mongodb")} & set(priority)
    agents = {name for name in priority if name.startswith("DaemonSet/")}
    assert len(agents) >= 5
    assert {name: cls for name, cls in priority.items() if cls} == {name: "default-oaas-quorum" for name in quorum} | {name: "default-oaas-node-agent" for name in agents}
    shared = objects(built(release, scratch), "--set", "global.priorityClasses.create=false")
    assert not [d for d in shared if d["kind"] == "PriorityClass"]


@pytest.mark.parametrize("release", RELEASES)
def test_pdbs_let_a_drain_evict_pods_that_are_not_ready(scratch: str, release: str) -> None:
    pdbs = [d for d in objects(built(release, scratch)) if d["kind"] == "PodDisruptionBudget"]
    assert len(pdbs) > 10 and {d["spec"].get("unhealthyPodEvictionPolicy") for d in pdbs} == {"AlwaysAllow"}


@pytest.mark.parametrize("release", RELEASES)
def test_no_liveness_probe_checks_a_dependency(scratch: str, release: str) -> None:
    """The AMQP consumers are ready while connected to RabbitMQ (an ESTABLISHED socket to 5672,
    0x1628) but alive while their process runs: a broker outage must not restart them."""
    docs = objects(built(release, scratch))
    ready, alive = set(), set()
    for where, spec in pod_specs(docs):
        for container in spec["containers"]:
            if "1628" in str(container.get("readinessProbe", "")):
                ready.add(where)
            if "1628" in str(container.get("livenessProbe", "")):
                alive.add(where)
    assert "Deployment/oaas-nova-conductor" in ready and "Deployment/oaas-cinder-scheduler" in ready
    assert not alive


def test_an_image_digest_pins_the_build(scratch: str) -> None:
    digest = "sha256:" + "ab" * 32
    docs = objects(built("queens", scratch), "--set", f"keystone.images.keystone.digest={digest}")
    main = find(docs, "Deployment", "oaas-keystone-api")["spec"]["template"]["spec"]["containers"][0]
    assert main["image"] == f"docker.io/kolla/ubuntu-binary-keystone@{digest}"
    result = template(built("queens", scratch), "--set", "keystone.images.keystone.digest=latest")
    assert result.returncode != 0 and "digest" in result.stderr


# --- NetworkPolicies from the dependency graph -----------------------------------------------------
def admitted(policy: dict) -> set[str]:
    """The services (app.kubernetes.io/name) a NetworkPolicy admits by pod selector."""
    return {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for rule in policy["spec"].get("ingress", []) for peer in rule.get("from", []) if "podSelector" in peer}


@pytest.mark.parametrize("release", RELEASES)
def test_network_policies_admit_exactly_the_dependency_graph(scratch: str, release: str) -> None:
    """Each component with a port admits its own service and every service whose blueprint depends on
    it, and no other service: drop a dependency's allow (or add a stray one) and this fails."""
    graph = json.loads(subprocess.run([str(ROOT / ".venv" / "bin" / "chartgen"), "graph", "--release", release, "--format", "json"],
                                      capture_output=True, text=True, check=True, cwd=ROOT).stdout)["services"]
    dependents = {name: {other for other, spec in graph.items() if name in spec["dependsOn"]} for name in graph}
    docs = objects(built(release, scratch))
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
    checked = 0
    for doc in workloads(docs):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        if doc["spec"]["template"]["spec"].get("hostNetwork"):
            assert doc["metadata"]["name"] not in policies  # a policy does not apply on the host network
            continue
        policy = policies[doc["metadata"]["name"]]
        assert policy["spec"]["podSelector"]["matchLabels"] == doc["spec"]["selector"]["matchLabels"]
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        ports = {(p["containerPort"], p.get("protocol", "TCP")) for c in doc["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        if not ports:
            assert policy["spec"]["ingress"] == [], doc["metadata"]["name"]
            continue
        service = labels["app.kubernetes.io/name"]
        assert admitted(policy) == {service} | dependents[service], doc["metadata"]["name"]
        for rule in policy["spec"]["ingress"]:
            assert {(p["port"], p["protocol"]) for p in rule["ports"]} <= ports
        checked += 1
    assert checked >= 5
    galera = policies["oaas-galera-server"]
    assert "keystone" in admitted(galera) and "memcached" not in admitted(galera)
    assert all("from" in rule for rule in galera["spec"]["ingress"])  # no rule open to every source


def test_network_policies_can_be_turned_off_and_host_agents_get_their_ports(scratch: str) -> None:
    chart = built("queens", scratch)
    assert not [d for d in objects(chart, "--set", "global.networkPolicy.enabled=false") if d["kind"] == "NetworkPolicy"]
    docs = objects(chart, "--set", "global.networkPolicy.hostNetworkFrom={10.0.0.0/24}")
    rabbitmq = find(docs, "NetworkPolicy", "oaas-rabbitmq-server")
    host_rule = rabbitmq["spec"]["ingress"][1]  # nova-compute and the neutron agents, on the host network
    assert host_rule == {"ports": [{"port": 5672, "protocol": "TCP"}], "from": [{"ipBlock": {"cidr": "10.0.0.0/24"}}]}
    horizon = find(docs, "NetworkPolicy", "oaas-horizon-server")
    assert {"ports": [{"port": 8080, "protocol": "TCP"}]} not in horizon["spec"]["ingress"]  # ClusterIP: not published
    horizon = find(objects(chart, "--set", "horizon.server.serviceType=NodePort"), "NetworkPolicy", "oaas-horizon-server")
    assert {"ports": [{"port": 8080, "protocol": "TCP"}]} in horizon["spec"]["ingress"]  # NodePort: every source
