"""`chartgen check-upgrade`: run every upgrade rule (chartgen/upgrade_rules/) over the renderings of
two sides, and trace each finding back to the inputs: the object's service and component (from
its labels) lead to the values paths under them that differ between the sides, cited with the
to side's file:line (or the deletion that removed them); failing that, the service's blueprint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from chartgen import upgrade_rules
from chartgen.load import Path
from chartgen.model import camel
from chartgen.sides import Pair, Side
from chartgen.diagnostics import Diagnostic
from chartgen.upgrade_rules.base import Finding
from chartgen.upgradepath import check_hop
from chartgen.valuediff import Provenance, ValueChange, compare, provenance

MAX_CAUSES = 5
NAME_LABEL, COMPONENT_LABEL = "app.kubernetes.io/name", "app.kubernetes.io/component"


@dataclass(frozen=True, slots=True)
class Cause:
    path: str  # a dotted values path, or the template file for a folder side
    origin: Provenance | None
    change: str  # added | removed | changed | blueprint | template


@dataclass(frozen=True, slots=True)
class Blamed:
    finding: Finding
    service: str
    component: str
    causes: tuple[Cause, ...]
    more: int  # causes left out


@dataclass(frozen=True, slots=True)
class UpgradeReport:
    before: Side
    after: Side
    findings: tuple[Blamed, ...]
    hop: Diagnostic | None = None  # two releases of this project: not a supported OpenStack upgrade

    @property
    def failed(self) -> bool:
        return bool(self.findings) or self.hop is not None


def check_upgrade(pair: Pair) -> UpgradeReport:
    findings = upgrade_rules.run_all(pair)
    changes: list[ValueChange] = []
    if pair.before.compiled and pair.after.compiled:
        changes = compare(pair.before.compiled.merged, pair.after.compiled.merged, pair.before.display, pair.after.display)
    return UpgradeReport(pair.before, pair.after, tuple(_blame(pair, finding, changes) for finding in findings), _hop(pair))


def _hop(pair: Pair) -> Diagnostic | None:
    """Two release sides of the working tree: is one `helm upgrade` from the one to the other a
    supported OpenStack upgrade (N to N+1, or a SLURP skip)? Git and folder sides are not judged."""
    if pair.before.kind != "release" or pair.after.kind != "release" or not pair.after.compiled:
        return None
    return check_hop(pair.after.compiled.config.root, pair.before.label, pair.after.label)


def _blame(pair: Pair, finding: Finding, changes: list[ValueChange]) -> Blamed:
    obj = finding.obj
    service = obj.labels.get(NAME_LABEL) or obj.chart
    component = obj.labels.get(COMPONENT_LABEL, "")
    for prefix in _prefixes(pair, service, component):
        matches = [change for change in changes if change.path[: len(prefix)] == prefix]
        if matches:
            causes = [Cause(m.dotted, m.after_origin or m.before_origin, m.change) for m in matches]
            return Blamed(finding, service, component, tuple(causes[:MAX_CAUSES]), max(0, len(causes) - MAX_CAUSES))
    return Blamed(finding, service, component, (_fallback(pair, service, obj.source),), 0)


def _prefixes(pair: Pair, service: str, component: str) -> list[Path]:
    """Where to look for the change, most specific first: the component (or job), its image, the
    whole service, the global settings."""
    found: list[Path] = []
    for side in (pair.after, pair.before):
        umbrella = side.compiled.umbrella if side.compiled else None
        for item in umbrella.services if umbrella else ():
            for workload in item.workloads if item.name == service else ():
                if workload.name == component:
                    group = workload.values_section or "components"
                    found += [("services", service, group, workload.key), ("services", service, "images", workload.image.key)]
    if not found and component:
        found.append(("services", service, "components", camel(component)))
    return found + [("services", service), ("global",)]


def _fallback(pair: Pair, service: str, source: str) -> Cause:
    """No values path differs under the service: cite its blueprint (to side first)."""
    for side in (pair.after, pair.before):
        if side.compiled is None:
            continue
        found = provenance(side.compiled.merged, ("services", service, "service"), True, side.display)
        if found is not None:
            return Cause(f"services.{service}", found, "blueprint")
    return Cause(source, None, "template")  # folder sides: only the template that rendered it


# --- presentation ---------------------------------------------------------------------------------------
def as_dict(report: UpgradeReport) -> dict[str, Any]:
    return {
        "from": {"spec": report.before.label, "kind": report.before.kind},
        "to": {"spec": report.after.label, "kind": report.after.kind},
        "findings": [_finding(blamed) for blamed in report.findings],
        "hop": asdict(report.hop) if report.hop else None,
    }


def _finding(blamed: Blamed) -> dict[str, Any]:
    finding = blamed.finding
    return {
        "rule": finding.rule, "severity": finding.severity, "kind": finding.obj.kind, "namespace": finding.obj.namespace,
        "name": finding.obj.name, "service": blamed.service, "component": blamed.component, "field": finding.field,
        "from": finding.before, "to": finding.after, "message": finding.message,
        "causes": [{"path": c.path, "change": c.change, **(c.origin.as_dict() if c.origin else {})} for c in blamed.causes],
        "moreCauses": blamed.more,
    }


def text_lines(report: UpgradeReport) -> list[tuple[str, str]]:
    """(style, line) pairs: the CLI prints them plain, or coloured on a terminal."""
    lines = [("bold", f"chartgen check-upgrade {report.before.label} ({report.before.kind}) -> {report.after.label} ({report.after.kind})")]
    for blamed in report.findings:
        finding = blamed.finding
        style = "bold red" if finding.severity == "error" else "yellow"
        lines.append((style, f"{finding.severity:7} {finding.obj.ref} {finding.field} [{finding.rule}]"))
        lines.append(("", f"        {finding.message}"))
        for cause in blamed.causes:
            where = f"{cause.origin.where()} [{cause.origin.layer}]" if cause.origin else "(no provenance: folder side)"
            lines.append(("dim", f"        caused by {cause.path} ({cause.change}) at {where}"))
        if blamed.more:
            lines.append(("dim", f"        ... and {blamed.more} more changed paths there"))
    if report.hop is not None:
        lines.append(("bold red", f"error   unsupported upgrade: {report.hop.parsable()}"))
    errors = sum(b.finding.severity == "error" for b in report.findings) + (report.hop is not None)
    count = len(report.findings) + (report.hop is not None)
    tail = f"{count} finding{'s' if count != 1 else ''} ({errors} errors, {count - errors} warnings)" if count else "no findings: the upgrade is safe by these rules"
    lines.append(("bold" if count else "green", tail))
    return lines
