"""Stage 6, render: the resolved model -> the files of the umbrella chart, as {relative path: text}.

One Jinja environment, built once: strict (StrictUndefined), with bracket delimiters so Helm's
`{{ }}` passes through untouched. Templates are per Kubernetes archetype, chosen by the model
(`Workload.template`); structured files (Chart.yaml, values, schemas) are serialised by code.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from chartgen import __version__
from chartgen.cache import RenderCache
from chartgen.chartvalues import (
    is_quorum,
    readme_table,
    service_groups,
    service_params,
    umbrella_groups,
    umbrella_params,
    values_schema,
    values_yaml,
)
from chartgen.emit import yaml_text
from chartgen.expressions import go_string
from chartgen.model import STEP_FLAGS_DIR, Service, Umbrella, Workload, camel, kebab

UMBRELLA = "oaas"
LIBRARY = "oaas-lib"
CHART_VERSION = __version__
# README.md and ci/ stay in the repository for people and chart-testing, but out of what Helm loads
# and stores with every release revision (the release record must stay far below 1 MiB).
HELMIGNORE = ".git/\n.gitignore\n*.swp\n*.bak\n*.tmp\n*~\n.DS_Store\nREADME.md\nci/\n"


@dataclass(frozen=True, slots=True)
class Mount:
    name: str
    path: str
    sub_path: str | None = None
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    source: str  # YAML text of the volume source, Helm template text allowed


def volume_mounts(w: Workload) -> list[Mount]:
    mounts = [
        Mount("rendered-config" if config.needs_rendering else "config", path, config.file_name, True)
        for config, path in w.config_mounts
    ]
    if w.persistence:
        mounts.append(Mount("data", w.persistence.mount_path))
    if w.peer_claim:
        mounts.append(Mount("member-data", w.peer_claim.mount_path, None, w.peer_claim.read_only))
    if w.has_step_flags:
        mounts.append(Mount("step-flags", STEP_FLAGS_DIR))
    mounts += [Mount(f"writable-{index}", path) for index, path in enumerate(w.security.writable_paths)]
    mounts += [Mount(f"host-{kebab(key)}", mount_path, None, read_only) for key, _, mount_path, read_only, _ in w.security.host_paths]
    return mounts


def volumes(s: Service, w: Workload) -> list[Volume]:
    found = []
    if w.config_mounts:
        # A pre-upgrade hook runs before Helm updates the service's ConfigMap: it reads the new
        # release's files from their copy, a hook of its own created before it.
        suffix = ' | printf "%s-upgrade"' if w.hook == "pre-upgrade" else ""
        found.append(Volume("config", f'configMap:\n  name: {{{{ include "oaas-lib.names.config" (dict "context" $ "service" {go_string(s.name)}){suffix} }}}}'))
    if w.rendered_configs:
        found.append(Volume("rendered-config", "emptyDir:\n  medium: Memory\n  sizeLimit: 16Mi"))
    if w.persistence and w.kind in ("Deployment", "CronJob"):
        found.append(Volume("data", "persistentVolumeClaim:\n  claimName: {{ $name }}-data"))
    if w.peer_claim:
        # A StatefulSet's claim is data-<pod>: the member jobs.<key>.member of the component.
        member = f'(include "{s.name}.fullname" (dict "context" $ "component" {go_string(w.peer_claim.component)}))'
        found.append(Volume("member-data", f'persistentVolumeClaim:\n  claimName: {{{{ printf "data-%s-%d" {member} (int $values.member) }}}}'
                            + ("\n  readOnly: true" if w.peer_claim.read_only else "")))
    if w.has_step_flags:
        found.append(Volume("step-flags", "emptyDir:\n  medium: Memory\n  sizeLimit: 1Mi"))
    scratch = f"emptyDir:\n  sizeLimit: {w.security.scratch_size_limit}"
    found += [Volume(f"writable-{index}", scratch) for index, _ in enumerate(w.security.writable_paths)]
    found += [
        Volume(f"host-{kebab(key)}", f"hostPath:\n  path: {path}\n  type: {kind}")
        for key, path, _, _, kind in w.security.host_paths
    ]
    return found


def rendered_names(w: Workload) -> list[str]:
    return sorted({name for config, _ in w.rendered_configs for name in config.placeholders})


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        # Compiled templates are kept between runs (keyed by the template's source checksum).
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=False,  # every block tag strips the newline before it ([%- ... %])
        lstrip_blocks=True,
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
    )
    env.filters.update(go=go_string, camel=camel, kebab=kebab)
    env.globals.update(volume_mounts=volume_mounts, volumes=volumes, rendered_names=rendered_names)
    return env


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    from chartgen.cache import enabled

    if not enabled():
        return None
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chartgen" / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home only costs speed
    return jinja2.FileSystemBytecodeCache(str(folder))


def _load_template(name: str) -> str:
    return resources.files("chartgen.templates").joinpath(name).read_text(encoding="utf-8")


def _render(template: str, **context: Any) -> str:
    text = environment().get_template(template).render(**context)
    return _tidy(text)


def _tidy(text: str) -> str:
    """Trailing spaces off, runs of blank lines folded, exactly one final newline."""
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


# --- charts ---------------------------------------------------------------------------------------
def render_umbrella(umbrella: Umbrella, cache: RenderCache | None = None) -> dict[str, str]:
    """Every file of generated-charts/oaas, by path relative to that folder. With a cache, a
    subchart whose render key is known is taken from it instead of being rendered again."""
    files: dict[str, str] = {}
    params = umbrella_params(umbrella)
    services = umbrella.services
    files["Chart.yaml"] = _chart_yaml(
        name=UMBRELLA,
        description=f"OpenStack {umbrella.release.name} on Kubernetes: one subchart per service, generated by chartgen",
        app_version=umbrella.release.name,
        images=[image for service in services for image in service.images],
        dependencies=[{"name": LIBRARY, "version": CHART_VERSION, "repository": f"file://./charts/{LIBRARY}"}]
        + [{"name": s.name, "version": CHART_VERSION, "repository": f"file://./charts/{s.name}", "condition": f"{s.name}.enabled"} for s in services],
    )
    header = f"Values of the oaas umbrella chart for OpenStack {umbrella.release.name}, generated by chartgen.\nEach service's own values are documented in charts/<service>/values.yaml; set them here under the service's key."
    files["values.yaml"] = values_yaml(params, header)
    files["values.schema.json"] = values_schema(
        params, f"oaas umbrella values ({umbrella.release.name})", umbrella_groups(umbrella, LIBRARY),
        open_objects=tuple(s.name for s in services) + (LIBRARY,),
    )
    files["README.md"] = _render("chart/umbrella-README.md.j2", umbrella=umbrella, services=services, values_table=readme_table(params))
    files["templates/NOTES.txt"] = _render("chart/umbrella-NOTES.txt.j2", services=services)
    files["templates/priorityclasses.yaml"] = _render("chart/umbrella-priorityclasses.yaml.j2")
    files[".helmignore"] = HELMIGNORE
    files["ci/default-values.yaml"] = "# chart-testing: the compiled defaults.\n{}\n"
    scaled = {"global": {"replicas": {name: 5 for name in _member_services(umbrella)}}}
    files["ci/scaled-values.yaml"] = "# chart-testing: every quorum and members service scaled to 5.\n" + yaml_text(scaled)
    files.update(render_library(f"charts/{LIBRARY}"))
    for service in services:
        root = f"charts/{service.name}"
        if cache is None:
            files.update(render_service(service, umbrella, root))
            continue
        key = service_key(service, umbrella, root)
        rendered = cache.get(key)
        if rendered is None:
            rendered = render_service(service, umbrella, root)
            cache.put(key, rendered)
        files.update(rendered)
    return files


def service_key(service: Service, umbrella: Umbrella, root: str) -> str:
    """The digest of everything render_service reads: the service's frozen model (its repr is
    complete and ordered), the release, the global settings, whether the services whose replica
    counts it reads are quorum services, where it goes, and chartgen's own code and templates."""
    from chartgen.cache import code_digest

    quorum = {name: is_quorum(umbrella, name) for name, _ in service.global_replicas}
    peers = [(w.name, _ingress_peers(service, umbrella, w)) for w in service.components]  # the graph around it
    text = repr((service, umbrella.release, sorted(umbrella.global_settings.items()), sorted(quorum.items()), peers, root, code_digest()))
    return hashlib.sha256(text.encode()).hexdigest()


def _member_services(umbrella: Umbrella) -> list[str]:
    return [s.name for s in umbrella.services if any(c.members for c in s.components)]


def render_service(service: Service, umbrella: Umbrella, root: str) -> dict[str, str]:
    params = service_params(service, umbrella)
    files = {
        f"{root}/Chart.yaml": _chart_yaml(service.name, service.description, umbrella.release.name, list(service.images)),
        f"{root}/values.yaml": values_yaml(params, f"Values of the {service.name} chart for OpenStack {umbrella.release.name}, generated by chartgen from blueprints/{service.name}.yaml."),
        f"{root}/values.schema.json": values_schema(params, f"{service.name} values ({umbrella.release.name})", service_groups(service)),
        f"{root}/README.md": _render("chart/README.md.j2", s=service, umbrella=umbrella, values_table=readme_table(params)),
        f"{root}/.helmignore": HELMIGNORE,
        f"{root}/ci/default-values.yaml": "# chart-testing: the compiled defaults.\n{}\n",
        f"{root}/templates/_helpers.tpl": _render("chart/_helpers.tpl.j2", s=service),
        f"{root}/templates/NOTES.txt": _render("chart/NOTES.txt.j2", s=service),
    }
    if service.config_files:
        files[f"{root}/templates/configmap.yaml"] = _render("archetypes/configmap.yaml.j2", s=service, upgrade=False)
        if any(job.hook == "pre-upgrade" and job.config_mounts for job in service.jobs):
            files[f"{root}/templates/configmap-upgrade.yaml"] = _render("archetypes/configmap.yaml.j2", s=service, upgrade=True)
    if service.secrets:
        files.update(_secret_generator(service, f"{root}/templates/secrets"))
    for w in service.components:
        folder = f"{root}/templates/{w.name}"
        files[f"{folder}/{w.kind.lower()}.yaml"] = _render(w.template, s=service, w=w)
        if w.service_type != "None" or w.kind == "StatefulSet":
            files[f"{folder}/svc.yaml"] = _render("archetypes/service.yaml.j2", s=service, w=w)
        if not w.security.host_network:  # a policy does not apply to pods on the host network
            files[f"{folder}/networkpolicy.yaml"] = _render("archetypes/networkpolicy.yaml.j2", s=service, w=w, **_ingress_peers(service, umbrella, w))
        if w.kind != "DaemonSet":
            files[f"{folder}/pdb.yaml"] = _render("archetypes/pdb.yaml.j2", s=service, w=w)
        if w.persistence and w.kind == "Deployment":
            files[f"{folder}/pvc.yaml"] = _render("archetypes/pvc.yaml.j2", s=service, w=w)
        if w.api_access:
            for part in ("serviceaccount", "role", "rolebinding"):
                files[f"{folder}/{part}.yaml"] = _render(f"archetypes/{part}.yaml.j2", s=service, w=w)
            for item in w.api_access.objects:
                files[f"{folder}/{item.kind.lower()}-{item.name}.yaml"] = _render("archetypes/apiobject.yaml.j2", s=service, w=w, item=item)
    for job in service.jobs:
        files[f"{root}/templates/jobs/{job.name}.yaml"] = _render(job.template, s=service, w=job)
        if job.kind == "CronJob" and job.persistence:
            files[f"{root}/templates/jobs/{job.name}-pvc.yaml"] = _render("archetypes/pvc.yaml.j2", s=service, w=job)
        if job.on_demand:
            files[f"{root}/templates/jobs/{job.name}-{kebab(job.on_demand.key)}.yaml"] = _render("archetypes/ondemand-job.yaml.j2", s=service, w=job)
        if job.stops:
            files[f"{root}/templates/jobs/{job.name}-stop.yaml"] = _render("archetypes/upgrade-stop.yaml.j2", s=service, w=job)
    for test in service.tests:
        files[f"{root}/templates/tests/{test.name}.yaml"] = _render(test.template, s=service, w=test)
    if any(c.members for c in service.components):
        files[f"{root}/ci/scaled-values.yaml"] = "# chart-testing: the member component scaled to 5.\n" + yaml_text({"global": {"replicas": {service.name: 5}}})
    return files


def _ingress_peers(service: Service, umbrella: Umbrella, component: Workload) -> dict[str, Any]:
    """Who may reach a component, from the dependency graph: the service itself and its dependents
    (peers); the container ports that host-network workloads of dependents wait for (their traffic
    comes from node addresses, which no pod selector matches); whether it is published."""
    dependents = [s for s in umbrella.services if service.name in s.depends_on]
    by_name = {port.name: port.port for port in component.ports}
    prefix = f"{service.name}.{component.key}."
    host_waits = [(s.name, wait.label) for s in dependents for w in s.workloads if w.security.host_network
                  for wait in w.waits if wait.label.startswith(prefix)]
    return {
        "peers": [service.name] + [s.name for s in dependents],
        "host_peers": sorted({name for name, _ in host_waits}),
        "host_ports": [port for port in component.ports if port.port in {by_name.get(label[len(prefix):]) for _, label in host_waits}],
        # published whatever the values say; a publishable one only when its serviceType is NodePort
        "public": component.service_type in ("NodePort", "LoadBalancer") and not component.publishable,
    }


# Each object of a service's secrets Job, by file: (library helper, what it is).
SECRET_GENERATOR = {
    "serviceaccount.yaml": ("serviceAccount", "ServiceAccount of the secrets Job"),
    "role.yaml": ("role", "Role of the secrets Job: its own Secret by name"),
    "rolebinding.yaml": ("roleBinding", "RoleBinding of the secrets Job"),
    "job.yaml": ("job", "the secrets Job, creating the generated credentials once"),
    "overrides.yaml": ("overrides", "the deployer's secrets.<key> values, copied by the secrets Job"),
}


# The secrets Job again as pre-upgrade hooks, for a service whose upgrade Jobs run before Helm applies
# the plain Job (a service the upgrade enables or the release adds has no Secret then).
UPGRADE_SECRET_GENERATOR = ("upgrade-hook.yaml", ("upgradeHook", "the secrets Job as pre-upgrade hooks, before the upgrade Jobs"))


def _secret_generator(service: Service, folder: str) -> dict[str, str]:
    keys = " ".join(f"{secret.key}:{secret.format}:{secret.length}" for secret in service.secrets)
    generators = list(SECRET_GENERATOR.items())
    if any(job.hook == "pre-upgrade" for job in service.jobs):
        generators.append(UPGRADE_SECRET_GENERATOR)
    return {f"{folder}/{file}": _render("archetypes/secret.yaml.j2", s=service, helper=helper, doc=doc, keys=keys)
            for file, (helper, doc) in generators}


def _chart_yaml(name: str, description: str, app_version: str, images: list, dependencies: list | None = None, kind: str = "application") -> str:
    chart: dict[str, Any] = {
        "apiVersion": "v2",
        "name": name,
        "description": description,
        "type": kind,
        "version": CHART_VERSION,
        "appVersion": app_version,
        "keywords": ["openstack", "oaas"],
        "home": "https://opendev.org/openstack",
        "annotations": {"chartgen.dev/generated": "true"},
    }
    if images:
        chart["annotations"]["images"] = yaml_text([{"name": image.key, "image": image.reference} for image in images])
    if dependencies:
        chart["dependencies"] = dependencies
    order = ["apiVersion", "name", "description", "type", "version", "appVersion", "keywords", "home", "annotations", "dependencies"]
    return yaml_text({key: chart[key] for key in order if key in chart}, sort=False)


# --- library chart ----------------------------------------------------------------------------------
def render_library(root: str) -> dict[str, str]:
    templates = resources.files("chartgen.templates").joinpath("library")
    files: dict[str, str] = {}
    helpers: list[tuple[str, str, str]] = []
    for entry in sorted(templates.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".tpl"):
            text = entry.read_text(encoding="utf-8")
            files[f"{root}/templates/{entry.name}"] = text
            helpers += _documented_helpers(text)
    shared = resources.files("chartgen.shared")
    scripts = sorted(entry.name for entry in shared.iterdir() if entry.name.endswith((".py", ".sh")) and not entry.name.startswith("_"))
    files[f"{root}/templates/_shared.tpl"] = "".join(_shared_define(name, shared.joinpath(name).read_text(encoding="utf-8")) for name in scripts)
    helpers += [(f"oaas-lib.shared.{name}", f"the script {name} of chartgen/shared (see its docstring)", f'include "oaas-lib.shared.{name}" .') for name in scripts]
    files[f"{root}/Chart.yaml"] = _chart_yaml(LIBRARY, "Shared helpers of the oaas subcharts (names, labels, member lists, secrets, config files, pods)", CHART_VERSION, [], kind="library")
    rows = ["| Helper | Description | Usage |", "|---|---|---|"]
    rows += [f"| `{name}` | {summary} | `{usage}` |" for name, summary, usage in helpers]
    files[f"{root}/README.md"] = "# oaas-lib\n\nHelpers shared by every oaas subchart, generated by chartgen. One calling convention: a `dict` with `\"context\" $`.\n\n" + "\n".join(rows) + "\n"
    files[f"{root}/.helmignore"] = HELMIGNORE
    return files


def _shared_define(name: str, text: str) -> str:
    """A shared script as a named template; `{{` in it would be read as Helm's, so it is escaped."""
    body = text.replace("{{", '{{ "{{" }}')
    return f'{{{{- /*\noaas-lib.shared.{name}: the script chartgen/shared/{name}, placed in ConfigMaps by blueprints that use it.\n*/ -}}}}\n{{{{- define "oaas-lib.shared.{name}" -}}}}\n{body}{{{{- end -}}}}\n\n'


_HELPER_DOC = re.compile(r"\{\{- /\*\n(?P<name>[\w.-]+): (?P<summary>.*?)\n(?:.*?\n)*?Usage: (?P<usage>.*?)\n", re.S)


def _documented_helpers(text: str) -> list[tuple[str, str, str]]:
    return [(m["name"], " ".join(m["summary"].split()), m["usage"].replace("|", "\\|")) for m in _HELPER_DOC.finditer(text)]
