"""The pipeline, one call per stage: load -> validate -> merge -> validate -> resolve -> checks ->
render -> write. Library code: it returns results and raises ChartgenError; it never prints."""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from chartgen import checks, render
from chartgen.cache import KnownValid, RenderCache
from chartgen.checks.context import Context
from chartgen.config import COMMON_OVERLAY, BuildConfig, ordered_releases, release_files
from chartgen.diagnostics import ChartgenError, Diagnostic, raise_if_any
from chartgen.load import Document, load_file
from chartgen.lineage import release_of, retag_patches
from chartgen.merge import DerivedPatch, Merged, Partial, Patch, merge, merge_partial
from chartgen.model import Release, Umbrella
from chartgen.resolve import resolve
from chartgen.validate import document_locator, validate
from chartgen.write import WriteReport, write_tree


@dataclass(frozen=True, slots=True)
class Inputs:
    blueprints: tuple[Document, ...]
    common: Document
    release: Document
    sites: tuple[Document, ...]
    bases: tuple[Document, ...] = ()  # the overlays `release.basedOn` names, farthest base first

    @property
    def chain(self) -> tuple[Document, ...]:
        """Every release overlay of this build, in the order they are laid: bases, then the release."""
        return (*self.bases, self.release)


@dataclass(frozen=True, slots=True)
class Compiled:
    config: BuildConfig
    release: Release
    merged: Merged
    umbrella: Umbrella


@dataclass(frozen=True, slots=True)
class BuildResult:
    compiled: Compiled
    files: dict[str, str]
    report: WriteReport | None
    seconds: dict[str, float]


def _diagnostic(config: BuildConfig, path: Path, code: str, message: str) -> Diagnostic:
    return Diagnostic(config.display(path), 1, 1, code, message)


# --- stage 1: load ----------------------------------------------------------------------------------
def load_inputs(config: BuildConfig) -> Inputs:
    problems: list[Diagnostic] = []

    def attempt(path: Path) -> Document | None:
        try:
            return load_file(path, config.display(path))
        except ChartgenError as error:
            problems.extend(error.diagnostics)
            return None

    if not config.blueprints.is_dir():
        raise ChartgenError([_diagnostic(config, config.blueprints, "CG502", "no blueprints/ folder here (run chartgen in the project folder)")])
    releases = release_files(config.root)
    if config.release not in releases:
        known = ", ".join(ordered_releases(config.root)) or "none"
        raise ChartgenError([_diagnostic(config, config.values / f"{config.release}.yaml", "CG501", f"unknown release {config.release!r} (known: {known})")])
    common_path = config.values / COMMON_OVERLAY
    if not common_path.is_file():
        raise ChartgenError([_diagnostic(config, common_path, "CG502", "values/common.yaml (umbrella-wide settings) is missing")])
    for site in config.overlays:
        if not site.is_file():
            problems.append(_diagnostic(config, site, "CG502", "overlay file not found"))
    blueprints = [attempt(path) for path in sorted(config.blueprints.glob("*.yaml"))]
    common = attempt(common_path)
    release = attempt(releases[config.release])
    sites = [attempt(site) for site in config.overlays if site.is_file()]
    raise_if_any(problems)
    bases = release_bases(config, releases, release)  # type: ignore[arg-type]
    return Inputs(tuple(blueprints), common, release, tuple(sites), bases)  # type: ignore[arg-type]


def release_bases(config: BuildConfig, releases: dict[str, Path], doc: Document,
                  loaded: dict[str, Document] | None = None) -> tuple[Document, ...]:
    """The overlays under `doc` by `release.basedOn`, farthest first. An unknown base or a loop is
    reported where the `basedOn` that names it stands. `loaded`: overlays the caller already parsed."""
    found: list[Document] = []
    seen = [config.release]
    current = doc
    while True:
        header = current.data.get("release")
        base = header.get("basedOn") if isinstance(header, dict) else None
        if not isinstance(base, str):
            return tuple(reversed(found))  # a wrong type is the schema's to report
        line, col = current.position(("release", "basedOn"))
        if base not in releases:
            known = ", ".join(ordered_releases(config.root))
            raise ChartgenError([Diagnostic(current.file, line, col, "CG310", f"release.basedOn names {base!r}, which is no release overlay (known: {known})")])
        if base in seen:
            raise ChartgenError([Diagnostic(current.file, line, col, "CG310", f"release.basedOn makes a loop: {' -> '.join(seen + [base])}")])
        seen.append(base)
        current = (loaded or {}).get(base) or load_file(releases[base], config.display(releases[base]))
        found.append(current)


# --- stage 2: validate inputs -------------------------------------------------------------------------
def validate_inputs(config: BuildConfig, inputs: Inputs, known: KnownValid) -> dict[str, Document]:
    """Schema-check every file; return the blueprints by service name."""
    problems: list[Diagnostic] = []
    by_name: dict[str, Document] = {}
    for doc in inputs.blueprints:
        problems += validate(doc.data, "blueprint", document_locator(doc), known=known)
        name = doc.data.get("service")
        if isinstance(name, str):
            if name in by_name:
                line, col = doc.position(("service",))
                problems.append(Diagnostic(doc.file, line, col, "CG408", f"service {name!r} is already defined in {by_name[name].file}"))
            else:
                by_name[name] = doc
    for doc in (inputs.common, *inputs.chain, *inputs.sites):
        problems += validate(doc.data, "overlay", document_locator(doc), known=known)
        for service in doc.data.get("services", {}) if isinstance(doc.data.get("services"), dict) else {}:
            if service not in by_name:
                line, col = doc.position(("services", service), key=True)
                problems.append(Diagnostic(doc.file, line, col, "CG305", f"no blueprint for service {service!r} (known: {', '.join(sorted(by_name))})"))
    for doc in inputs.chain:
        problems += _release_header(doc)
    raise_if_any(problems)
    return by_name


def _release_header(doc: Document) -> list[Diagnostic]:
    header = doc.data.get("release")
    if not isinstance(header, dict):
        line, col = doc.position(())
        return [Diagnostic(doc.file, line, col, "CG203", "a release overlay needs a `release:` block (name, released, description, images)")]
    stem = Path(doc.file).stem
    if header.get("name") != stem:
        line, col = doc.position(("release", "name"))
        return [Diagnostic(doc.file, line, col, "CG204", f"release.name is {header.get('name')!r} but the file is {stem}.yaml")]
    return []


# --- stage 3: merge, and validate the result ------------------------------------------------------------
def patches(blueprints: dict[str, Document], inputs: Inputs) -> list[Patch | DerivedPatch]:
    found: list[Patch | DerivedPatch] = [Patch("blueprint", doc, (), ("services", name)) for name, doc in sorted(blueprints.items())]
    layers = [("common", inputs.common)] + [("release", doc) for doc in inputs.chain] + [("site", doc) for doc in inputs.sites]
    retags = {inputs.chain[index].file: patch for index, patch in retag_patches(inputs.chain).items()}
    for layer, doc in layers:
        if layer == "release" and doc is not inputs.chain[0]:
            found.append(DerivedPatch(_Restore(blueprints, doc).patches))
        if layer == "release" and doc.file in retags:
            found.append(retags[doc.file])
        if "global" in doc.data:
            found.append(Patch(layer, doc, ("global",), ("global",)))
        if "imageFacts" in doc.data:  # release-level facts shared by many images (images.<name>.facts.from)
            found.append(Patch(layer, doc, ("imageFacts",), ("imageFacts",)))
        if "upgrade" in doc.data:  # what upgrading into the release needs (hook Jobs, resolved per service)
            found.append(Patch(layer, doc, ("upgrade",), ("upgrade",)))
        if "services" in doc.data:  # one patch of the whole map, so `name: {$delete: true}` drops a service
            found.append(Patch(layer, doc, ("services",), ("services",)))
    return found


_BLUEPRINT_MERGES: dict[tuple[int, ...], tuple[tuple[Patch, ...], Partial]] = {}


def _merged_blueprints(laid: tuple[Patch, ...]) -> Partial:
    """The blueprints merged, once per process for the same loaded documents (documents are loaded
    once per content, see load.load_text): `validate` of every release merges them once."""
    key = tuple(id(patch.doc) for patch in laid)
    if key not in _BLUEPRINT_MERGES:  # the patches are kept with it, so no id is reused meanwhile
        _BLUEPRINT_MERGES.clear()
        _BLUEPRINT_MERGES[key] = (laid, merge_partial(list(laid)))
    return _BLUEPRINT_MERGES[key][1]


@dataclass(frozen=True, slots=True)
class _Restore:
    """A release that patches a service its base deleted (placement, deleted in queens as part of
    nova, is its own service again in stein) starts from that service's blueprint again."""

    blueprints: dict[str, Document]
    doc: Document

    def patches(self, tree: dict[str, Any]) -> list[Patch]:
        present = tree.get("services", {})
        wanted = self.doc.data.get("services", {}) if isinstance(self.doc.data.get("services"), dict) else {}
        return [Patch("blueprint", self.blueprints[name], (), ("services", name))
                for name, patch in sorted(wanted.items())
                if name not in present and name in self.blueprints and not (isinstance(patch, dict) and "$delete" in patch)]


def merge_inputs(blueprints: dict[str, Document], inputs: Inputs, known: KnownValid) -> Merged:
    laid = patches(blueprints, inputs)
    start = _merged_blueprints(tuple(laid[: len(blueprints)]))  # type: ignore[arg-type]
    merged, problems = merge(laid[len(blueprints):], start)
    raise_if_any(problems)
    locate = merged.where
    # A service no overlay touched is its blueprint, validated already: check only the patched ones.
    patched = {name for doc in (inputs.common, *inputs.chain, *inputs.sites) for name in doc.data.get("services", {})}
    for name, spec in sorted(merged.tree.get("services", {}).items()):
        if name in patched:
            problems += validate(spec, "blueprint", locate, prefix=("services", name), known=known)
    problems += validate(merged.tree.get("global", {}), "global", locate, prefix=("global",), known=known)
    problems += validate(merged.tree.get("imageFacts", {}), "facts", locate, prefix=("imageFacts",), known=known)
    raise_if_any(problems)
    return merged


# --- the whole compile ------------------------------------------------------------------------------------
def compile_release(config: BuildConfig, timings: dict[str, float] | None = None) -> Compiled:
    clock = _Clock(timings)
    known = KnownValid()
    inputs = clock("load", load_inputs, config)
    try:
        blueprints = clock("validate", validate_inputs, config, inputs, known)
        merged = clock("merge", merge_inputs, blueprints, inputs, known)
    finally:
        known.save()  # what passed stays known, even when something else failed
    release = release_of(inputs.release.data["release"])
    umbrella, problems = clock("resolve", resolve, merged, release)
    raise_if_any(problems)
    raise_if_any(clock("check", checks.run_all, Context(umbrella, merged)))
    return Compiled(config, release, merged, umbrella)


@dataclass(frozen=True, slots=True)
class Checked:
    """One release of `validate`: how many services it compiled to, or the problems it has."""

    release: str
    services: int
    diagnostics: tuple[Diagnostic, ...]


def check_each(configs: list[BuildConfig], workers: int = 1) -> list[Checked]:
    """Compile every config, in order; with workers > 1 in that many forked processes (the machine's
    cores: one release's compile is single-threaded Python, and releases do not depend on each other)."""
    if workers < 2 or len(configs) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [_check_one(config) for config in configs]
    with multiprocessing.get_context("fork").Pool(min(workers, len(configs))) as pool:
        return pool.map(_check_one, configs, chunksize=1)


def _check_one(config: BuildConfig) -> Checked:
    try:
        return Checked(config.release, len(compile_release(config).umbrella.services), ())
    except ChartgenError as error:
        return Checked(config.release, 0, tuple(error.diagnostics))


def build(config: BuildConfig, *, write: bool = True, render_cache: RenderCache | None = None) -> BuildResult:
    timings: dict[str, float] = {}
    compiled = compile_release(config, timings)
    clock = _Clock(timings)
    files = clock("render", render.render_umbrella, compiled.umbrella, render_cache)
    report = clock("write", write_tree, files, config.out / render.UMBRELLA) if write else None
    return BuildResult(compiled, files, report, timings)


class _Clock:
    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings if timings is not None else {}

    def __call__(self, stage: str, function: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args)
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start
