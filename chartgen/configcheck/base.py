"""What every config checker shares: the unit it checks, its result, and how it runs a program."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol, TypeVar

from chartgen.configcheck.pod import Container, Mount, Rendering, RenderedFile
from chartgen.model import FileCheck

T = TypeVar("T")
TIMEOUT = 120  # seconds for one program run; none takes more than a few
# Debian puts daemons in /usr/sbin, which a non-root PATH lacks, and RabbitMQ's tools in its own folder.
SYSTEM_PATHS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/lib/rabbitmq/bin")
NSS_WRAPPER = ("/usr/lib/x86_64-linux-gnu/libnss_wrapper.so", "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so", "/usr/lib/libnss_wrapper.so")


class CheckerMissing(Exception):
    """A program a config check runs is not installed (run `make tools` as root)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One run of a checker: the files it reads together, as one container sees them (None: the file
    is mounted in no container and is checked as rendered, placeholders unfilled)."""

    files: tuple[RenderedFile, ...]
    check: FileCheck
    container: Container | None

    def mount(self, file: RenderedFile) -> Mount | None:
        if self.container is None:
            return None
        return next((mount for mount in self.container.mounts if mount.file == file), None)

    def text(self, file: RenderedFile) -> str:
        mount = self.mount(file)
        return mount.text if mount else file.text


@dataclass(frozen=True, slots=True)
class Result:
    file: RenderedFile
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    where: str = ""  # the container whose view was checked, for grouped checks

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(slots=True)
class Machine:
    """This machine's programs, and the pod's names for the resolver (nss_wrapper)."""

    scratch: Path
    tools_bin: Path
    optdata: Path  # chartgen/optdata/<release>
    release: str
    hosts: str
    _memo: dict[object, object] = field(default_factory=dict)

    def program(self, name: str) -> str:
        found = shutil.which(name, path=os.pathsep.join((str(self.tools_bin), os.environ.get("PATH", ""), *SYSTEM_PATHS)))
        if not found:
            raise CheckerMissing(f"{name} is not installed: run `make tools` as root (it installs Debian's config checkers)")
        return found

    def nss_wrapper(self) -> str:
        for path in NSS_WRAPPER:
            if Path(path).exists():
                return path
        raise CheckerMissing("libnss_wrapper is not installed: run `make tools` as root (Debian package libnss-wrapper)")

    def __post_init__(self) -> None:
        (self.scratch / "hosts").write_text(self.hosts, encoding="utf-8")

    def resolver_env(self, scratch: Path, passwd: str | None = None, group: str | None = None) -> dict[str, str]:
        """LD_PRELOAD nss_wrapper so the program resolves the cluster's names (and, if given, the
        pod's users; the files go into the unit's own scratch folder)."""
        # nss_wrapper keeps at most NSS_WRAPPER_MAX_HOSTENTS names (default 100), then silently none.
        env = {"LD_PRELOAD": self.nss_wrapper(), "NSS_WRAPPER_HOSTS": str(self.scratch / "hosts"),
               "NSS_WRAPPER_MAX_HOSTENTS": str(2 * self.hosts.count("\n") + 100)}
        if passwd is not None and group is not None:
            (scratch / "passwd").write_text(passwd, encoding="utf-8")
            (scratch / "group").write_text(group, encoding="utf-8")
            env.update({"NSS_WRAPPER_PASSWD": str(scratch / "passwd"), "NSS_WRAPPER_GROUP": str(scratch / "group")})
        return env

    def run(self, command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, input=stdin, timeout=TIMEOUT)
        except subprocess.TimeoutExpired as expired:
            return subprocess.CompletedProcess(command, 124, "", f"{command[0]} did not finish in {TIMEOUT}s (killed): {expired}")

    def memo(self, key: object, compute: Callable[[], T]) -> T:
        """compute() once per lint run (program versions, loaded registries)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[return-value]


class Checker(Protocol):
    KIND: str
    PER_FILE: bool  # each file alone, whoever mounts it: identical files are checked once

    def program(self, machine: Machine) -> str: ...

    # Optional: a module without `units` is given per_file_units (one unit per file).
    def units(self, rendering: Rendering, files: list[tuple[RenderedFile, FileCheck]]) -> Iterator[Unit]: ...

    def run(self, unit: Unit, machine: Machine, scratch: Path) -> list[Result]: ...


def per_file_units(rendering: Rendering, files: list[tuple[RenderedFile, FileCheck]]) -> Iterator[Unit]:
    """One unit per file, as the first container that mounts it sees it."""
    for file, check in files:
        container = next((container for container, _ in rendering.mounts_of(file)), None)
        yield Unit((file,), check, container)


def write_unit_file(unit: Unit, scratch: Path) -> tuple[RenderedFile, Path]:
    """The one file of a per-file unit, written into the scratch folder as its container sees it."""
    file = unit.files[0]
    path = scratch / file.name
    path.write_text(unit.text(file), encoding="utf-8")
    return file, path


def error_lines(text: str, limit: int = 8) -> tuple[str, ...]:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return tuple(lines[-limit:]) if lines else ("(no output)",)
