"""apache: `apache2 -t` (Debian's Apache with mod_wsgi) on the Apache tree one container runs.

The tree is Debian's /etc/apache2, as the Ubuntu-based images ship it (same package layout), with
mod_wsgi enabled and ports.conf emptied, as kolla's images do (`echo > /etc/apache2/ports.conf`,
kolla@6.0.0 and @stable/2025.1 docker/*/Dockerfile.j2); each Apache file the container mounts under
/etc/apache2 is placed at its path, so what the image's apache2.conf includes is what is checked,
together (two files that both `Listen` on a port fail as they would in the pod). The container's own
environment is apache2's (APACHE_RUN_USER, APACHE_RUN_DIR, ...: apache2.conf reads them); its
directories (emptyDir volumes) exist in a scratch root. nss_wrapper gives the pod's user the name
APACHE_RUN_USER says, with the pod's uid, and resolves the cluster's host names; whether the image
has that user is the version rules' business.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterator

from chartgen.configcheck.base import Machine, Result, Unit, error_lines
from chartgen.configcheck.pod import Container, PodRoot, Rendering, RenderedFile
from chartgen.model import FileCheck

PER_FILE = False
KIND = "apache"
DEBIAN_TREE = Path("/etc/apache2")
CONF_DIR = "/etc/apache2"
MODULES = ("wsgi",)  # enabled in the images (libapache2-mod-wsgi's postinst runs a2enmod)


def program(machine: Machine) -> str:
    def compute() -> str:
        output = machine.run([machine.program("apache2"), "-v"]).stdout
        found = re.search(r"Apache/(\S+)", output)
        wsgi = machine.run(["dpkg-query", "-W", "-f", "${Version}", "libapache2-mod-wsgi-py3"]).stdout.strip()
        return f"apache2 {found.group(1) if found else '?'} -t, mod_wsgi {wsgi.split('-')[0] or '?'}"
    return machine.memo(KIND, compute)


def units(rendering: Rendering, files: list[tuple[RenderedFile, FileCheck]]) -> Iterator[Unit]:
    """One unit per container that mounts Apache files (all of them together); a file no container
    mounts is checked alone, as if it were in conf-enabled/."""
    wanted = {file: check for file, check in files}
    seen: set[tuple[tuple[str, str], ...]] = set()
    mounted: set[RenderedFile] = set()
    for container in rendering.containers:
        group = tuple(sorted((m.file for m in container.mounts if m.file in wanted), key=lambda f: f.name))
        if not group:
            continue
        mounted.update(group)
        key = tuple((m.path, m.text) for m in container.mounts if m.file in wanted) + tuple(sorted(container.env))
        if key not in seen:
            seen.add(key)
            yield Unit(group, wanted[group[0]], container)
    for file, check in files:
        if file not in mounted:
            yield Unit((file,), check, None)


def run(unit: Unit, machine: Machine, scratch: Path) -> list[Result]:
    container = unit.container or Container("-", "-", (), (), (), None, None)
    root = PodRoot(scratch / "root", container)
    conf = root.path(CONF_DIR)
    _debian_tree(conf)
    errors: dict[RenderedFile, list[str]] = {file: [] for file in unit.files}
    for file in unit.files:
        mount = unit.mount(file)
        if mount is None:
            (conf / "conf-enabled" / file.name).write_text(file.text, encoding="utf-8")
        elif not mount.path.startswith(CONF_DIR + "/"):
            errors[file].append(f"mounted at {mount.path}, outside {CONF_DIR}: the image's Apache never reads it")
        else:
            root.place(mount)
    env = {name: root.rewrite(value) for name, value in container.env}
    user, group = env.get("APACHE_RUN_USER"), env.get("APACHE_RUN_GROUP")
    env.update(machine.resolver_env(scratch, _passwd(user, container), _group(group, container)))
    result = machine.run([machine.program("apache2"), "-d", str(conf), "-f", str(conf / "apache2.conf"), "-t"], env=env, cwd=scratch)
    where = container.label if unit.container else "no container mounts it"
    if result.returncode:
        lines = error_lines(root.unrewrite(result.stderr + result.stdout))
        blamed = [file for file in unit.files if any(_mentions(line, unit, file) for line in lines)] or list(unit.files)
        for file in blamed:
            errors[file] += lines
    return [Result(file, tuple(errors[file]), where=where) for file in unit.files]


def _mentions(line: str, unit: Unit, file: RenderedFile) -> bool:
    mount = unit.mount(file)
    return (mount.path if mount else file.name) in line


def _debian_tree(conf: Path) -> None:
    if conf.exists():
        shutil.rmtree(conf)
    shutil.copytree(DEBIAN_TREE, conf, symlinks=True)
    (conf / "ports.conf").write_text("", encoding="utf-8")
    for module in MODULES:
        for suffix in (".load", ".conf"):
            link = conf / "mods-enabled" / f"{module}{suffix}"
            if (conf / "mods-available" / f"{module}{suffix}").exists() and not link.exists():
                link.symlink_to(f"../mods-available/{module}{suffix}")


def _passwd(user: str | None, container: Container) -> str:
    base = Path("/etc/passwd").read_text(encoding="utf-8")
    if not user or re.search(rf"^{re.escape(user)}:", base, re.M):
        return base
    uid = container.run_as_user if container.run_as_user is not None else 65534
    gid = container.run_as_group if container.run_as_group is not None else uid
    return base + f"{user}:x:{uid}:{gid}::/nonexistent:/usr/sbin/nologin\n"


def _group(group: str | None, container: Container) -> str:
    base = Path("/etc/group").read_text(encoding="utf-8")
    if not group or re.search(rf"^{re.escape(group)}:", base, re.M):
        return base
    gid = container.run_as_group if container.run_as_group is not None else 65534
    return base + f"{group}:x:{gid}:\n"
