"""Stage 4, resolve: the merged, validated tree -> the frozen model (chartgen.model).

References between services are compiled here (chartgen.expressions), once, after merging; facts
that follow from compile-time inputs are decided here, so templates only place values.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from importlib import resources
from typing import Any, Callable

from chartgen.container_env import container_envs
from chartgen.diagnostics import Diagnostic
from chartgen.expressions import (
    PLACEHOLDER,
    Scope,
    compile_string,
    fullname_expr,
    go_string,
    has_reference,
    placeholders,
    replicas_expr,
)
from chartgen.facts import image_facts
from chartgen.load import Path
from chartgen.merge import Merged
from chartgen.model import (
    ApiAccess,
    ApiObject,
    ConfigFile,
    FileCheck,
    DnsLabel,
    EnvVar,
    Image,
    NEW_DATABASE_FLAG,
    Persistence,
    Port,
    Probe,
    Release,
    Secret,
    Security,
    Service,
    Step,
    Umbrella,
    ValuesKey,
    Wait,
    Workload,
    camel,
    kebab,
    service_type,
)
from chartgen.scheduled import ScheduledParts

# What an upgrade job takes from the job or component it runs in: its pod, not its command or steps.
_UPGRADE_POD_KEYS = ("image", "env", "fieldEnv", "secretEnv", "configFiles", "waitFor", "resources", "nodeRole", "security")
# The command of a step that runs only on a new database: the step's name is $0, its command "$@".
_IF_NEW_DATABASE = (f'if [ -e {NEW_DATABASE_FLAG} ]; then echo "$0: the database is new: running its full sync first"; exec "$@"; fi; '
                    'echo "$0: the database already holds a schema: the upgrade Jobs migrate it"')
_PROBE_TIMING = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold")
# Every container gets an ephemeral-storage request and limit unless its blueprint sets one: the
# kubelet then evicts a pod whose logs and scratch space run away instead of filling the node's disk.
# The limit covers a few writable-path emptyDirs (SCRATCH_SIZE_LIMIT each) and the container's logs.
EPHEMERAL_STORAGE = {"requests": "64Mi", "limits": "2Gi"}
SCRATCH_SIZE_LIMIT = "1Gi"  # default sizeLimit of a writable-path emptyDir (security.scratchSizeLimit)


class _Resolver:
    def __init__(self, merged: Merged):
        self.merged = merged
        self.catalog: dict[str, dict[str, Any]] = merged.tree.get("services", {})
        self.problems: list[Diagnostic] = []
        self.scheduled = ScheduledParts(self.at)

    def at(self, path: Path, code: str = "CG407") -> Callable[[str], None]:
        """A reporter of `code` problems positioned where `path` was set."""

        def report(message: str) -> None:
            self.problems.append(Diagnostic(*self.merged.where(path), code, message))

        return report

    # --- services ------------------------------------------------------------------------------
    def service(self, name: str) -> Service:
        spec = self.catalog[name]
        base: Path = ("services", name)
        scope = Scope(name, self.catalog, frozenset(spec.get("dependsOn", [])))
        images = {key: self.image(key, value, base + ("images", key)) for key, value in sorted(spec["images"].items())}
        secrets = tuple(
            Secret(ValuesKey(key), value["description"], value.get("format", "alphanumeric"), value.get("length", 32))
            for key, value in sorted(spec.get("secrets", {}).items())
        )
        configs = {
            key: self.config_file(key, value, scope, base + ("configFiles", key))
            for key, value in sorted(spec.get("configFiles", {}).items())
        }

        @functools.cache
        def file_text(key: str) -> str:  # read only for the files a container runs, once per service
            return _file_text(spec["configFiles"][key], configs[key])

        components = tuple(
            self.workload(key, value, scope, images, configs, file_text, base + ("components", key), job=False)
            for key, value in sorted(spec["components"].items())
        )
        jobs = tuple(
            self.workload(key, value, scope, images, configs, file_text, base + ("jobs", key), job=True)
            for key, value in sorted(spec.get("jobs", {}).items())
        )
        jobs = self.install_only_steps(name, spec, jobs) + self.upgrade_jobs(name, spec, scope, images, configs, file_text)
        tests = tuple(
            self.workload(key, value, scope, images, configs, file_text, base + ("tests", key), job=False, test=True)
            for key, value in sorted(spec.get("tests", {}).items())
        )
        for component in components:
            if component.members:  # its own replica count lives in global.replicas too
                scope.replicas_read[name] = component.replicas or 1
        return Service(
            name=DnsLabel(name),
            description=spec["description"],
            enabled=spec.get("enabled", True),
            depends_on=tuple(spec.get("dependsOn", [])),
            images=tuple(images.values()),
            secrets=secrets,
            config_files=tuple(configs.values()),
            components=components,
            jobs=jobs,
            tests=tests,
            global_replicas=tuple(sorted(scope.replicas_read.items())),
        )

    # --- upgrade jobs (values/<release>.yaml `upgrade:`) ---------------------------------------------
    def upgrade_entries(self) -> list[tuple[int, dict[str, Any]]]:
        """(index, entry) of every upgrade job; the index is its place in the release's order."""
        upgrade = self.merged.tree.get("upgrade", {})
        return list(enumerate(upgrade.get("jobs", []) if isinstance(upgrade, dict) else []))

    def check_upgrade_services(self) -> None:
        for index, entry in self.upgrade_entries():
            if entry["service"] not in self.catalog:
                self.at(("upgrade", "jobs", index, "service"), "CG417")(
                    f"upgrade job {entry['name']!r} names the service {entry['service']!r}, which has no blueprint")

    def upgrade_jobs(self, name: str, spec: dict[str, Any], scope: Scope, images: dict[str, Image],
                     configs: dict[str, ConfigFile], file_text: Callable[[str], str]) -> tuple[Workload, ...]:
        """The service's upgrade Jobs: each runs its command in the pod of a job or component of the
        service (`runIn`, default bootstrap), as a Helm hook weighted by its place in the release's list."""
        found: list[Workload] = []
        prepared = False  # the first pre job also runs the steps marked beforeUpgrade
        for index, entry in self.upgrade_entries():
            if entry["service"] != name:
                continue
            path: Path = ("upgrade", "jobs", index)
            report = self.upgrade_reporter(path, entry)
            run_in = entry.get("runIn", "bootstrap")
            base = spec.get("jobs", {}).get(run_in) or spec["components"].get(run_in)
            key = camel(f"upgrade-{entry['name']}")
            if base is None:
                report("runIn" if "runIn" in entry else "service",
                       f"{name} has no job or component {run_in!r} to run in (jobs: {', '.join(sorted(spec.get('jobs', {}))) or 'none'};"
                       f" components: {', '.join(sorted(spec['components']))})")
                continue
            if key in spec.get("jobs", {}) or any(w.key == key for w in found):
                report("name", f"{name} already has a job {key!r}")
                continue
            stops = self.upgrade_stops(spec, entry, report)
            pod = {item: base[item] for item in _UPGRADE_POD_KEYS if item in base}
            if "configFiles" in entry:  # files of the service it reads besides those of its pod
                pod["configFiles"] = {**pod.get("configFiles", {}), **entry["configFiles"]}
            steps = self.upgrade_steps(name, run_in, base, entry, path) if "steps" in entry else []
            if entry["phase"] == "pre" and not prepared:
                prepared = True
                steps = self.preparing_steps(name, base, entry) + steps
            if steps:
                pod["steps"] = steps
            pod.update(command=entry["command"], description=entry.get("description", f"Upgrade step {entry['name']} of {name}"),
                       timeoutSeconds=entry.get("timeoutSeconds", base.get("timeoutSeconds", 900)), backoffLimit=entry.get("backoffLimit", 2))
            workload = self.workload(key, pod, scope, images, configs, file_text, path, job=True)
            found.append(dataclasses.replace(workload, hook=f"{entry['phase']}-upgrade", hook_weight=index, stops=stops))
        return tuple(found)

    def upgrade_steps(self, name: str, run_in: str, base: dict[str, Any], entry: dict[str, Any], path: Path) -> list[dict[str, Any]]:
        """The init containers of an upgrade job, in order: its own steps (with a command) and steps of
        the job it runs in, reused by name as they are (e.g. bootstrap's db-init before a data migration)."""
        own = {step["name"]: step for step in base.get("steps", [])}
        found: list[dict[str, Any]] = []
        for index, step in enumerate(entry["steps"]):
            report = self.at(path + ("steps", index, "name"), "CG417")
            if step["name"] in (earlier["name"] for earlier in entry["steps"][:index]):
                report(f"upgrade job {entry['name']!r}: step {step['name']!r} twice (each init container needs its own name)")
            if "command" in step:
                found.append(step)
            elif step["name"] in own:
                found.append(own[step["name"]])
            else:
                report(f"upgrade job {entry['name']!r}: {run_in} of {name} has no step {step['name']!r} to reuse"
                       f" (steps: {', '.join(own) or 'none'}); give the step a command of its own")
        return found

    def preparing_steps(self, name: str, base: dict[str, Any], entry: dict[str, Any]) -> list[dict[str, Any]]:
        """What the service's first pre-upgrade Job runs first, in the order of the job it runs in,
        for an upgrade that enables the service or a release that adds it (hooks run before any plain
        Job): the steps marked beforeUpgrade (its database and user), then, only on a new database, the
        steps an upgrade Job replaces with another command: an expand or a migrate needs the schema the
        install's full sync makes. A step the Job lists itself is not repeated."""
        listed = {step["name"] for step in entry.get("steps", [])}
        commands = {step["name"]: step["command"] for step in base.get("steps", [])}
        run_in = entry.get("runIn", "bootstrap")
        differently_replaced = {other["replaces"] for _, other in self.upgrade_entries()
                                if other["service"] == name and other.get("runIn", "bootstrap") == run_in
                                and other.get("replaces") in commands and other["command"] != commands[other["replaces"]]}
        found: list[dict[str, Any]] = []
        for step in base.get("steps", []):
            if step["name"] in listed:
                continue
            if step.get("beforeUpgrade"):
                found.append(step)
            elif step["name"] in differently_replaced:
                found.append({**step, "ifNewDatabase": True})
        return found

    def install_only_steps(self, name: str, spec: dict[str, Any], jobs: tuple[Workload, ...]) -> tuple[Workload, ...]:
        """The steps the release's upgrade jobs replace (`replaces`) run on install only: on upgrade
        the hooks do that work in their order (a plain `db_sync` would contract while old pods run)."""
        replaced: set[tuple[str, str]] = set()
        for index, entry in self.upgrade_entries():
            if entry["service"] != name or "replaces" not in entry:
                continue
            run_in = entry.get("runIn", "bootstrap")
            steps = [step["name"] for step in spec.get("jobs", {}).get(run_in, {}).get("steps", [])]
            if entry["replaces"] not in steps:
                self.upgrade_reporter(("upgrade", "jobs", index), entry)(
                    "replaces", f"{run_in} of {name} has no step {entry['replaces']!r} (steps: {', '.join(steps) or 'none'})")
            replaced.add((run_in, entry["replaces"]))
        return tuple(dataclasses.replace(job, steps=tuple(dataclasses.replace(step, install_only=(job.key, step.name) in replaced)
                                                         for step in job.steps)) if job.steps else job for job in jobs)

    def upgrade_reporter(self, path: Path, entry: dict[str, Any]) -> Callable[[str, str], None]:
        def report(field: str, message: str) -> None:
            self.at(path + (field,) if field in entry else path, "CG417")(f"upgrade job {entry['name']!r}: {message}")

        return report

    def upgrade_stops(self, spec: dict[str, Any], entry: dict[str, Any], report: Callable[[str, str], None]) -> tuple[str, ...]:
        """The components scaled to 0 before the job: Deployments or StatefulSets of the service."""
        stops: list[str] = []
        for component in entry.get("stop", []):
            found = spec["components"].get(component)
            if found is None:
                report("stop", f"no component {component!r} to stop (components: {', '.join(sorted(spec['components']))})")
            elif found["kind"] not in ("Deployment", "StatefulSet"):
                report("stop", f"{component!r} is a {found['kind']}: only a Deployment or StatefulSet can be scaled to 0")
            else:
                stops.append(kebab(component))
        if stops and entry["phase"] != "pre":
            report("stop", "only a pre job can stop components (a post job runs after every pod rolled)")
        return tuple(stops)

    def test_image(self) -> Image:
        """The OpenStack client image every `helm test` pod runs unless it names one of its own."""
        spec = self.merged.tree["global"]["testImage"]
        return Image(ValuesKey("testImage"), spec["repository"], spec["tag"], spec.get("pullPolicy", "IfNotPresent"), spec["source"],
                     values_path=".Values.global.testImage")

    def image(self, key: str, spec: dict[str, Any], path: Path) -> Image:
        facts = image_facts(self.merged, path, spec, self.at(path + ("facts", "from")))
        return Image(ValuesKey(key), spec["repository"], spec["tag"], spec.get("pullPolicy", "IfNotPresent"), spec["source"],
                     spec.get("description", ""), digest=spec.get("digest", ""), facts=facts)

    # --- config files ----------------------------------------------------------------------------
    def config_file(self, key: str, spec: dict[str, Any], scope: Scope, path: Path) -> ConfigFile:
        check = FileCheck.from_spec(spec.get("check"))
        if "shared" in spec:  # one copy in the library chart, not one per service; all of them are Python
            return ConfigFile(ValuesKey(key), spec["fileName"], "text", spec.get("description", ""), "", None, (), spec["shared"],
                              check or FileCheck("python"))
        if spec["format"] == "text":
            content = spec["content"]
            computed = compile_string(content, scope, self.at(path + ("content",))) if has_reference(content) else None
            plain: Any = "" if computed else content
            found = placeholders(content)
        else:
            plain, computed_tree = self.split_options(spec["options"], scope, path + ("options",))
            computed = _dict_expr(computed_tree) if computed_tree else None
            found = placeholders(spec["options"])
        return ConfigFile(ValuesKey(key), spec["fileName"], spec["format"], spec.get("description", ""), plain, computed, tuple(sorted(found)),
                          check=check)

    def split_options(self, options: Any, scope: Scope, path: Path) -> tuple[Any, Any]:
        """Split options into plain values and a tree of compiled expressions (the references)."""
        if isinstance(options, dict):
            plain: dict[str, Any] = {}
            computed: dict[str, Any] = {}
            for key, value in options.items():
                value_plain, value_computed = self.split_options(value, scope, path + (key,))
                if value_computed is not None:
                    computed[key] = value_computed
                if value_plain is not None:
                    plain[key] = value_plain
            return plain, (computed or None)
        if isinstance(options, list) and any(has_reference(item) for item in options):
            items = [compile_string(item, scope, self.at(path + (index,))) if has_reference(item) else _literal(item)
                     for index, item in enumerate(options)]
            return None, "(list " + " ".join(items) + ")"
        if has_reference(options):
            return None, compile_string(options, scope, self.at(path))
        return options, None

    # --- workloads -------------------------------------------------------------------------------
    def workload(self, key: str, spec: dict[str, Any], scope: Scope, images: dict[str, Image],
                 configs: dict[str, ConfigFile], file_text: Callable[[str], str], path: Path, job: bool,
                 test: bool = False) -> Workload:
        service = scope.service
        image = self.test_image() if test and "image" not in spec else images.get(spec["image"])
        if image is None:
            self.at(path + ("image",))(f"no image {spec['image']!r} in images (has: {', '.join(sorted(images))})")
            image = next(iter(images.values()))
        mounts = self.config_mounts(spec, configs, path)
        envs = container_envs(
            self.env(spec, scope, path), spec,
            {mount_path: functools.partial(file_text, config.key) for config, mount_path in mounts},
            {name for config, _ in mounts for name in config.placeholders},
        )
        common = dict(
            service=service,
            key=ValuesKey(key),
            name=kebab(key),
            description=spec.get("description", ""),
            image=image,
            command=tuple(self.text(item, scope, path + ("command", index)) for index, item in enumerate(spec.get("command", []))),
            args=tuple(self.text(item, scope, path + ("args", index)) for index, item in enumerate(spec.get("args", []))),
            working_dir=spec.get("workingDir"),
            shared_env=envs.shared,
            secret_env=envs.main,
            render_env=envs.render,
            config_mounts=mounts,
            waits=self.waits(spec, scope, path),
            resources=with_ephemeral_storage(spec["resources"]),
            security=self.security(spec.get("security", {})),
            node_role=spec["nodeRole"],
        )
        self.check_placeholders(spec, mounts, path)
        self.check_reads(spec, path)
        if test:
            return Workload(kind="Test", timeout_seconds=spec.get("timeoutSeconds", 300), **common)
        if job:
            steps = tuple(self.step(step, scope, images, image, envs.steps[index], path + ("steps", index))
                          for index, step in enumerate(spec.get("steps", [])))
            scheduled = self.scheduled.fields(spec, self.catalog[service]["components"], path,
                                              lambda item, where: self.text(item, scope, where))
            return Workload(kind=scheduled.pop("kind", "Job"), steps=steps, backoff_limit=spec.get("backoffLimit", 6),
                            timeout_seconds=spec.get("timeoutSeconds", 900), persistence=self.persistence(spec.get("persistence")),
                            **scheduled, **common)
        kind = spec["kind"]
        access = api_access(spec.get("apiAccess"))
        if access:  # the objects' names: plain variables of every container (a name is no secret)
            common["shared_env"] = common["shared_env"] + tuple(
                EnvVar(item.env, value=f'(printf "%s-%s" {fullname_expr(service, key)} {go_string(item.name)})') for item in access.objects)
        return Workload(
            kind=kind,
            api_access=access,
            replicas=spec.get("replicas"),
            replicas_expr=replicas_expr(service, key, spec, own=True) or "",
            quorum=spec.get("quorum", False),
            members=spec.get("members", False) or spec.get("quorum", False),
            pod_management_policy=spec.get("podManagementPolicy"),
            ports=tuple(
                Port(name, port["port"], port.get("protocol", "TCP"), port.get("nodePort"), port.get("expose", True),
                     port.get("description", ""), port.get("servicePort"))
                for name, port in sorted(spec.get("ports", {}).items(), key=lambda item: item[1]["port"])
            ),
            service_type=service_type(spec),
            probes=tuple((name, self.probe(probe, spec, scope, path + ("probes", name))) for name, probe in sorted(spec["probes"].items())),
            anti_affinity=spec.get("antiAffinity", "preferred"),
            persistence=self.persistence(spec.get("persistence")),
            termination_grace_seconds=spec.get("terminationGracePeriodSeconds"),
            **common,
        )

    def step(self, spec: dict[str, Any], scope: Scope, images: dict[str, Image], default: Image, env: tuple[EnvVar, ...], path: Path) -> Step:
        image = images.get(spec.get("image", ""), default)
        if "image" in spec and spec["image"] not in images:
            self.at(path + ("image",))(f"no image {spec['image']!r} in images (has: {', '.join(sorted(images))})")
        command = tuple(self.text(item, scope, path + ("command", index)) for index, item in enumerate(spec["command"]))
        if spec.get("ifNewDatabase"):
            command = tuple(go_string(item) for item in ("/bin/sh", "-c", _IF_NEW_DATABASE, spec["name"])) + command
        return Step(spec["name"], image, command, env, if_new_database=bool(spec.get("ifNewDatabase")))

    def text(self, value: Any, scope: Scope, path: Path) -> str:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return compile_string(text, scope, self.at(path)) if has_reference(text) else go_string(text)

    def env(self, spec: dict[str, Any], scope: Scope, path: Path) -> tuple[EnvVar, ...]:
        """Field and secret variables first: Kubernetes expands $(NAME) only from earlier entries."""
        found = [EnvVar(name, field=field_path) for name, field_path in sorted(spec.get("fieldEnv", {}).items())]
        for name, reference in sorted(spec.get("secretEnv", {}).items()):
            owner, _, key = reference.rpartition(".")
            owner = owner or scope.service
            report = self.at(path + ("secretEnv", name))
            if owner not in self.catalog:
                report(f"secret {reference!r}: no service {owner!r}")
                continue
            if owner != scope.service and owner not in scope.depends_on:
                report(f"secret {reference!r}: {owner!r} is not in dependsOn of {scope.service!r}")
                continue
            if key not in self.catalog[owner].get("secrets", {}):
                report(f"secret {reference!r}: service {owner!r} declares no secret {key!r} (has: {', '.join(sorted(self.catalog[owner].get('secrets', {})))})")
                continue
            found.append(EnvVar(name, secret_name=f'(include "oaas-lib.names.secret" (dict "context" $ "service" {go_string(owner)}))', secret_key=key))
        found += [EnvVar(name, value=self.text(value, scope, path + ("env", name))) for name, value in sorted(spec.get("env", {}).items())]
        return tuple(found)

    def config_mounts(self, spec: dict[str, Any], configs: dict[str, ConfigFile], path: Path) -> tuple[tuple[ConfigFile, str], ...]:
        mounts = []
        for key, mount_path in sorted(spec.get("configFiles", {}).items()):
            if key not in configs:
                self.at(path + ("configFiles", key))(f"no config file {key!r} in configFiles (has: {', '.join(sorted(configs))})")
                continue
            mounts.append((configs[key], mount_path))
        return tuple(mounts)

    def check_placeholders(self, spec: dict[str, Any], mounts: tuple[tuple[ConfigFile, str], ...], path: Path) -> None:
        """Every $(NAME) a workload's files or command use must be one of its environment variables."""
        known = set(spec.get("env", {})) | set(spec.get("secretEnv", {})) | set(spec.get("fieldEnv", {}))
        for config, _ in mounts:
            for name in config.placeholders:
                if name not in known:
                    self.at(path + ("configFiles", config.key))(f"config file {config.key!r} uses $({name}), which is not in env, secretEnv or fieldEnv of this workload")
        for field_name in ("command", "args"):
            for index, item in enumerate(spec.get(field_name, [])):
                for name in PLACEHOLDER.findall(str(item)):
                    if name not in known:
                        self.at(path + (field_name, index))(f"$({name}) is not in env, secretEnv or fieldEnv of this workload")

    def check_reads(self, spec: dict[str, Any], path: Path) -> None:
        """readsSecretEnv (of the workload or a step) names variables of secretEnv."""
        secret = spec.get("secretEnv", {})
        owners = [(spec, path)] + [(step, path + ("steps", index)) for index, step in enumerate(spec.get("steps", []))]
        for owner, where in owners:
            for index, name in enumerate(owner.get("readsSecretEnv", [])):
                if name not in secret:
                    self.at(where + ("readsSecretEnv", index))(f"readsSecretEnv names {name}, which is not in secretEnv of this workload")

    def waits(self, spec: dict[str, Any], scope: Scope, path: Path) -> tuple[Wait, ...]:
        found = []
        for index, target in enumerate(spec.get("waitFor", [])):
            service, component_key, port_name = target.split(".")
            report = self.at(path + ("waitFor", index))
            component = scope.component(service, component_key, lambda message: report(f"waitFor {target!r}: {message}"))
            if component is None:
                continue
            port = component.get("ports", {}).get(port_name)
            if port is None:
                report(f"waitFor {target!r}: {service}.{component_key} has no port {port_name!r}")
                continue
            found.append(Wait(target, fullname_expr(service, component_key), port.get("servicePort", port["port"])))
        return tuple(found)

    @staticmethod
    def security(spec: dict[str, Any]) -> Security:
        return Security(
            run_as_user=spec.get("runAsUser"),
            run_as_group=spec.get("runAsGroup"),
            fs_group=spec.get("fsGroup"),
            run_as_non_root=spec.get("runAsNonRoot", True),
            read_only_root_filesystem=spec.get("readOnlyRootFilesystem", True),
            privileged=spec.get("privileged", False),
            host_network=spec.get("hostNetwork", False),
            capabilities=tuple(spec.get("capabilities", [])),
            writable_paths=tuple(spec.get("writablePaths", [])),
            scratch_size_limit=spec.get("scratchSizeLimit", SCRATCH_SIZE_LIMIT),
            host_paths=tuple(
                (key, value["path"], value["mountPath"], value.get("readOnly", True), value.get("type", "Directory"))
                for key, value in sorted(spec.get("hostPaths", {}).items())
            ),
        )

    def probe(self, spec: dict[str, Any], component: dict[str, Any], scope: Scope, path: Path) -> Probe:
        timing = tuple((name, spec[name]) for name in _PROBE_TIMING if name in spec)
        if "exec" in spec:
            return Probe("exec", command=tuple(spec["exec"]), timing=timing)
        if "connectedTo" in spec:
            return Probe("exec", command=self.connected_to(spec["connectedTo"], scope, path + ("connectedTo",)), timing=timing)
        ports = component.get("ports", {})
        port = spec["tcpSocket"] if "tcpSocket" in spec else spec["httpGet"]["port"]
        if port not in ports:
            self.at(path)(f"probe port {port!r} is not a port of this component (has: {', '.join(sorted(ports))})")
        if "tcpSocket" in spec:
            return Probe("tcpSocket", port=port, timing=timing)
        http = spec["httpGet"]
        return Probe("httpGet", port=port, path=http.get("path", "/"), scheme=http.get("scheme", "HTTP"), timing=timing)

    def connected_to(self, target: str, scope: Scope, path: Path) -> tuple[str, ...]:
        """The exec command of a `connectedTo` probe: an ESTABLISHED (state 01) socket whose remote
        port, in hex, is the dependency's port or Service port, in the pod's /proc/net/tcp{,6} (no
        program beyond sh and grep, and no new connection to the dependency)."""
        service, component_key, port_name = target.split(".")
        report = self.at(path)
        component = scope.component(service, component_key, lambda message: report(f"connectedTo {target!r}: {message}"))
        port = (component or {}).get("ports", {}).get(port_name)
        if component is not None and port is None:
            report(f"connectedTo {target!r}: {service}.{component_key} has no port {port_name!r}")
        remote = "|".join(socket_ports(port) if port else ["0000"])
        return ("/bin/sh", "-c", f"grep -qE '^ *[0-9]+: [0-9A-F]+:[0-9A-F]{{4}} [0-9A-F]+:({remote}) 01 ' /proc/net/tcp /proc/net/tcp6")

    @staticmethod
    def persistence(spec: dict[str, Any] | None) -> Persistence | None:
        if spec is None:
            return None
        return Persistence(spec["mountPath"], spec["size"], tuple(spec.get("accessModes", ["ReadWriteOnce"])), spec.get("storageClass"))


def socket_ports(port: dict[str, Any]) -> list[str]:
    """How /proc/net/tcp spells the remote port of a socket to a catalog port (4 hex digits): the
    container's, or the Service's when it differs (connectedTo probes; checks/liveness_dependency)."""
    return [f"{number:04X}" for number in sorted({port["port"], port.get("servicePort", port["port"])})]


def with_ephemeral_storage(resources: dict[str, Any]) -> dict[str, Any]:
    """The blueprint's resources, with EPHEMERAL_STORAGE filled in where it names none."""
    filled = {section: dict(resources.get(section, {})) for section in ("requests", "limits") if section in resources or section in EPHEMERAL_STORAGE}
    for section, quantity in EPHEMERAL_STORAGE.items():
        filled[section].setdefault("ephemeral-storage", quantity)
    return filled


def _file_text(spec: dict[str, Any], config: ConfigFile) -> str:
    """What a config file says to a container that runs it: its text (a shared script's, or its
    options as JSON), without the placeholders render-config fills (chartgen.container_env)."""
    if "shared" in spec:
        return _shared_script(spec["shared"])
    text = spec["content"] if spec["format"] == "text" else json.dumps(spec["options"], sort_keys=True)
    return PLACEHOLDER.sub("", text) if config.needs_rendering else text


@functools.cache
def _shared_script(name: str) -> str:
    return resources.files("chartgen.shared").joinpath(name).read_text(encoding="utf-8")


def _literal(value: Any) -> str:
    return go_string(value) if isinstance(value, str) else go_string(str(value).lower() if isinstance(value, bool) else str(value))


def _dict_expr(tree: Any) -> str:
    """A nested Go `dict` expression from a tree whose leaves are expressions."""
    if isinstance(tree, dict):
        return "(dict " + " ".join(f"{go_string(key)} {_dict_expr(value)}" for key, value in sorted(tree.items())) + ")"
    return tree


def dependency_order(catalog: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    """Services with their dependencies first; ties by name (deterministic). Assumes no cycle."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in catalog:
            return
        seen.add(name)
        for dependency in sorted(catalog[name].get("dependsOn", [])):
            visit(dependency)
        done.append(name)

    for name in sorted(catalog):
        visit(name)
    return tuple(done)


def resolve(merged: Merged, release: Release) -> tuple[Umbrella, list[Diagnostic]]:
    resolver = _Resolver(merged)
    resolver.check_upgrade_services()
    services = tuple(resolver.service(name) for name in sorted(resolver.catalog))
    umbrella = Umbrella(
        release=release,
        global_settings=merged.tree.get("global", {}),
        services=services,
        order=dependency_order(resolver.catalog),
    )
    return umbrella, resolver.problems


def api_access(spec: dict[str, Any] | None) -> ApiAccess | None:
    """A component's declared Kubernetes API access; None (no token at all) when it declares none."""
    if not spec:
        return None
    objects = tuple(
        ApiObject(ValuesKey(key), DnsLabel(kebab(key)), item["kind"], tuple(item["verbs"]), item["env"], item.get("description", ""))
        for key, item in sorted(spec["objects"].items())
    )
    return ApiAccess(spec["reason"], objects)
