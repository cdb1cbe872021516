"""haproxy: `haproxy -c -f FILE`, HAProxy's own configuration check (Debian's HAProxy, whose version
may differ from the image's: keywords an older HAProxy lacks are the version rules' business).

Server names resolve through nss_wrapper to the cluster names of the rendered Services and
StatefulSet pods, so a misspelt backend host fails as it would at start."""

from __future__ import annotations

import re
from pathlib import Path

from chartgen.configcheck.base import Machine, Result, Unit, write_unit_file

PER_FILE = True
KIND = "haproxy"


def program(machine: Machine) -> str:
    def compute() -> str:
        output = machine.run([machine.program("haproxy"), "-v"]).stdout
        found = re.search(r"version (\S+)", output)
        return f"haproxy {found.group(1) if found else '?'} -c"
    return machine.memo(KIND, compute)


def run(unit: Unit, machine: Machine, scratch: Path) -> list[Result]:
    file, path = write_unit_file(unit, scratch)
    result = machine.run([machine.program("haproxy"), "-c", "-f", str(path)], env=machine.resolver_env(scratch))
    lines = [line.replace(str(scratch) + "/", "") for line in (result.stderr + result.stdout).splitlines()]
    errors = tuple(line for line in lines if "[ALERT]" in line) or (tuple(lines[-5:]) if result.returncode else ())
    warnings = tuple(line for line in lines if "[WARNING]" in line)
    return [Result(file, errors if result.returncode else (), warnings)]
