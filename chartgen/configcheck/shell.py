"""shell: the script parsed without running it (`-n`) by the shell its #! line names (sh: on
Debian, like the Ubuntu images, dash; bash), sh when it has none."""

from __future__ import annotations

import os
from pathlib import Path

from chartgen.configcheck.base import Machine, Result, Unit, error_lines

PER_FILE = True
KIND = "shell"


def program(machine: Machine) -> str:
    sh = os.path.basename(os.path.realpath(machine.program("sh")))
    return f"sh ({sh}) / bash -n"


def interpreter(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    if first.startswith("#!"):
        words = first[2:].split()
        name = os.path.basename(words[1] if words and os.path.basename(words[0]) == "env" and len(words) > 1 else words[0] if words else "sh")
        return name if name in ("sh", "bash", "dash") else "sh"
    return "sh"


def run(unit: Unit, machine: Machine, scratch: Path) -> list[Result]:
    file = unit.files[0]
    text = unit.text(file)
    path = scratch / file.name
    path.write_text(text, encoding="utf-8")
    result = machine.run([machine.program(interpreter(text)), "-n", str(path)], cwd=scratch)
    errors = error_lines(result.stderr.replace(str(scratch) + "/", "")) if result.returncode or result.stderr.strip() else ()
    return [Result(file, errors)]
