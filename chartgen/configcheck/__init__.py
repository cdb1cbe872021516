"""Real programs check every rendered config file (`chartgen lint`, step "config").

The chart is rendered by the real `helm template`; every ConfigMap file is taken as the container
that mounts it reads it (placeholders filled from the rendered Secrets, see pod.py) and handed to
the program its blueprint's `check` names. One module per kind, each with `KIND`, `program(machine)`
(the program and its version, as the lint line shows it), `units(rendering, files)` (which files
are checked together, as which container sees them) and `run(unit, machine, scratch)`.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from chartgen.configcheck import apache, haproxy, mariadb, oslo, python, rabbitmq, shell
from chartgen.configcheck.base import CheckerMissing, Machine, Result, Unit, per_file_units
from chartgen.configcheck.pod import Rendering, RenderedFile, parse
from chartgen.model import FileCheck, Umbrella

CHECKERS = {module.KIND: module for module in (haproxy, apache, mariadb, rabbitmq, python, shell, oslo)}
OPTDATA = Path(__file__).resolve().parent.parent / "optdata"
WORKERS = 2  # the programs are small; two at a time keeps a shared two-core machine responsive

__all__ = ["CHECKERS", "CheckerMissing", "KindReport", "Report", "check_manifest", "file_checks"]


@dataclass(frozen=True, slots=True)
class KindReport:
    kind: str
    program: str  # what ran, with this machine's version: "haproxy 2.6.12 -c"
    results: tuple[Result, ...]
    seconds: float


@dataclass(frozen=True, slots=True)
class Report:
    kinds: tuple[KindReport, ...]
    unchecked: tuple[tuple[RenderedFile, str], ...]  # (file, why)
    rendering: Rendering


def file_checks(umbrella: Umbrella) -> dict[tuple[str, str], FileCheck | None]:
    """(service, fileName) -> how its blueprint says to check it."""
    return {(service.name, config.file_name): config.check for service in umbrella.services for config in service.config_files}


def check_manifest(manifest: str, namespace: str, release: str, checks: Mapping[tuple[str, str], FileCheck | None],
                   tools_bin: Path, optdata: Path = OPTDATA) -> Report:
    """Run every file of a `helm template` output through its checker."""
    rendering = parse(manifest, namespace)
    by_kind: dict[str, list[tuple[RenderedFile, FileCheck]]] = {}
    unchecked: list[tuple[RenderedFile, str]] = []
    release_optdata = optdata / release
    for file in rendering.files:
        check = checks.get((file.service, file.name))
        if check is None:
            unchecked.append((file, "its blueprint names no check" if (file.service, file.name) in checks else "no blueprint file of this name"))
        elif check.kind == oslo.KIND and oslo.unavailable(check, release_optdata):
            unchecked.append((file, oslo.unavailable(check, release_optdata) or ""))
        else:
            by_kind.setdefault(check.kind, []).append((file, check))
    with tempfile.TemporaryDirectory(prefix="chartgen-configcheck-") as scratch:
        machine = Machine(Path(scratch), tools_bin, release_optdata, release, rendering.hosts_file())
        reports = [_check_kind(kind, files, rendering, machine) for kind, files in sorted(by_kind.items(), key=lambda item: list(CHECKERS).index(item[0]))]
    return Report(tuple(reports), tuple(unchecked), rendering)


def _check_kind(kind: str, files: list[tuple[RenderedFile, FileCheck]], rendering: Rendering, machine: Machine) -> KindReport:
    checker = CHECKERS[kind]
    start = time.perf_counter()
    program = checker.program(machine)
    # A checker without its own `units` checks one file at a time.
    units = list(getattr(checker, "units", per_file_units)(rendering, files))
    # Files every service ships alike (chartgen's shared scripts) are checked once.
    distinct: dict[object, list[Unit]] = {}
    for number, unit in enumerate(units):
        key = (unit.check, tuple((file.name, unit.text(file)) for file in unit.files)) if checker.PER_FILE else number
        distinct.setdefault(key, []).append(unit)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        batches = list(pool.map(lambda numbered: _run_unit(checker, numbered[1][0], machine, numbered[0]), enumerate(distinct.values())))
    results = [replace(result, file=unit.files[index]) for batch, same in zip(batches, distinct.values())
               for unit in same for index, result in enumerate(batch)]
    return KindReport(kind, program, tuple(sorted(results, key=lambda r: (r.file.service, r.file.name, r.where))), time.perf_counter() - start)


def _run_unit(checker, unit: Unit, machine: Machine, number: int) -> list[Result]:  # type: ignore[no-untyped-def]
    scratch = machine.scratch / f"{checker.KIND}-{number}"
    scratch.mkdir()
    return checker.run(unit, machine, scratch)
