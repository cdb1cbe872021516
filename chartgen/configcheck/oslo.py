"""oslo: `oslo-config-validator --opt-data REGISTRY --input-file FILE`, oslo.config's own validator,
against the option registries of the release's OpenStack projects (chartgen/optdata/<release>/,
generated once per release by `make optdata` with the real oslo-config-generator from the projects
pip-installed at the release's versions under its upper constraints). An option no registry has is
an error; a deprecated one (renamed, or deprecated for removal) a warning.

The blueprint names every registry of a program that reads the file (an agent's .ini is read
together with neutron.conf, so either may set the other's options); they are merged into one
opt-data file. Sections named at run time (a cinder backend, a glance store) are checked as the
registry group the blueprint maps them to.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ruamel.yaml import YAML

from chartgen.configcheck.base import Machine, Result, Unit, error_lines, per_file_units
from chartgen.configcheck.pod import Rendering, RenderedFile
from chartgen.model import FileCheck

PER_FILE = True
KIND = "oslo"


def program(machine: Machine) -> str:
    def compute() -> str:
        result = machine.run([machine.program("oslo-config-validator"), "--version"])
        return f"oslo-config-validator {(result.stdout or result.stderr).strip() or '?'}"
    return machine.memo(KIND, compute)


def units(rendering: Rendering, files: list[tuple[RenderedFile, FileCheck]]) -> Iterator[Unit]:
    return per_file_units(rendering, files)


def unavailable(check: FileCheck, optdata: Path) -> str | None:
    """Why the file cannot be checked in this release, or None: no registries for the release at
    all, or not the ones it names (a project the release does not have, e.g. placement before stein)."""
    if not optdata.is_dir():
        return (f"no option registries for release {optdata.name}: chartgen/optdata/{optdata.name}/ is not generated "
                f"(make optdata RELEASE={optdata.name}, needs tools/optdata/{optdata.name}/ and PyPI)")
    missing = [registry for registry in check.registries if not (optdata / f"{registry}.yaml").is_file()]
    if missing:
        return f"no option registry {', '.join(missing)} for release {optdata.name} (see chartgen/optdata/{optdata.name}/SOURCES.yaml)"
    return None


def run(unit: Unit, machine: Machine, scratch: Path) -> list[Result]:
    file = unit.files[0]
    text = unit.text(file)
    registry = _registry(unit.check, machine)
    # Only the file's own sections: the validator looks up nothing else, and loads its opt data with
    # a pure-Python YAML parser (a whole merged registry takes seconds).
    sections = set(_SECTION.findall(text)) | {"DEFAULT"}
    opt_data = scratch / "opt-data.json"
    opt_data.write_text(json.dumps({kind: {group: body for group, body in groups.items() if group in sections}
                                    for kind, groups in registry.items()}), encoding="utf-8")
    path = scratch / file.name
    path.write_text(text, encoding="utf-8")
    result = machine.run([machine.program("oslo-config-validator"), "--opt-data", str(opt_data), "--input-file", str(path)])
    lines = result.stderr.splitlines()
    errors = tuple(_message(line) for line in lines if line.startswith("ERROR:"))
    warnings = tuple(_message(line) for line in lines if line.startswith("WARNING:"))
    if result.returncode and not errors:
        errors = error_lines(result.stderr + result.stdout)
    return [Result(file, errors if result.returncode else (), warnings)]


def _message(line: str) -> str:
    return re.sub(r"^(ERROR|WARNING):[^:]*:", "", line).strip()


_SECTION = re.compile(r"^[ \t]*\[([^\]\n]+)\]", re.M)


def _registry(check: FileCheck, machine: Machine) -> dict[str, Any]:
    """The registries the check names, merged (options and deprecated options by group), with the
    run-time sections given their groups' options. Loaded once per lint run."""
    return machine.memo((KIND, check), lambda: _merge(check, machine.optdata))


def _merge(check: FileCheck, optdata: Path) -> dict[str, Any]:
    options: dict[str, dict[str, list[Any]]] = {}
    deprecated: dict[str, list[Any]] = {}
    for registry in check.registries:
        data = _load(optdata / f"{registry}.yaml")
        for group, body in data["options"].items():
            options.setdefault(group, {"opts": []})["opts"].extend(body["opts"])
        for group, entries in (data.get("deprecated_options") or {}).items():
            deprecated.setdefault(group, []).extend(entries)
    for section, groups in check.groups:
        options[section] = {"opts": [opt for group in groups for opt in options.get(group, {}).get("opts", [])]}
        deprecated[section] = [entry for group in groups for entry in deprecated.get(group, [])]
    return {"options": options, "deprecated_options": deprecated}


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        return YAML(typ="safe").load(stream)
