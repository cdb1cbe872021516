"""python: `python3 -m py_compile FILE` with the Python running chartgen (whose version may differ
from the image's: syntax a Python 2 image cannot run is not caught here)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Iterator

from chartgen.configcheck.base import Machine, Result, Unit, error_lines, per_file_units
from chartgen.configcheck.pod import Rendering, RenderedFile
from chartgen.model import FileCheck

PER_FILE = True
KIND = "python"


def program(machine: Machine) -> str:
    return f"python {platform.python_version()} -m py_compile"


def units(rendering: Rendering, files: list[tuple[RenderedFile, FileCheck]]) -> Iterator[Unit]:
    return per_file_units(rendering, files)


def run(unit: Unit, machine: Machine, scratch: Path) -> list[Result]:
    file = unit.files[0]
    path = scratch / file.name
    path.write_text(unit.text(file), encoding="utf-8")
    result = machine.run([sys.executable, "-m", "py_compile", str(path)], cwd=scratch)
    errors = error_lines(result.stderr.replace(str(scratch) + "/", "")) if result.returncode else ()
    return [Result(file, errors)]
