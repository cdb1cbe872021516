"""mariadb: the option file parsed by MariaDB's own option handling, as the server and the client
read it: `mariadbd --defaults-file=FILE --help --verbose` (every server group: an unknown variable
or a bad value is an error, exit non-zero) and `mariadb --defaults-file=FILE --version` (the
[client] groups; the client reports an unknown variable on stderr). Debian's MariaDB: options
removed or added between its version and the image's are the version rules' business."""

from __future__ import annotations

import re
from pathlib import Path

from chartgen.configcheck.base import Machine, Result, Unit, error_lines, write_unit_file

PER_FILE = True
KIND = "mariadb"


def program(machine: Machine) -> str:
    def compute() -> str:
        output = machine.run([machine.program("mariadbd"), "--version"]).stdout
        found = re.search(r"Ver (\S+?)-MariaDB", output)
        return f"mariadbd {found.group(1) if found else '?'} --help"
    return machine.memo(KIND, compute)


def run(unit: Unit, machine: Machine, scratch: Path) -> list[Result]:
    file, path = write_unit_file(unit, scratch)
    errors: list[str] = []
    server = machine.run([machine.program("mariadbd"), f"--defaults-file={path}", "--help", "--verbose"], cwd=scratch)
    if server.returncode:
        errors += [line for line in server.stderr.splitlines() if "[ERROR]" in line] or list(error_lines(server.stderr))
    client = machine.run([machine.program("mariadb"), f"--defaults-file={path}", "--version"], cwd=scratch)
    if client.returncode or client.stderr.strip():
        errors += list(error_lines(client.stderr))
    return [Result(file, tuple(line.replace(str(scratch) + "/", "") for line in errors))]
