"""python: `python3 -m py_compile FILE` with the Python running chartgen (whose version may differ
from the image's: syntax a Python 2 image cannot run is not caught here)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from chartgen.configcheck.base import Machine, Result, Unit, error_lines, write_unit_file

PER_FILE = True
KIND = "python"


def program(machine: Machine) -> str:
    return f"python {platform.python_version()} -m py_compile"


def run(unit: Unit, machine: Machine, scratch: Path) -> list[Result]:
    file, path = write_unit_file(unit, scratch)
    result = machine.run([sys.executable, "-m", "py_compile", str(path)], cwd=scratch)
    errors = error_lines(result.stderr.replace(str(scratch) + "/", "")) if result.returncode else ()
    return [Result(file, errors)]
