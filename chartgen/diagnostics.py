"""Positioned diagnostics with stable codes, and the one exception the CLI turns into exit code 2."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterable

# The registry of every code chartgen can emit. Codes are stable: never renumber, only add.
# docs/diagnostics.md is generated from this table (`make docs`), and a test keeps them in sync.
CODES: dict[str, str] = {
    # load: the YAML itself
    "CG101": "YAML syntax error",
    "CG102": "duplicate mapping key",
    "CG103": "ambiguous YAML 1.1 scalar (yes/no/on/off, leading-zero or sexagesimal number): quote it",
    "CG104": "null value: write the value, or delete the key with {$delete: true}",
    "CG105": "unsupported YAML feature (merge key, custom tag, non-string key)",
    "CG106": "document is empty or not a mapping",
    "CG107": "file cannot be read",
    "CG108": "alias (*name): anchors and aliases are not supported, write the value out",
    "CG109": "file larger than the limit of one input file (1 MiB)",
    "CG110": "nesting deeper than the limit of one input file (32 levels)",
    "CG111": "more YAML nodes than the limit of one input file (20,000)",
    # validate: JSON Schema of blueprints and overlays
    "CG201": "wrong type",
    "CG202": "unknown key",
    "CG203": "missing required key",
    "CG204": "value not allowed (enum, pattern, range or length)",
    "CG209": "schema violation",
    # merge: layering directives
    "CG301": "unknown merge directive",
    "CG302": "directive deletes or patches a key that does not exist",
    "CG303": "directive applied to the wrong type",
    "CG304": "list item lacks the merge key",
    "CG305": "overlay patches a service that has no blueprint",
    "CG310": "release.basedOn names an unknown release or makes a loop",
    # resolve and semantic checks of the merged model
    "CG401": "dependency on an unknown service",
    "CG402": "dependency cycle",
    "CG403": "even replica count on a quorum component",
    "CG404": "name too long or not a DNS-1035 label",
    "CG405": "port clash",
    "CG406": "enabled service depends on a disabled service",
    "CG407": "reference to something that does not exist",
    "CG408": "service defined twice",
    "CG409": "privilege granted outside the service's blueprint",
    "CG410": "secret-like value written as a literal",
    "CG411": "more than one quorum or members component in a service",
    "CG412": "config feature the image's recorded software version does not have",
    "CG413": "command, probe or script calls a program the image does not have",
    "CG414": "runAsUser, runAsGroup or fsGroup the image does not have",
    "CG415": "WSGI script outside every directory its Apache virtual host grants",
    "CG416": "image in a Kolla registry not in its release's recorded image scheme (release.images)",
    "CG417": "upgrade job names an unknown service, job or component, or one it cannot use",
    "CG418": "liveness probe checks a dependency (a dependency's outage would restart the pod)",
    "CG419": "schedule of a scheduled job is not a cron schedule",
    "CG420": "setting of a scheduled job refused by its own schema (a retention of 0, a Secret reference without a key)",
    # command line and configuration
    "CG501": "unknown release",
    "CG502": "input file or folder not found",
    "CG503": "no such value path",
    "CG504": "output file exists (init-site without --force)",
    "CG505": "helm template failed on a built chart",
    "CG506": "git revision not found, or without blueprints/ and values/",
    "CG507": "downgrade: the to release is older than the from release",
    "CG508": "unsupported upgrade: no N to N+1 or SLURP hop (or chain of them) between the two releases",
}


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem, complete at creation: where (1-based line and column), what code, what happened."""

    file: str
    line: int
    col: int
    code: str
    message: str
    severity: str = "error"

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered diagnostic code {self.code}")  # a programming error

    def parsable(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.code} {self.message}"


class ChartgenError(Exception):
    """Bad input. The only exception the CLI reports as diagnostics and exit code 2."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = sorted(set(diagnostics))
        super().__init__("\n".join(d.parsable() for d in self.diagnostics))


def raise_if_any(diagnostics: Iterable[Diagnostic]) -> None:
    found = list(diagnostics)
    if any(d.severity == "error" for d in found):
        raise ChartgenError(found)


def to_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in diagnostics], indent=2, sort_keys=True)


def codes_markdown() -> str:
    """The documentation page for every code (docs/diagnostics.md)."""
    lines = [
        "# Diagnostic codes",
        "",
        "Every problem chartgen finds in its input is printed as `file:line:col: CODE message` and the",
        "command exits with status 2. Codes are stable. This page is generated from",
        "`chartgen/diagnostics.py` by `make docs`.",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    lines += ["| %s | %s |" % (code, text.replace("|", r"\|")) for code, text in CODES.items()]
    return "\n".join(lines) + "\n"
