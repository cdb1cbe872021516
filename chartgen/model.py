"""The resolved model: frozen values that the render stage only places into templates.

Every Go-template expression in here was compiled by the resolve stage; templates never compute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_VALUES_KEY = re.compile(r"[a-z][a-zA-Z0-9]*")


class DnsLabel(str):
    """A DNS-1035 label (Kubernetes Service and StatefulSet names): lowercase, dashes, <= 63."""

    def __new__(cls, text: str) -> "DnsLabel":
        if len(text) > 63 or not _DNS_1035.fullmatch(text):
            raise ValueError(f"{text!r} is not a DNS-1035 label")
        return super().__new__(cls, text)


class ValuesKey(str):
    """A camelCase key of values.yaml."""

    def __new__(cls, text: str) -> "ValuesKey":
        if not _VALUES_KEY.fullmatch(text):
            raise ValueError(f"{text!r} is not a camelCase values key")
        return super().__new__(cls, text)


def camel(name: str) -> str:
    """kebab-case or snake_case -> camelCase: the port `novnc-proxy` is the values key `novncProxy`."""
    head, *rest = re.split(r"[-_]", name)
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def service_type(component: dict[str, Any]) -> str:
    """The Service in front of a component (blueprint `service`), by default Headless for
    StatefulSets (stable pod names), ClusterIP for others, and none when no port is exposed."""
    if "service" in component:
        return component["service"]
    if not any(port.get("expose", True) for port in component.get("ports", {}).values()):
        return "None"
    return "Headless" if component["kind"] == "StatefulSet" else "ClusterIP"


def kebab(name: str) -> DnsLabel:
    """camelCase -> kebab-case: the component `ovsAgent` names objects `...-ovs-agent`."""
    return DnsLabel(re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower())


@dataclass(frozen=True, slots=True)
class ImageScheme:
    """How Kolla named the images it published for a release: <registry>/<prefix><image>:<tag>."""

    registry: str
    prefix: str
    tag: str
    source: str
    published: bool = True

    def repository(self, name: str) -> str:
        return f"{self.registry}/{self.prefix}{name}"

    def name_of(self, repository: str) -> str | None:
        """The image name of a repository in this scheme, else None."""
        head = f"{self.registry}/{self.prefix}"
        rest = repository[len(head):] if repository.startswith(head) else ""
        return rest if rest and "/" not in rest else None


@dataclass(frozen=True, slots=True)
class Release:
    name: str
    released: str
    description: str
    scheme: ImageScheme | None = None
    slurp: bool = False
    based_on: str = ""


@dataclass(frozen=True, slots=True)
class ImageUser:
    name: str
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the chart relies on inside an image: software versions, users, the programs it calls.
    `any_user`: the image has no fixed uids, so no uid can be checked against it."""

    versions: tuple[tuple[str, str], ...]
    users: tuple[ImageUser, ...]
    binaries: tuple[str, ...]
    any_user: bool
    sources: tuple[str, ...]

    def version(self, software: str) -> str | None:
        return dict(self.versions).get(software)

    @property
    def uids(self) -> frozenset[int]:
        return frozenset({0} | {user.uid for user in self.users})

    @property
    def gids(self) -> frozenset[int]:
        return frozenset({0} | {user.gid for user in self.users})


@dataclass(frozen=True, slots=True)
class Image:
    key: ValuesKey
    repository: str
    tag: str
    pull_policy: str
    source: str
    description: str = ""
    digest: str = ""  # sha256:...; empty: the tag alone (kolla re-publishes branch tags)  # blueprint's one-line description; empty: the docs generate one
    values_path: str = ""  # where the chart reads it; empty: .Values.images.<key>
    facts: ImageFacts | None = None  # None: none recorded, or recorded for another repository/tag

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def values_expr(self) -> str:
        """The Helm expression of the image's values map (repository, tag, pullPolicy)."""
        return self.values_path or f".Values.images.{self.key}"


@dataclass(frozen=True, slots=True)
class Secret:
    key: ValuesKey
    description: str
    format: str
    length: int


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The real program `chartgen lint` checks a rendered config file with (blueprint `check`):
    a kind of chartgen/configcheck/, and for `oslo` the option registries and run-time groups."""

    kind: str
    registries: tuple[str, ...] = ()
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (section named at run time, registry groups it is checked as)

    @classmethod
    def from_spec(cls, spec: Any) -> "FileCheck | None":
        if spec is None:
            return None
        if isinstance(spec, str):
            return cls(spec)
        return cls("oslo", tuple(spec["oslo"]), tuple(sorted((section, tuple(groups)) for section, groups in spec.get("groups", {}).items())))


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """A rendered file. `options` are plain values (values.yaml conf.<key>); `computed` is a Go
    template expression building the options that hold references (merged under the plain ones)."""

    key: ValuesKey
    file_name: str
    format: str
    description: str
    options: Any
    computed: str | None
    placeholders: tuple[str, ...]
    shared: str | None = None  # a script of chartgen/shared, placed once in the library chart
    check: FileCheck | None = None  # how `chartgen lint` checks it; None: not checked

    @property
    def needs_rendering(self) -> bool:
        """Holds $(NAME) secret placeholders, filled in at pod start from the environment."""
        return bool(self.placeholders)


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    port: int  # the container's
    protocol: str
    node_port: int | None
    expose: bool
    description: str = ""
    service_port: int | None = None  # the Service's, when it differs from the container's

    @property
    def published(self) -> int:
        """The port clients connect to through the Service."""
        return self.service_port or self.port


@dataclass(frozen=True, slots=True)
class Probe:
    kind: str  # exec | tcpSocket | httpGet
    command: tuple[str, ...] = ()
    port: str = ""
    path: str = "/"
    scheme: str = "HTTP"
    timing: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One environment variable: a literal/compiled `value`, a `secret` (name expression, key) or a `field`."""

    name: str
    value: str | None = None  # a Go template expression
    secret_name: str | None = None  # a Go template expression
    secret_key: str | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Wait:
    """An endpoint (service.component.port) an init container waits for."""

    label: str
    host: str  # Go template expression
    port: int


# Where a job step leaves a flag for the later steps of its pod (an emptyDir in the pods that need one):
# the shared db-init.py writes NEW_DATABASE_FLAG when the database it made holds no table yet.
STEP_FLAGS_DIR = "/oaas/step-flags"
NEW_DATABASE_FLAG = STEP_FLAGS_DIR + "/new-database"


@dataclass(frozen=True, slots=True)
class Step:
    """A job step: an init container run before the job's own command, in order."""

    name: str
    image: Image
    command: tuple[str, ...]  # Go template expressions
    secret_env: tuple[EnvVar, ...] = ()  # the job's secret variables this step reads (chartgen.container_env)
    install_only: bool = False  # replaced on upgrade by the release's upgrade Jobs (their `replaces`)
    if_new_database: bool = False  # runs only when an earlier step of its pod found the database new (NEW_DATABASE_FLAG)


@dataclass(frozen=True, slots=True)
class Security:
    run_as_user: int | None
    run_as_group: int | None
    fs_group: int | None
    run_as_non_root: bool
    read_only_root_filesystem: bool
    privileged: bool
    host_network: bool
    capabilities: tuple[str, ...]
    writable_paths: tuple[str, ...]
    scratch_size_limit: str  # sizeLimit of each writable-path emptyDir
    host_paths: tuple[tuple[str, str, str, bool, str], ...]  # (key, path, mountPath, readOnly, type)


@dataclass(frozen=True, slots=True)
class Persistence:
    mount_path: str
    size: str
    access_modes: tuple[str, ...]
    storage_class: str | None


@dataclass(frozen=True, slots=True)
class ApiObject:
    """An object the chart creates (empty) for a component's pods to read and write through the API."""

    key: ValuesKey
    name: DnsLabel  # suffix of the object's name after the component's full name
    kind: str  # ConfigMap | Lease
    verbs: tuple[str, ...]
    env: str  # the main container's variable that holds the object's name
    description: str = ""

    @property
    def api_group(self) -> str:
        return {"ConfigMap": "", "Lease": "coordination.k8s.io"}[self.kind]

    @property
    def resource(self) -> str:
        return {"ConfigMap": "configmaps", "Lease": "leases"}[self.kind]

    @property
    def api_version(self) -> str:
        return {"ConfigMap": "v1", "Lease": "coordination.k8s.io/v1"}[self.kind]


@dataclass(frozen=True, slots=True)
class ApiAccess:
    """A component's Kubernetes API access: its ServiceAccount, a Role naming only its objects."""

    reason: str
    objects: tuple[ApiObject, ...]


def _cron_field(number: str, names: str = "") -> str:
    """One field of a cron schedule: *, a value or range with an optional /step, or a list of them."""
    value = f"(?:{number}{'|' + names if names else ''})"
    item = rf"(?:\*|{value}(?:-{value})?)(?:/[1-9][0-9]*)?"
    return f"{item}(?:,{item})*"


_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
# What a Kubernetes CronJob accepts (robfig/cron's standard parser): five fields, each within its
# range, or a macro. One pattern for the build (CG419) and values.schema.json (helm install).
CRON_PATTERN = (r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
                + r" +".join([_cron_field("[0-5]?[0-9]"), _cron_field("[01]?[0-9]|2[0-3]"), _cron_field("0?[1-9]|[12][0-9]|3[01]"),
                              _cron_field("0?[1-9]|1[0-2]", _MONTHS), _cron_field("[0-7]", _DAYS)])
                + r")$")


@dataclass(frozen=True, slots=True)
class Setting:
    """A deploy-time knob of a scheduled job: the value jobs.<job>.<key> (its schema and default),
    given to the main container as the variable `env`; a `secret_key_ref` one names a key of the
    deployer's Secret ({enabled, secretName, key}), read into `env` only while enabled."""

    key: ValuesKey
    env: str
    default: Any = field(hash=False)
    schema: dict[str, Any] = field(hash=False)
    description: str
    secret_key_ref: bool = False


@dataclass(frozen=True, slots=True)
class PeerClaim:
    """The claim of one member of a StatefulSet component, mounted by a scheduled job that runs on
    that member's node (a ReadWriteOnce volume may be mounted by several pods of one node)."""

    component: DnsLabel  # kebab name of the StatefulSet component
    mount_path: str
    read_only: bool
    env: str  # the main container's variable that holds the member's ordinal


@dataclass(frozen=True, slots=True)
class OnDemand:
    """A one-off Job with a scheduled job's pod and its own command (values jobs.<job>.<key>.enabled)."""

    key: ValuesKey
    description: str
    command: tuple[str, ...]  # Go template expressions
    settings: tuple[Setting, ...] = ()


@dataclass(frozen=True, slots=True)
class Workload:
    """A component (long-running) or a job; `kind` picks the archetype template."""

    key: ValuesKey
    name: DnsLabel  # kebab of the key, the suffix of every object name
    kind: str  # Deployment | StatefulSet | DaemonSet | Job | CronJob | Test (a `helm test` pod)
    service: str  # the service it belongs to
    description: str
    image: Image
    command: tuple[str, ...]
    args: tuple[str, ...]
    working_dir: str | None
    # Environment, per container (chartgen.container_env): plain and field variables go to the main
    # container and every step; a secret variable only to the containers that read it.
    shared_env: tuple[EnvVar, ...]
    secret_env: tuple[EnvVar, ...]  # of the main container
    render_env: tuple[EnvVar, ...]  # everything the render-config init container reads
    config_mounts: tuple[tuple[ConfigFile, str], ...]
    waits: tuple[Wait, ...]
    resources: dict[str, Any]
    security: Security
    node_role: str
    # components only
    replicas: int | None = None
    replicas_expr: str = ""  # Go template expression of the replica count
    quorum: bool = False
    members: bool = False
    pod_management_policy: str | None = None
    ports: tuple[Port, ...] = ()
    service_type: str = "None"
    probes: tuple[tuple[str, Probe], ...] = ()
    anti_affinity: str = "preferred"
    persistence: Persistence | None = None
    termination_grace_seconds: int | None = None
    api_access: ApiAccess | None = None
    # jobs only
    steps: tuple[Step, ...] = ()
    backoff_limit: int = 6
    timeout_seconds: int = 900
    enabled: bool = True  # the default of jobs.<key>.enabled; false: the deployer opts in
    # scheduled jobs (CronJob) only
    schedule: str = ""
    settings: tuple[Setting, ...] = ()
    peer_claim: PeerClaim | None = None
    on_demand: OnDemand | None = None
    # upgrade jobs only (values/<release>.yaml `upgrade:`): a Helm hook, run in weight order
    hook: str = ""  # pre-upgrade | post-upgrade
    hook_weight: int = 0
    stops: tuple[str, ...] = ()  # kebab names of the components scaled to 0 before it runs

    @property
    def publishable(self) -> bool:
        """A Service the deployer may publish on the nodePorts of every node: its type is the value
        `<component>.serviceType` (ClusterIP or NodePort), read by the Service and its NetworkPolicy."""
        return self.service_type in ("ClusterIP", "NodePort") and any(port.node_port for port in self.ports)

    @property
    def has_step_flags(self) -> bool:
        """A step of its pod runs only on a flag an earlier step leaves: the pod mounts STEP_FLAGS_DIR."""
        return any(step.if_new_database for step in self.steps)

    @property
    def template(self) -> str:
        """The archetype template that emits this workload."""
        return f"archetypes/{self.kind.lower()}.yaml.j2"

    @property
    def define_prefix(self) -> str:
        """Prefix of the named templates of this workload (unique in the whole umbrella)."""
        return f"{self.service}.{self.values_section + '.' if self.values_section else ''}{self.key}"

    @property
    def values_section(self) -> str:
        """The values map that holds this workload's settings under its key: jobs, tests, or the top."""
        return {"Job": "jobs", "CronJob": "jobs", "Test": "tests"}.get(self.kind, "")

    @property
    def headless_name_suffix(self) -> str:
        """StatefulSets need a governing headless Service: the main one, or an extra `-headless`."""
        return "" if self.service_type == "Headless" else "-headless"

    @property
    def rendered_configs(self) -> tuple[tuple[ConfigFile, str], ...]:
        return tuple(pair for pair in self.config_mounts if pair[0].needs_rendering)


@dataclass(frozen=True, slots=True)
class Service:
    name: DnsLabel
    description: str
    enabled: bool
    depends_on: tuple[str, ...]
    images: tuple[Image, ...]
    secrets: tuple[Secret, ...]
    config_files: tuple[ConfigFile, ...]
    components: tuple[Workload, ...]
    jobs: tuple[Workload, ...]
    tests: tuple[Workload, ...]
    global_replicas: tuple[tuple[str, int], ...]  # (service, replicas) of member components it reads

    @property
    def workloads(self) -> tuple[Workload, ...]:
        return self.components + self.jobs + self.tests


@dataclass(frozen=True, slots=True)
class Umbrella:
    release: Release
    global_settings: dict[str, Any] = field(hash=False)
    services: tuple[Service, ...] = ()
    order: tuple[str, ...] = ()  # services in dependency order (dependencies first)

    def service(self, name: str) -> Service:
        return next(service for service in self.services if service.name == name)
