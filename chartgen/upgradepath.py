"""`chartgen upgrade-path`: the chain of supported upgrades between two releases, from the release
overlays alone. OpenStack upgrades N to N+1 (`release.previous`, by default the overlay before it in
`chartgen releases`) and, between consecutive SLURP releases (`release.slurp: true`), skips the
release in between. Each hop runs what its target overlay's `upgrade:` list declares; a downgrade,
or a pair no chain of hops joins, is refused with a positioned diagnostic.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chartgen.build import release_bases
from chartgen.config import BuildConfig, release_files
from chartgen.diagnostics import ChartgenError, Diagnostic, raise_if_any
from chartgen.load import Document, load_file
from chartgen.validate import document_locator, validate

NEXT, SLURP = "next", "slurp"  # N to N+1; a skip between consecutive SLURP releases
KIND_TEXT = {NEXT: "N to N+1", SLURP: "SLURP skip"}


@dataclass(frozen=True, slots=True)
class UpgradeJob:
    service: str
    name: str
    phase: str  # pre | post
    command: tuple[str, ...]
    stop: tuple[str, ...]
    steps: tuple[str, ...] = ()  # names of the init containers run before the command, in order


@dataclass(frozen=True, slots=True)
class ReleaseHeader:
    name: str
    file: str  # as messages show it
    released: str
    slurp: bool
    previous: str | None  # the release it upgrades from (declared, or the overlay before it)
    previous_at: tuple[int, int]  # where release.previous is written (release.name when implied)
    name_at: tuple[int, int]
    jobs: tuple[UpgradeJob, ...]


@dataclass(frozen=True, slots=True)
class Hop:
    before: str
    after: str
    kind: str  # NEXT | SLURP
    jobs: tuple[UpgradeJob, ...] = ()
    removed: tuple[str, ...] = ()  # service.component of the from side that the to side lacks
    added: tuple[str, ...] = ()


# --- the releases and the hops between them -------------------------------------------------------------
def headers(root: Path) -> dict[str, ReleaseHeader]:
    """Every release overlay's header, oldest first."""
    config = BuildConfig(root, "")
    files = release_files(root)
    loaded = []
    for name, path in files.items():
        doc = load_file(path, config.display(path))
        raise_if_any(validate(doc.data, "overlay", document_locator(doc)))
        release = doc.data.get("release", {})
        loaded.append((str(release.get("released", "9999")), name, doc, release))
    loaded.sort(key=lambda item: (item[0], item[1]))
    found: dict[str, ReleaseHeader] = {}
    before: str | None = None
    documents = {name: doc for _, name, doc, _ in loaded}
    for released, name, doc, release in loaded:
        declared = release.get("previous")
        at = doc.position(("release", "previous") if declared else ("release", "name"))
        jobs = tuple(UpgradeJob(j["service"], j["name"], j["phase"], tuple(j["command"]), tuple(j.get("stop", ())),
                                tuple(step["name"] for step in j.get("steps", ())))
                     for j in effective_upgrade(config, doc, documents, files).get("jobs", []))
        found[name] = ReleaseHeader(name, doc.file, released, bool(release.get("slurp", False)), declared or before,
                                    at, doc.position(("release", "name")), jobs)
        before = name
    return found


def effective_upgrade(config: BuildConfig, doc: Document, documents: dict[str, Document], files: dict[str, Path]) -> dict[str, Any]:
    """The `upgrade:` block the chart of `doc` renders: its own, else the nearest one of the overlays
    it is based on (release.basedOn), as the build lays the bases under it."""
    chain = (*release_bases(config, files, doc, documents), doc)
    return next((layer.data["upgrade"] for layer in reversed(chain) if "upgrade" in layer.data), {})


def hop_kind(known: dict[str, ReleaseHeader], before: str, after: str) -> str | None:
    """NEXT when `after` upgrades from `before`, SLURP when both are SLURP releases with none between
    them (every release between them has an overlay), else None."""
    target = known[after]
    if target.previous == before:
        return NEXT
    if not (target.slurp and known[before].slurp):
        return None
    current = target.previous
    while current in known and not known[current].slurp:
        current = known[current].previous
    return SLURP if current == before else None


def edges(known: dict[str, ReleaseHeader], slurp: bool) -> dict[str, list[tuple[str, str]]]:
    """(to, kind) of every supported hop out of each release, N to N+1 first."""
    found: dict[str, list[tuple[str, str]]] = {name: [] for name in known}
    for after in known:
        for before in known:
            kind = hop_kind(known, before, after) if before != after else None
            if kind == NEXT or (kind == SLURP and slurp):
                found[before].append((after, kind))
    return found


def chain(known: dict[str, ReleaseHeader], before: str, after: str, slurp: bool = True) -> list[Hop] | None:
    """The fewest hops from `before` to `after` (SLURP skips only when `slurp`), or None."""
    graph = edges(known, slurp)
    came: dict[str, tuple[str, str]] = {}
    queue = deque([before])
    while queue:
        current = queue.popleft()
        if current == after:
            hops: list[Hop] = []
            while current != before:
                previous, kind = came[current]
                hops.insert(0, Hop(previous, current, kind, known[current].jobs))
                current = previous
            return hops
        for target, kind in sorted(graph[current], key=lambda edge: edge[1] != SLURP):
            if target not in came and target != before:
                came[target] = (current, kind)
                queue.append(target)
    return None


# --- what the command refuses ----------------------------------------------------------------------------
def _unknown(root: Path, name: str, known: dict[str, ReleaseHeader]) -> Diagnostic:
    path = BuildConfig(root, "").display(root / "values" / f"{name}.yaml")
    return Diagnostic(path, 1, 1, "CG501", f"unknown release {name!r} (known: {', '.join(known) or 'none'})")


def _break(known: dict[str, ReleaseHeader], before: str, after: str) -> Diagnostic:
    """Where the chain from `before` to `after` is cut: the first release walking back from `after`
    whose previous release has no overlay (or is older than `before`)."""
    order = list(known)
    current = known[after]
    while current.previous in known and order.index(current.previous) > order.index(before):
        current = known[current.previous]
    reached = chain(known, before, current.previous, True) if current.previous in known else None
    line, col = current.previous_at
    if current.previous is None:
        why = f"{current.name} is the oldest release and upgrades from nothing"
    elif current.previous not in known:
        why = f"{current.name} upgrades from {current.previous} (release.previous), which has no overlay in values/"
    else:
        why = f"{current.name} upgrades from {current.previous}, not from {before}"
    take = f"; the supported chain reaches {' -> '.join([before] + [hop.after for hop in reached])}" if reached else ""
    return Diagnostic(current.file, line, col, "CG508", f"no supported upgrade from {before} to {after}: {why}{take}")


def check_hop(root: Path, before: str, after: str) -> Diagnostic | None:
    """A problem with upgrading straight from `before` to `after` (one `helm upgrade`), or None."""
    known = headers(root)
    for name in (before, after):
        if name not in known:
            return _unknown(root, name, known)
    if before == after:
        return None
    order = list(known)
    target = known[after]
    if order.index(after) < order.index(before):
        return Diagnostic(target.file, *target.name_at, "CG507",
                          f"{after} is older than {before}: OpenStack does not downgrade (helm rollback to the revision of {after} instead)")
    if hop_kind(known, before, after):
        return None
    hops = chain(known, before, after)
    if hops is None:
        return _break(known, before, after)
    path = " -> ".join([before] + [hop.after for hop in hops])
    return Diagnostic(target.file, *target.previous_at, "CG508",
                      f"{before} -> {after} skips releases; upgrade one hop at a time: {path}")


def plan(root: Path, before: str | None, after: str | None, slurp: bool = True) -> tuple[str, str, list[Hop]]:
    """The chain from `before` (default: the oldest release) to `after` (default: the newest), each hop
    with its upgrade jobs and the components it removes and adds. Raises ChartgenError."""
    known = headers(root)
    before = before or next(iter(known))
    after = after or list(known)[-1]
    problem = check_hop(root, before, after)
    if problem is not None and problem.code in ("CG501", "CG507"):
        raise ChartgenError([problem])
    hops = chain(known, before, after, slurp) if before != after else []
    if hops is None:
        raise ChartgenError([_break(known, before, after)])
    return before, after, [_with_components(root, hop) for hop in hops]


def _with_components(root: Path, hop: Hop) -> Hop:
    from dataclasses import replace

    old, new = _components(root, hop.before), _components(root, hop.after)
    return replace(hop, removed=tuple(sorted(old - new)), added=tuple(sorted(new - old)))


def _components(root: Path, release: str) -> set[str]:
    """service.component of every long-running component of the enabled services."""
    from chartgen.build import compile_release

    umbrella = compile_release(BuildConfig(root, release)).umbrella
    return {f"{s.name}.{w.key}" for s in umbrella.services if s.enabled for w in s.components}


# --- presentation -------------------------------------------------------------------------------------
def as_dict(before: str, after: str, hops: list[Hop]) -> dict[str, Any]:
    return {"from": before, "to": after, "hops": [
        {"from": hop.before, "to": hop.after, "kind": hop.kind, "removed": list(hop.removed), "added": list(hop.added),
         "jobs": [{"service": j.service, "name": j.name, "phase": j.phase, "command": list(j.command), "stop": list(j.stop), "steps": list(j.steps)}
                  for j in hop.jobs]}
        for hop in hops]}


def text_lines(before: str, after: str, hops: list[Hop]) -> list[tuple[str, str]]:
    """(style, line) pairs: the CLI prints them plain, or coloured on a terminal."""
    path = " -> ".join([before] + [hop.after for hop in hops])
    lines = [("bold", f"chartgen upgrade-path {before} -> {after}: {len(hops)} hop{'s' if len(hops) != 1 else ''}" + (f" ({path})" if hops else ""))]
    for hop in hops:
        lines.append(("bold", f"{hop.before} -> {hop.after} ({KIND_TEXT[hop.kind]}): helm upgrade to the chart of {hop.after}"))
        for phase, when in (("pre", "before the pods roll"), ("post", "after every pod rolled")):
            jobs = [j for j in hop.jobs if j.phase == phase]
            if jobs:
                lines.append(("", f"  {phase}-upgrade Jobs, in order ({when}):"))
            for job in jobs:
                stop = f" [stops {', '.join(job.stop)} first]" if job.stop else ""
                stop += f" [after the steps {', '.join(job.steps)}]" if job.steps else ""
                lines.append(("", f"    {job.service}-upgrade-{job.name}: {' '.join(job.command)}{stop}"))
        if not hop.jobs:
            lines.append(("yellow", f"  no upgrade Jobs declared (values/{hop.after}.yaml has no `upgrade:` list)"))
        lines.append(("red" if hop.removed else "dim", f"  removed: {', '.join(hop.removed) or 'nothing'}"))
        lines.append(("green" if hop.added else "dim", f"  added:   {', '.join(hop.added) or 'nothing'}"))
    return lines


def mermaid(root: Path) -> str:
    """The upgrade graph of every release: N to N+1 arrows, SLURP skips (thick), and the releases an
    overlay upgrades from that values/ has no overlay for (dashed: the chain is cut there)."""
    known = headers(root)

    def node(name: str) -> str:
        return "r_" + name.replace(".", "_")

    lines = ["graph LR"]
    for name, header in known.items():
        lines.append(f'  {node(name)}["{name}{" (SLURP)" if header.slurp else ""}"]')
    for name, header in known.items():
        if header.previous and header.previous not in known:
            lines.append(f'  {node(header.previous)}["{header.previous}: no overlay"] -.-> {node(name)}')
    for before, targets in edges(known, True).items():
        for after, kind in targets:
            lines.append(f"  {node(before)} ==>|SLURP| {node(after)}" if kind == SLURP else f"  {node(before)} --> {node(after)}")
    return "\n".join(lines) + "\n"
