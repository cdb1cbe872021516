"""Which of a workload's environment variables reach which of its containers (resolve stage).

A workload declares its variables once (env, fieldEnv, secretEnv), but its pod runs several
containers: the render-config init container, a job's steps, the main container. A secret must
reach only the containers that read it, and Kubernetes cannot tell: the blueprint can. So:

- the render-config init container gets exactly what the placeholders of its files name;
- the main container and each job step get every plain and field variable (not secret; programs
  read them by convention), and a secret variable only when they mention it: its name, as a word
  (`$(NAME)`, `$NAME`, `env["NAME"]`), in their command, args or probe commands, in a plain
  variable's value, or in a file of the workload they run (one whose mount path appears in any of
  those, or in a file they run). The `$(NAME)` placeholders of a rendered file do not count:
  render-config has filled them before the container starts;
- `readsSecretEnv` names the secret variables a container's programs read without mentioning them
  (the mysql client reads MYSQL_PWD, `keystone-manage bootstrap` OS_BOOTSTRAP_PASSWORD).

Every set is closed over the `$(NAME)` references between variables (Kubernetes expands them only
from variables of the same container defined before) and keeps the declared order.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from chartgen.expressions import PLACEHOLDER
from chartgen.model import EnvVar


@dataclass(frozen=True, slots=True)
class ContainerEnvs:
    shared: tuple[EnvVar, ...]  # the plain and field variables: the main container and every step
    main: tuple[EnvVar, ...]  # the secret variables the main container reads
    steps: tuple[tuple[EnvVar, ...], ...]  # the secret variables each step of a job reads, in order
    render: tuple[EnvVar, ...]  # everything the render-config init container reads


def container_envs(env: tuple[EnvVar, ...], spec: dict[str, Any], files: dict[str, Callable[[], str]],
                   placeholders: Iterable[str]) -> ContainerEnvs:
    """`env`: every variable the workload declares, in order; `spec`: its merged blueprint entry;
    `files`: by mount path, the text of each file the workload mounts (asked for only when a
    container runs the file), placeholders of rendered files left out; `placeholders`: the
    $(NAME)s of the files render-config renders."""
    plain_values = {name: str(value) for name, value in spec.get("env", {}).items()}
    picker = _Picker(env, plain_values)
    mentions = _Mentions(files)
    probes = [part for probe in spec.get("probes", {}).values() for part in probe.get("exec", [])]
    main = picker.secrets(mentions.of([*spec.get("command", []), *spec.get("args", []), *probes, *plain_values.values()])
                          | set(spec.get("readsSecretEnv", [])))
    steps = tuple(picker.secrets(mentions.of([*step["command"], *plain_values.values()]) | set(step.get("readsSecretEnv", [])))
                  for step in spec.get("steps", []))
    shared = tuple(var for var in env if not var.secret_name)
    return ContainerEnvs(shared, main, steps, picker.pick(set(placeholders)))


@functools.lru_cache(maxsize=256)  # a shared script is run by a step of every bootstrap job
def words(text: str) -> frozenset[str]:
    """The words of a text: a name is mentioned when it is one (`$(NAME)`, `$NAME`, `env["NAME"]`)."""
    return frozenset(_WORD.findall(text))


_WORD = re.compile(r"[A-Za-z0-9_]+")


class _Picker:
    """Selects variables by name, with the variables their values refer to, in declared order."""

    def __init__(self, env: tuple[EnvVar, ...], plain_values: dict[str, str]):
        self.env = env
        self.declared = {var.name for var in env}
        self.refers = {name: set(PLACEHOLDER.findall(value)) for name, value in plain_values.items()}
        self.plain = set(plain_values)

    def pick(self, names: set[str]) -> tuple[EnvVar, ...]:
        wanted: set[str] = set()
        todo = list(names & self.declared)  # `names` may be every word of a script
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo += self.refers.get(name, ())
        return tuple(var for var in self.env if var.name in wanted)

    def secrets(self, names: set[str]) -> tuple[EnvVar, ...]:
        """The secret variables of a container that has every plain variable and mentions `names`."""
        return tuple(var for var in self.pick(names | self.plain) if var.secret_name)


class _Mentions:
    """The words a container says, directly or in the files it runs."""

    def __init__(self, files: dict[str, Callable[[], str]]):
        self.files = files

    def of(self, texts: list[Any]) -> set[str]:
        text = "\n".join(map(str, texts))
        found = set(_WORD.findall(text))
        for path in self.run(text):
            found |= words(self.files[path]())
        return found

    def run(self, text: str) -> set[str]:
        """Mount paths of the files `text` runs or reads, and of the files those run, and so on."""
        found: set[str] = set()
        todo = [text]
        while todo:
            current = todo.pop()
            for path, content in self.files.items():
                if path not in found and path in current:
                    found.add(path)
                    todo.append(content())
        return found
