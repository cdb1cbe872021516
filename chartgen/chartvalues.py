"""values.yaml, values.schema.json and the README values table of each chart, from one list of
parameters (render stage), so the three cannot drift apart."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chartgen.emit import json_text, scalar, yaml_text
from chartgen.model import CRON_PATTERN, Service, Umbrella, Workload, camel

Path = tuple[str, ...]

# Odd sizes as an enum rather than DESIGN's `not: {multipleOf: 2}`: Helm then says "value must be one
# of 1, 3, 5, ..." instead of "'not' failed". Quorum clusters beyond 15 members are not a thing.
_ODD = {"type": "integer", "enum": list(range(1, 16, 2))}
_QUANTITY = {"type": ["string", "integer"], "pattern": "^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"}
# Every key of a values.schema.json has a description, nested ones too. These are generic on
# purpose: identical subschemas are hoisted into $defs once (see _hoist_repeated).
_RESOURCE_LIST = {"type": "object", "additionalProperties": False,
                  "properties": {"cpu": dict(_QUANTITY, description="CPU, in cores or millicores (100m)."),
                                 "memory": dict(_QUANTITY, description="Memory, in bytes or with a unit (256Mi)."),
                                 "ephemeral-storage": dict(_QUANTITY, description="Local scratch storage (1Gi).")}}
_RESOURCES = {"type": "object", "additionalProperties": False, "required": ["requests"],
              "properties": {"requests": dict(_RESOURCE_LIST, description="What the scheduler reserves."),
                             "limits": dict(_RESOURCE_LIST, description="The most the container may use.")}}
_PROBE_FIELDS = {
    "initialDelaySeconds": "Seconds before the first probe.",
    "periodSeconds": "Seconds between probes.",
    "timeoutSeconds": "Seconds before one probe times out.",
    "failureThreshold": "Failures in a row that fail the probe.",
}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_SCHEMA_ID = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True, slots=True)
class Param:
    """One documented values key: its path, default, JSON Schema and description."""

    path: Path
    default: Any
    schema: dict[str, Any]
    description: str
    section: str


# --- parameters of a service chart -----------------------------------------------------------------
def service_params(service: Service, umbrella: Umbrella) -> list[Param]:
    params = _global_params(umbrella, dict(service.global_replicas))
    params += _image_params(service)
    params += [
        Param(("secrets", secret.key), "", {"type": "string"},
              f"{secret.description}. Empty: generated once in the cluster by the secrets Job ({secret.format}); a value set here replaces the stored one.", "Secrets")
        for secret in service.secrets
    ]
    for config in service.config_files:
        if config.shared:
            continue  # chartgen's own script, in the library chart: code, not a setting
        schema = {"type": "string"} if config.format == "text" else {"type": "object"}
        computed = " Options holding references are computed at install; a value set here overrides them." if config.computed else ""
        params.append(Param(("conf", config.key), config.options, schema,
                            f"{config.file_name} ({config.format}). {config.description}{computed}".strip(), "Configuration"))
    for workload in service.components:
        params += _component_params(workload)
    for job in service.jobs:
        params += _job_params(job)
        if job.kind == "CronJob":
            params += _scheduled_params(job)
    for test in service.tests:
        params += _test_params(test)
    return params


def _global_params(umbrella: Umbrella, replicas: dict[str, int]) -> list[Param]:
    settings = umbrella.global_settings
    params = [
        Param(("global", "clusterDomain"), settings["clusterDomain"], {"type": "string"}, "Kubernetes cluster DNS domain.", "Global"),
        Param(("global", "storageClass"), settings["storageClass"], {"type": "string"}, "StorageClass of every claim; empty means the cluster default.", "Global"),
        Param(("global", "waitTimeoutSeconds"), settings.get("waitTimeoutSeconds", 600), {"type": "integer", "minimum": 10},
              "How long an init container waits for a dependency before failing.", "Global"),
        Param(("global", "waitImage"), {key: value for key, value in settings["waitImage"].items() if key != "source"}, _image_schema(),
              "Small image (sh, nc, sed) of the init containers that wait for dependencies and fill in secrets.", "Global"),
        Param(("global", "testImage"), {key: value for key, value in settings["testImage"].items() if key != "source"}, _image_schema(),
              f"OpenStack client image of the helm test pods. Default from: {settings['testImage']['source']}", "Global"),
    ]
    if "priorityClasses" in settings:
        params.append(Param(("global", "priorityClasses"), settings["priorityClasses"],
                            {"type": "object", "additionalProperties": False, "required": ["create", "quorum", "nodeAgent"],
                             "properties": {"create": {"type": "boolean", "description": "The umbrella creates both PriorityClasses."},
                                            "quorum": {"type": "string", "description": "PriorityClass of quorum members (\"\": <namespace>-<release>-quorum)."},
                                            "nodeAgent": {"type": "string", "description": "PriorityClass of node agents, DaemonSets (\"\": <namespace>-<release>-node-agent)."}}},
                            "PriorityClasses of quorum members and node agents; create: false uses existing ones.", "Global"))
    params += [
        Param(("global", "networkPolicy", "enabled"), True, {"type": "boolean"},
              "NetworkPolicies from the dependency graph: each component admits only its own service and the services that depend on it.", "Global"),
        Param(("global", "networkPolicy", "ingressFrom"), [], {"type": "array", "items": {"type": "object"}},
              "More NetworkPolicy peers (e.g. the ingress controller's namespace) admitted to every component, on its ports.", "Global"),
        Param(("global", "networkPolicy", "hostNetworkFrom"), [], {"type": "array", "items": {"type": "string"}},
              "CIDRs of the nodes, from which host-network agents connect; empty admits every source on those ports.", "Global"),
    ]
    for role, label in sorted(settings["nodeRoles"].items()):
        params.append(Param(("global", "nodeRoles", role), label,
                            {"type": "object", "additionalProperties": False, "required": ["key", "value"],
                             "properties": {"key": {"type": "string", "description": "Label key."},
                                            "value": {"type": "string", "description": "Label value."}}},
                            f"Node label selecting the {role} nodes.", "Global"))
    for service_name, count in sorted(replicas.items()):
        quorum = is_quorum(umbrella, service_name)
        params.append(Param(("global", "replicas", service_name), count, _ODD if quorum else {"type": "integer", "minimum": 1},
                            f"Replicas of {service_name} ({'quorum: odd, 2n+1' if quorum else 'members'}); every service listing its members follows.",
                            "Global"))
    return params


def is_quorum(umbrella: Umbrella, service_name: str) -> bool:
    for service in umbrella.services:
        if service.name == service_name:
            return any(component.quorum for component in service.components)
    return False


def _image_schema() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": ["repository", "tag"],
            "properties": {"repository": {"type": "string", "minLength": 1, "description": "Registry and repository."},
                           "tag": {"type": "string", "minLength": 1, "description": "Image tag."},
                           "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"], "description": "When the kubelet pulls the image."},
                           "digest": {"type": "string", "pattern": "^(sha256:[0-9a-f]{64})?$",
                                      "description": "sha256:... of the tag's image; set: the pod runs repository@digest (the tag is then documentation)."}}}


def _image_params(service: Service) -> list[Param]:
    return [
        Param(("images", image.key), {"repository": image.repository, "tag": image.tag, "pullPolicy": image.pull_policy} | ({"digest": image.digest} if image.digest else {}),
              _image_schema(), f"{_sentence(image.description or _image_users(service, image.key))} Default from: {image.source}", "Images")
        for image in service.images
    ]


def _image_users(service: Service, key: str) -> str:
    """`Image of the api Deployment and the bootstrap Job`: the generated description of an image."""
    users = [f"{w.key} {w.kind}" for w in service.workloads if w.image.key == key]
    users += [f"{step.name} step of the {job.key} Job" for job in service.jobs for step in job.steps
              if step.image.key == key and job.image.key != key]
    if not users:
        return f"Image {key} of {service.name}"
    listed = ", ".join(f"the {user}" for user in users[:-1]) + (" and " if len(users) > 1 else "") + f"the {users[-1]}"
    return f"Image of {listed}"


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _component_params(workload: Workload) -> list[Param]:
    key, section = workload.key, f"Component {workload.key}"
    params: list[Param] = []
    if workload.kind != "DaemonSet" and not workload.members:
        params.append(Param((key, "replicas"), workload.replicas, {"type": "integer", "minimum": 0}, f"Replicas of the {key} {workload.kind}.", section))
    params += [
        Param((key, "resources"), workload.resources, _RESOURCES, "Container resource requests and limits.", section),
        Param((key, "nodeSelector"), {}, _STRING_MAP, f"Node labels added to the {workload.node_role} role selector.", section),
        Param((key, "tolerations"), [], {"type": "array", "items": {"type": "object"}}, "Pod tolerations.", section),
        Param((key, "antiAffinity"), workload.anti_affinity, {"enum": ["required", "preferred", "none"]},
              "Spread pods over nodes: required (at most one per node), preferred, or none.", section),
        Param((key, "podAnnotations"), {}, _STRING_MAP, "Extra pod annotations.", section),
        Param((key, "extraEnv"), {}, _STRING_MAP, "Extra environment variables of the main container.", section),
    ]
    if workload.security.privileged:
        params.append(Param((key, "privileged"), True, {"type": "boolean"},
                            "Run the main container privileged (declared by the blueprint; set false to try without).", section))
    if workload.kind != "DaemonSet":
        pdb_schema: dict[str, Any] = {"type": "object", "additionalProperties": False,
                                      "properties": {"enabled": {"type": "boolean", "description": "Create the PodDisruptionBudget."}}}
        pdb_default: dict[str, Any] = {"enabled": True}
        description = "PodDisruptionBudget: minAvailable follows the quorum, floor(n/2)+1."
        if not workload.quorum:
            pdb_schema["properties"]["maxUnavailable"] = {"type": "integer", "minimum": 1, "description": "Pods that may be down at once."}
            pdb_default["maxUnavailable"] = 1
            description = "PodDisruptionBudget: pods that may be down at once during voluntary disruptions."
        params.append(Param((key, "pdb"), pdb_default, pdb_schema, description, section))
    if workload.persistence:
        params.append(Param((key, "persistence"), {"size": workload.persistence.size, "storageClass": workload.persistence.storage_class or ""},
                            {"type": "object", "additionalProperties": False, "required": ["size"],
                             "properties": {"size": dict(_QUANTITY, description="Size of the claim."),
                                            "storageClass": {"type": "string", "description": "StorageClass; empty: global.storageClass."}}},
                            f"Volume at {workload.persistence.mount_path}; storageClass empty means global.storageClass.", section))
    published = [port for port in workload.ports if port.node_port]
    if published:
        params.append(Param((key, "nodePorts"), {camel(port.name): port.node_port for port in published},
                            {"type": "object", "additionalProperties": False,
                             "properties": {camel(port.name): {"type": "integer", "minimum": 30000, "maximum": 32767,
                                                               "description": _sentence(port.description or f"NodePort of the {port.name} port ({port.port})")}
                                            for port in published}},
                            "NodePort of each published port.", section))
    if workload.publishable:
        params.append(Param((key, "serviceType"), workload.service_type,
                            {"enum": ["ClusterIP", "NodePort"], "description": "ClusterIP: reachable in the cluster only; NodePort: also on nodePorts of every node."},
                            "Service type: ClusterIP (in the cluster only) or NodePort (also on nodePorts of every node).", section))
    for name, probe in workload.probes:
        timing = dict(_default_timing(name)) | dict(probe.timing)
        params.append(Param((key, "probes", name), timing,
                            {"type": "object", "additionalProperties": False,
                             "properties": {field: {"type": "integer", "minimum": 0, "description": _PROBE_FIELDS[field]} for field in timing}},
                            f"Timing of the {name} probe ({probe.kind}).", section))
    return params


def _default_timing(probe: str) -> dict[str, int]:
    if probe == "startup":
        return {"periodSeconds": 10, "failureThreshold": 30, "timeoutSeconds": 5}
    return {"initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}


def _job_params(job: Workload) -> list[Param]:
    section = "Jobs"
    return [
        Param(("jobs", job.key, "resources"), job.resources, _RESOURCES, f"Resources of the {job.key} job.", section),
        Param(("jobs", job.key, "timeoutSeconds"), job.timeout_seconds, {"type": "integer", "minimum": 30},
              "activeDeadlineSeconds: the job fails after this long.", section),
        Param(("jobs", job.key, "backoffLimit"), job.backoff_limit, {"type": "integer", "minimum": 0}, "Retries before the job fails.", section),
    ]


def _scheduled_params(job: Workload) -> list[Param]:
    """The values of a scheduled job beyond a Job's: on/off, schedule, its settings, claims, on-demand Job."""
    section, base = "Jobs", ("jobs", job.key)
    params = [
        Param(base + ("enabled",), job.enabled, {"type": "boolean"}, f"Create the {job.key} CronJob{' (opt-in)' if not job.enabled else ''}.", section),
        Param(base + ("schedule",), job.schedule, {"type": "string", "pattern": CRON_PATTERN},
              "Cron schedule (minute hour day-of-month month day-of-week, or @daily...), in the controller's time zone.", section),
    ]
    params += [_setting_param(base, setting, section) for setting in job.settings]
    if job.persistence:
        params.append(Param(base + ("persistence",), {"size": job.persistence.size, "storageClass": job.persistence.storage_class or ""},
                            {"type": "object", "additionalProperties": False, "required": ["size"],
                             "properties": {"size": dict(_QUANTITY, description="Size of the claim."),
                                            "storageClass": {"type": "string", "description": "StorageClass; empty: global.storageClass."}}},
                            f"Claim at {job.persistence.mount_path}, kept across runs and uninstall; storageClass empty means global.storageClass.", section))
    if job.peer_claim:
        params.append(Param(base + ("member",), 0, {"type": "integer", "minimum": 0},
                            f"Ordinal of the {job.peer_claim.component} member whose claim the job mounts (it runs on that member's node); below its replica count.", section))
    if job.on_demand:
        demand = base + (job.on_demand.key,)
        params.append(Param(demand + ("enabled",), False, {"type": "boolean"},
                            f"Create the one-off {job.on_demand.key} Job: {_sentence(job.on_demand.description)} Switch it off again once it ran.", section))
        params += [_setting_param(demand, setting, section) for setting in job.on_demand.settings]
    return params


def _setting_param(base: Path, setting: Any, section: str) -> Param:
    return Param(base + (setting.key,), setting.default, setting.schema, _sentence(setting.description), section)


def _test_params(test: Workload) -> list[Param]:
    section = "Tests"
    return [
        Param(("tests", test.key, "resources"), test.resources, _RESOURCES, f"Resources of the {test.key} test pod.", section),
        Param(("tests", test.key, "timeoutSeconds"), test.timeout_seconds, {"type": "integer", "minimum": 30},
              "activeDeadlineSeconds: the test fails after this long.", section),
    ]


# --- descriptions of the objects that group parameters ------------------------------------------------
_GROUPS: dict[Path, str] = {
    ("global",): "Settings every chart of the umbrella reads (Helm passes them to each subchart).",
    ("global", "nodeRoles"): "Node label of each node role.",
    ("global", "replicas"): "Members of each quorum or members service.",
    ("enabled",): "Set by a parent chart's condition (<service>.enabled); unused by this chart.",
    ("images",): "Container images, by name.",
    ("secrets",): "Generated credentials; set one to bring your own.",
    ("conf",): "Options of the configuration files, by file.",
    ("jobs",): "Run-to-completion work, by job.",
    ("tests",): "Pods run by helm test, by test.",
}


def service_groups(service: Service) -> dict[Path, str]:
    """Descriptions of the objects of a service chart's values that are not parameters themselves."""
    groups = dict(_GROUPS)
    for workload in service.components:
        groups[(workload.key,)] = _sentence(workload.description or f"The {workload.key} {workload.kind} of {service.name}")
        groups[(workload.key, "probes")] = f"Probe timings of the {workload.key} {workload.kind}."
    for job in service.jobs:
        groups[("jobs", job.key)] = _sentence(job.description or f"The {job.key} Job of {service.name}")
        if job.on_demand:
            groups[("jobs", job.key, job.on_demand.key)] = _sentence(job.on_demand.description)
    for test in service.tests:
        groups[("tests", test.key)] = _sentence(test.description or f"The {test.key} helm test of {service.name}")
    return groups


def umbrella_groups(umbrella: Umbrella, library: str) -> dict[Path, str]:
    groups = dict(_GROUPS)
    groups[("enabled",)] = "Unused: the umbrella has no parent chart."
    for service in umbrella.services:
        groups[(service.name,)] = f"Values of the {service.name} subchart (its own values.schema.json checks them)."
    groups[(library,)] = "Values of the library chart (it has none)."
    return groups


# --- parameters of the umbrella chart ---------------------------------------------------------------
def umbrella_params(umbrella: Umbrella) -> list[Param]:
    replicas = {}
    for service in umbrella.services:
        for component in service.components:
            if component.members:
                replicas[service.name] = component.replicas
    params = _global_params(umbrella, replicas)
    for service in umbrella.services:
        params.append(Param((service.name, "enabled"), service.enabled, {"type": "boolean"},
                            f"Install {service.name}: {service.description}", "Services"))
    return params


# --- outputs ----------------------------------------------------------------------------------------
def values_tree(params: list[Param]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for param in params:
        node = tree
        for part in param.path[:-1]:
            node = node.setdefault(part, {})
        node[param.path[-1]] = param.default
    return tree


def values_yaml(params: list[Param], header: str) -> str:
    """values.yaml: one block per top-level key, each preceded by its `## @param` documentation."""
    tree = values_tree(params)
    out = [f"# {line}".rstrip() for line in header.splitlines()] + [""]
    by_top: dict[str, list[Param]] = {}
    for param in params:
        by_top.setdefault(param.path[0], []).append(param)
    for top in sorted(tree):
        out.append(f"## @section {by_top[top][0].section}")
        out += [f"## @param {'.'.join(param.path)} {param.description}" for param in by_top[top]]
        out += yaml_text({top: tree[top]}).rstrip("\n").split("\n")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def values_schema(params: list[Param], title: str, groups: dict[Path, str], open_objects: tuple[str, ...] = ()) -> str:
    """values.schema.json: strict everywhere, except `global` (Helm passes every global to every
    chart) and `enabled` (a parent's condition); `open_objects` are top keys validated elsewhere
    (an umbrella sees its subcharts' values merged in, and each subchart checks its own). `groups`
    describes the objects that hold parameters (every key gets a description)."""

    def group(path: Path, node: dict[str, Any]) -> dict[str, Any]:
        node["description"] = groups.get(path) or f"Settings of {'.'.join(path)}."
        return node

    root: dict[str, Any] = {
        "$schema": _SCHEMA_ID,
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "properties": {"global": group(("global",), {"type": "object", "properties": {}}),
                       "enabled": group(("enabled",), {"type": "boolean"})},
    }
    for param in params:
        node = root
        for depth, part in enumerate(param.path[:-1], start=1):
            strict = param.path[0] != "global" and param.path[0] not in open_objects
            if part not in node["properties"]:
                node["properties"][part] = group(param.path[:depth], {"type": "object", "additionalProperties": not strict, "properties": {}})
            node = node["properties"][part]
        node["properties"][param.path[-1]] = dict(param.schema, description=param.description)
    root["properties"]["global"]["additionalProperties"] = True
    for name in open_objects:
        root["properties"].setdefault(name, group((name,), {"type": "object"}))
    return json_text(_hoist_repeated(root))


def _hoist_repeated(root: dict[str, Any]) -> dict[str, Any]:
    """Move subschemas that occur more than once (resources, probe timings, images...) into $defs
    and refer to them: the schema ships in every release record, so its size matters."""
    root = json.loads(json.dumps(root))  # every node its own object: the params share constants
    found: dict[str, list[dict[str, Any]]] = {}
    names: dict[str, str] = {}
    memo: dict[int, tuple[str, str]] = {}

    def walk(properties: dict[str, Any]) -> None:
        for key, node in sorted(properties.items()):
            if not isinstance(node, dict):
                continue
            text = _canonical(node, memo)[1]
            if len(text) > 60:
                found.setdefault(text, []).append(node)
                names.setdefault(text, key)
            walk(node.get("properties", {}))

    walk(root["properties"])
    defs: dict[str, Any] = {}
    used: set[str] = set()
    for text, nodes in sorted(found.items(), key=lambda item: (names[item[0]], item[0])):
        if len(nodes) < 2:
            continue
        name = names[text]
        suffix = 2
        while name in used:
            name, suffix = f"{names[text]}{suffix}", suffix + 1
        used.add(name)
        defs[name] = json.loads(text)
        for node in nodes:
            description = node.get("description")
            node.clear()
            node["$ref"] = f"#/$defs/{name}"
            if description:
                node["description"] = description
    if defs:
        root["$defs"] = defs
    return root


def _canonical(node: dict[str, Any], memo: dict[int, tuple[str, str]]) -> tuple[str, str]:
    """json.dumps(node, sort_keys=True), and the same without the node's own description, built
    from its children's texts (kept in `memo` by node identity): each subtree is serialised once,
    not once per enclosing node."""
    if id(node) in memo:
        return memo[id(node)]
    parts = []
    for key in sorted(node):
        value = node[key]
        text = _canonical(value, memo)[0] if isinstance(value, dict) else json.dumps(value, sort_keys=True)
        parts.append((key, f"{json.dumps(key)}: {text}"))
    memo[id(node)] = texts = ("{" + ", ".join(part for _, part in parts) + "}",
                              "{" + ", ".join(part for key, part in parts if key != "description") + "}")
    return texts


def readme_table(params: list[Param]) -> str:
    rows = ["| Key | Description | Default |", "|---|---|---|"]
    for param in params:
        default = _short_default(param.default)
        description = param.description.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{'.'.join(param.path)}` | {description} | {default} |")
    return "\n".join(rows) + "\n"


def _short_default(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = yaml_text({"x": value}).strip().removeprefix("x:").strip()
        flat = " ".join(line.strip() for line in text.splitlines())
        return f"`{flat}`" if len(flat) <= 80 else "see values.yaml"
    return f"`{scalar(value)}`" if value != "" else '`""`'
