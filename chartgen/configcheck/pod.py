"""The rendered chart as the config checks see it: every ConfigMap file, and every container with the
files it mounts, its environment as Kubernetes resolves it, and the directories it can write.

Input is the output of the real `helm template`. Nothing here imitates a program that reads a config
file; it only reproduces what the pod does before that program starts: Kubernetes' env resolution
(`$(VAR)` references, Secret and field references) and the render-config init container, which
replaces each `$(NAME)` of a file with the value of its environment variable NAME. The Secrets are
made in the cluster by the secrets Jobs, so a value here has the shape such a Job generates (its
SECRET_KEYS: letters and digits, or a Fernet key), fixed rather than random.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ruamel.yaml import YAML

POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
CLUSTER_DOMAIN = "cluster.local"
# Values a running pod would have for the downward API; any well-formed value does for a config check.
FIELD_VALUES = {"status.podIP": "10.244.0.10", "status.hostIP": "10.0.0.10", "spec.nodeName": "node-0",
                "spec.serviceAccountName": "default"}
_ENV_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_PLACEHOLDER = re.compile(r"\$\(([A-Z][A-Z0-9_]*)\)")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/$-])/[\w.@+-]+(?:/[\w.@+-]+)*/?")


@dataclass(frozen=True, slots=True)
class RenderedFile:
    service: str  # the subchart (app.kubernetes.io/name of its ConfigMap)
    config_map: str
    name: str  # the ConfigMap key: the blueprint's fileName
    text: str  # as helm rendered it: $(NAME) placeholders not filled yet

    @property
    def label(self) -> str:
        return f"{self.service}: ConfigMap {self.config_map}, {self.name}"


@dataclass(frozen=True, slots=True)
class Mount:
    path: str
    file: RenderedFile
    text: str  # what the container reads: placeholders filled when an init container renders it


@dataclass(frozen=True, slots=True)
class Container:
    pod: str  # Kind/name of the workload
    name: str
    mounts: tuple[Mount, ...]
    env: tuple[tuple[str, str], ...]  # resolved, in order
    directories: tuple[str, ...]  # paths of mounted volumes that are directories (emptyDir, claims)
    run_as_user: int | None
    run_as_group: int | None

    @property
    def label(self) -> str:
        return f"{self.pod} container {self.name}"

    def env_value(self, name: str) -> str | None:
        return dict(self.env).get(name)


@dataclass(frozen=True, slots=True)
class Rendering:
    files: tuple[RenderedFile, ...]
    containers: tuple[Container, ...]
    hosts: tuple[tuple[str, str], ...]  # (address, name) for every cluster DNS name of a Service or StatefulSet pod

    def mounts_of(self, file: RenderedFile) -> Iterator[tuple[Container, Mount]]:
        for container in self.containers:
            for mount in container.mounts:
                if mount.file == file:
                    yield container, mount

    def hosts_file(self) -> str:
        return "".join(f"{address} {name}\n" for address, name in self.hosts)


def parse(manifest: str, namespace: str) -> Rendering:
    """The ConfigMap files and containers of a `helm template --namespace NAMESPACE` output."""
    documents = [doc for doc in YAML(typ="safe").load_all(manifest) if isinstance(doc, dict)]
    secrets = dict(_generated_secrets(documents))
    secrets.update({doc["metadata"]["name"]: _secret_data(doc) for doc in documents if doc.get("kind") == "Secret"})
    maps = {doc["metadata"]["name"]: doc for doc in documents if doc.get("kind") == "ConfigMap"}
    files = {(name, key): RenderedFile(doc["metadata"].get("labels", {}).get("app.kubernetes.io/name", name), name, key, text)
             for name, doc in sorted(maps.items()) for key, text in sorted((doc.get("data") or {}).items())}
    lookups = _Lookups(secrets, {name: doc.get("data") or {} for name, doc in maps.items()}, namespace)
    containers = [container for doc in documents if doc.get("kind") in POD_KINDS for container in _containers(doc, files, lookups)]
    # A hook's ConfigMap (the pre-upgrade copy of a service's files) repeats the ConfigMap it copies,
    # which is checked: its files count only where a hook Job mounts them.
    hooks = {name for name, doc in maps.items() if "helm.sh/hook" in (doc["metadata"].get("annotations") or {})}
    checked = tuple(file for (name, _), file in files.items() if name not in hooks)
    return Rendering(checked, tuple(containers), tuple(_hosts(documents, namespace)))


@dataclass(frozen=True, slots=True)
class _Lookups:
    secrets: dict[str, dict[str, str]]
    config_maps: dict[str, dict[str, str]]
    namespace: str


def _generated_secrets(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, str]]]:
    """The Secret each secrets Job would create, with values of the shape it generates."""
    for doc in documents:
        if doc.get("kind") != "Job":
            continue
        env = {item["name"]: item.get("value", "") for item in _pod_spec(doc)["containers"][0].get("env", [])}
        if "SECRET_NAME" in env and "SECRET_KEYS" in env:
            keys = [entry.split(":") for entry in env["SECRET_KEYS"].split()]
            yield env["SECRET_NAME"], {key: _sample(key, form, int(length)) for key, form, length in keys}


def _sample(key: str, form: str, length: int) -> str:
    if form == "fernet":  # 32 bytes, URL-safe base64, as secret-gen.py makes it
        return base64.urlsafe_b64encode(key.encode().ljust(32, b"0")[:32]).decode()
    return (f"chartgenCheck{re.sub('[^A-Za-z0-9]', '', key)}" * length)[:length]


def _secret_data(doc: dict[str, Any]) -> dict[str, str]:
    data = {key: base64.b64decode(value).decode("utf-8", "replace") for key, value in (doc.get("data") or {}).items()}
    data.update(doc.get("stringData") or {})
    return data


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def _pod_name(doc: dict[str, Any]) -> str:
    """A name the workload's first pod would have: StatefulSet pods are <name>-0, others get suffixes."""
    name = doc["metadata"]["name"]
    return f"{name}-0" if doc["kind"] == "StatefulSet" else f"{name}-7d9c5b6f4-x2x7q" if doc["kind"] == "Deployment" else f"{name}-x2x7q"


def _containers(doc: dict[str, Any], files: dict[tuple[str, str], RenderedFile], lookups: _Lookups) -> Iterator[Container]:
    spec = _pod_spec(doc)
    pod_name = _pod_name(doc)
    volumes = {volume["name"]: volume for volume in spec.get("volumes") or []}
    claims = {claim["metadata"]["name"] for claim in doc["spec"].get("volumeClaimTemplates") or []}
    renderers = _renderers(spec.get("initContainers") or [], volumes, pod_name, lookups)
    pod_security = spec.get("securityContext") or {}
    for container in spec.get("containers") or []:
        env = _resolve_env(container, pod_name, lookups)
        mounts, directories = [], []
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"], {})
            source = _mounted_file(mount, volume, renderers, files)
            if source is not None:
                file, fill = source
                mounts.append(Mount(mount["mountPath"], file, _fill(file.text, fill) if fill is not None else file.text))
            elif "emptyDir" in volume or "persistentVolumeClaim" in volume or mount["name"] in claims:
                directories.append(mount["mountPath"])
        security = {**pod_security, **(container.get("securityContext") or {})}
        yield Container(f"{doc['kind']}/{doc['metadata']['name']}", container["name"], tuple(mounts), tuple(env), tuple(directories),
                        security.get("runAsUser"), security.get("runAsGroup"))


def _renderers(init_containers: list[dict[str, Any]], volumes: dict[str, Any], pod_name: str,
               lookups: _Lookups) -> dict[str, tuple[str, dict[str, str]]]:
    """emptyDir volume -> (ConfigMap it is rendered from, env of the init container that fills it):
    an init container that mounts a ConfigMap volume and an emptyDir volume renders one into the other."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for init in init_containers:
        mounted = [volumes.get(mount["name"], {}) | {"name": mount["name"]} for mount in init.get("volumeMounts") or []]
        sources = [volume["configMap"]["name"] for volume in mounted if "configMap" in volume]
        targets = [volume["name"] for volume in mounted if "emptyDir" in volume]
        if len(sources) == 1:
            env = dict(_resolve_env(init, pod_name, lookups))
            for target in targets:
                found[target] = (sources[0], env)
    return found


def _mounted_file(mount: dict[str, Any], volume: dict[str, Any], renderers: dict[str, tuple[str, dict[str, str]]],
                  files: dict[tuple[str, str], RenderedFile]) -> tuple[RenderedFile, dict[str, str] | None] | None:
    key = mount.get("subPath")
    if key is None:
        return None
    if "configMap" in volume:
        file = files.get((volume["configMap"]["name"], key))
        return (file, None) if file else None
    if mount["name"] in renderers:
        config_map, env = renderers[mount["name"]]
        file = files.get((config_map, key))
        return (file, env) if file else None
    return None


def _fill(text: str, env: dict[str, str]) -> str:
    """What the render-config init container writes: each $(NAME) with NAME in its environment replaced."""
    return _PLACEHOLDER.sub(lambda match: env.get(match.group(1), match.group(0)), text)


def _resolve_env(container: dict[str, Any], pod_name: str, lookups: _Lookups) -> list[tuple[str, str]]:
    """The container's environment as the kubelet builds it: envFrom first, then env in order, each
    value's $(VAR) references expanded from the variables defined before it ($$ escapes a $)."""
    resolved: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "secretRef" in source:
            resolved.update({prefix + k: v for k, v in lookups.secrets.get(source["secretRef"]["name"], {}).items()})
        if "configMapRef" in source:
            resolved.update({prefix + k: v for k, v in lookups.config_maps.get(source["configMapRef"]["name"], {}).items()})
    for item in container.get("env") or []:
        if "value" in item or "valueFrom" not in item:
            value = _ENV_REFERENCE.sub(lambda m: "$" if m.group(0) == "$$" else resolved.get(m.group(1), m.group(0)), str(item.get("value", "")))
        else:
            value = _value_from(item["name"], item["valueFrom"], pod_name, lookups)
        resolved[item["name"]] = value
    return list(resolved.items())


def _value_from(name: str, source: dict[str, Any], pod_name: str, lookups: _Lookups) -> str:
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        # A Secret the chart does not render (made by hand before install): any letters-and-digits value.
        return lookups.secrets.get(ref["name"], {}).get(ref["key"], f"chartgenCheck{re.sub('[^A-Za-z0-9]', '', ref['key'])}0")
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return str(lookups.config_maps.get(ref["name"], {}).get(ref["key"], ""))
    if "fieldRef" in source:
        path = source["fieldRef"]["fieldPath"]
        return {"metadata.name": pod_name, "metadata.namespace": lookups.namespace}.get(path, FIELD_VALUES.get(path, ""))
    return "1"  # resourceFieldRef: a count


def _hosts(documents: list[dict[str, Any]], namespace: str) -> Iterator[tuple[str, str]]:
    """Every name the cluster DNS answers for the rendered Services and StatefulSet pods, in the short
    forms a pod's search path completes, with made-up addresses."""
    names: list[str] = []
    for doc in documents:
        if doc.get("kind") == "Service":
            names.append(doc["metadata"]["name"])
        if doc.get("kind") == "StatefulSet" and doc["spec"].get("serviceName"):
            names += [f"{doc['metadata']['name']}-{i}.{doc['spec']['serviceName']}" for i in range(int(doc["spec"].get("replicas", 1)))]
    for index, name in enumerate(sorted(set(names))):
        address = f"10.96.{index // 250}.{index % 250 + 1}"
        for suffix in ("", f".{namespace}", f".{namespace}.svc", f".{namespace}.svc.{CLUSTER_DOMAIN}"):
            yield address, name + suffix


class PodRoot:
    """A scratch folder standing for a container's filesystem: its mounted files at their paths
    (root/etc/apache2/...), its volume directories created, and a way to point absolute paths of
    env values and file contents into it (the checks run on this machine, not in the image)."""

    def __init__(self, root: Path, container: Container):
        self.root = root
        self.container = container
        self.paths = sorted({mount.path for mount in container.mounts} | set(container.directories))
        for directory in container.directories:
            self.path(directory).mkdir(parents=True, exist_ok=True)

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def place(self, mount: Mount, text: str | None = None) -> Path:
        target = self.path(mount.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.rewrite(mount.text if text is None else text), encoding="utf-8")
        return target

    def rewrite(self, text: str) -> str:
        """Point the absolute paths of `text` that are the container's (a mounted file or volume, a
        path under a volume, or a sibling of a mounted file such as RabbitMQ's extension-less
        config base name) into the scratch root; other paths are the image's and stay."""
        return _ABSOLUTE_PATH.sub(lambda match: str(self.path(match.group(0))) if self._owns(match.group(0)) else match.group(0), text)

    def _owns(self, path: str) -> bool:
        if any(path == own or path.startswith(own.rstrip("/") + "/") for own in self.paths):
            return True
        return str(Path(path).parent) in {str(Path(mount.path).parent) for mount in self.container.mounts}

    def unrewrite(self, text: str) -> str:
        """Error messages speak of the pod's paths again."""
        return text.replace(str(self.root), "")
