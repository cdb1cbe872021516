"""`chartgen build --watch`: rebuild whenever an input changes, re-rendering only the subcharts
whose model changed (one RenderCache lives as long as the watch). Library code: it yields one
Rebuild per build and never prints; the command line shows them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from chartgen.build import build
from chartgen.cache import RenderCache, fingerprint, remember
from chartgen.config import BuildConfig
from chartgen.diagnostics import ChartgenError, Diagnostic
from chartgen.render import UMBRELLA
from chartgen.write import WriteReport


@dataclass(frozen=True, slots=True)
class Rebuild:
    """One build of the watch: what triggered it, and either its outcome or its problems."""

    changed_inputs: tuple[str, ...]
    seconds: float
    report: WriteReport | None = None
    rendered: int = 0  # subcharts rendered again (the others came from the cache)
    subcharts: int = 0
    problems: tuple[Diagnostic, ...] = ()

    @property
    def charts_changed(self) -> tuple[str, ...]:
        """Which charts the write changed: `oaas` (the umbrella's own files) or `charts/<name>`."""
        if self.report is None:
            return ()
        names = {_chart_of(name) for name in self.report.created + self.report.updated + self.report.deleted}
        return tuple(sorted(names, key=lambda chart: (chart != "oaas", chart)))


def _chart_of(relative: str) -> str:
    parts = relative.split("/")
    return f"charts/{parts[1]}" if parts[0] == "charts" and len(parts) > 2 else "oaas"


def watched_paths(config: BuildConfig) -> list[Path]:
    return [config.blueprints, config.values, *config.overlays]


def watch(config: BuildConfig, stop: threading.Event | None = None) -> Iterator[Rebuild]:
    """Build now, then again after every change of a blueprint, a release overlay or a site
    overlay, until `stop` is set. A build that fails yields its problems and the watch goes on;
    the previous output stays as it was (the write is all or nothing)."""
    from watchfiles import watch as file_changes

    cache = RenderCache(config.release)
    changes_seen = file_changes(*watched_paths(config), stop_event=stop, debounce=200, step=50, raise_interrupt=False,
                                rust_timeout=100, yield_on_timeout=True)
    next(changes_seen, None)  # the watcher is set up before the first build: no edit falls between
    yield _rebuild(config, cache, ())
    for changes in changes_seen:
        changed = tuple(sorted({config.display(Path(path)) for _, path in changes if path.endswith((".yaml", ".yml"))}))
        if changed:
            yield _rebuild(config, cache, changed)


def _rebuild(config: BuildConfig, cache: RenderCache, changed: tuple[str, ...]) -> Rebuild:
    start = time.perf_counter()
    try:
        result = build(config, render_cache=cache)
    except ChartgenError as error:
        cache.used = {}  # keep what the last good build rendered
        return Rebuild(changed, time.perf_counter() - start, problems=tuple(error.diagnostics))
    rendered, subcharts = cache.misses, len(cache.used)
    cache.save()
    cache.roll()
    # a plain `chartgen build` after the watch is the no-op fast path
    remember(config.out / UMBRELLA, fingerprint(config.root, config.release, config.overlays), result.files)
    return Rebuild(changed, time.perf_counter() - start, result.report, rendered, subcharts)
