"""The command line: a thin click layer over the pipeline. Bad input exits 2, a failed
verification exits 1; library code never prints, this module does."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from chartgen import __version__
from chartgen.config import BuildConfig, find_root, ordered_releases, release_files
from chartgen.diagnostics import ChartgenError, Diagnostic, to_json

if TYPE_CHECKING:
    from chartgen.verify import ConfigChecks

EXIT_OK, EXIT_VERIFY_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_RELEASE = "queens"


def _console(stderr: bool = False):  # rich is imported only when something is printed with it
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _progress(text: str) -> Iterator[None]:
    """A spinner saying what a long step is doing, on stderr when it is a terminal; nothing in
    pipes, files and CI logs."""
    if not sys.stderr.isatty():
        yield
        return
    with _console(stderr=True).status(text):
        yield


def _report(error: ChartgenError, output_format: str = "text") -> None:
    if output_format == "json":
        click.echo(to_json(error.diagnostics))
    else:
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.parsable(), err=True)
        count = len(error.diagnostics)
        click.echo(f"chartgen: {count} problem{'s' if count != 1 else ''} found; nothing was written", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ChartgenError into its diagnostics and exit code 2 (anything else is a bug: traceback)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ChartgenError as error:
            _report(error, kwargs.get("output_format", "text"))

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _display(path: Path) -> str:
    return BuildConfig(find_root(), "").display(path)


def _config(release: str, overlays: tuple[str, ...] = (), out: str | None = None) -> BuildConfig:
    root = find_root()
    return BuildConfig(root=root, release=release, overlays=tuple(Path(o).resolve() for o in overlays),
                       out=Path(out).resolve() if out else root / "generated-charts")


release_option = click.option("--release", "-r", default=DEFAULT_RELEASE, show_default=True, metavar="RELEASE",
                              help="OpenStack release: a file values/RELEASE.yaml (see `chartgen releases`).")
overlay_option = click.option("--overlay", "-f", "overlays", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
                              help="Site overlay laid over the release overlay; repeat for more, later ones win.")
format_option = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chartgen")
def main() -> None:
    """Compile OpenStack service blueprints and release overlays into the umbrella Helm chart
    generated-charts/oaas (one subchart per service).

    \b
    Example:
      chartgen build --release queens
      helm install oaas ./generated-charts/oaas
    """


@main.command()
@release_option
@overlay_option
@click.option("--out", "-o", type=click.Path(file_okay=False), help="Output folder (default: generated-charts/ of the project).")
@click.option("--dry-run", is_flag=True, help="Compile and report what would change; write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Print only problems.")
@click.option("--no-cache", is_flag=True, help="Compile everything from scratch and keep nothing in ~/.cache/chartgen.")
@click.option("--watch", "-w", "watch_inputs", is_flag=True,
              help="Build, then rebuild on every change of blueprints/, values/ or an overlay (only the subcharts it affects); Ctrl-C stops.")
@_guarded
def build(release: str, overlays: tuple[str, ...], out: str | None, dry_run: bool, quiet: bool, no_cache: bool, watch_inputs: bool) -> None:
    """Build generated-charts/oaas for one release.

    \b
    Example:
      chartgen build --release queens
      chartgen build --release queens --overlay site.yaml --out /tmp/charts
    """
    import os

    from chartgen import cache

    if no_cache:
        os.environ["CHARTGEN_NO_CACHE"] = "1"
    start = time.perf_counter()
    config = _config(release, overlays, out)
    if watch_inputs:
        if dry_run:
            raise click.UsageError("--watch writes the chart on every change; it cannot be combined with --dry-run")
        _watch(config, quiet)
        return
    target = config.out / "oaas"
    key = cache.fingerprint(config.root, release, config.overlays)
    intact = None if dry_run else cache.unchanged(target, key)
    if intact is not None:  # nothing changed since the last build: skip the compiler entirely
        if not quiet:
            _print_charts({name: "" for name in intact}, None, dry_run=False)
            click.echo(f"built {config.display(target)} for {release} in {time.perf_counter() - start:.2f}s "
                       f"({len(intact)} files: 0 new, 0 changed, 0 removed; inputs unchanged)")
        return
    from chartgen.build import build as run_build
    from chartgen.write import compare

    render_cache = cache.RenderCache(release)
    result = run_build(config, write=not dry_run, render_cache=render_cache)
    report = result.report or compare(result.files, target)
    render_cache.save()
    if not dry_run:
        cache.remember(target, key, result.files)
    if not quiet:
        _print_charts(result.files, report, dry_run)
        verb = "checked" if dry_run else "built"
        click.echo(f"{verb} {config.display(target)} for {release} in {time.perf_counter() - start:.2f}s "
                   f"({len(result.files)} files: {len(report.created)} new, {len(report.updated)} changed, "
                   f"{len(report.deleted)} removed)")


def _watch(config: BuildConfig, quiet: bool) -> None:
    from chartgen.watch import watch, watched_paths

    click.echo(f"watching {', '.join(config.display(p) for p in watched_paths(config))} for {config.release} (Ctrl-C stops)")
    # Ctrl-C is how a watch ends, with 0: watchfiles ends the iteration when it comes while waiting;
    # during a rebuild it is a KeyboardInterrupt (the write is all or nothing), not click's "Aborted!".
    with contextlib.suppress(KeyboardInterrupt):
        _report_rebuilds(config, quiet, watch(config))
    click.echo("stopped watching", err=True)


def _report_rebuilds(config: BuildConfig, quiet: bool, rebuilds: Iterator[Any]) -> None:
    for rebuild in rebuilds:
        trigger = f"{', '.join(rebuild.changed_inputs)} changed: " if rebuild.changed_inputs else ""
        if rebuild.problems:
            for diagnostic in rebuild.problems:
                click.echo(diagnostic.parsable(), err=True)
            click.echo(f"{trigger}{len(rebuild.problems)} problem(s); {config.display(config.out / 'oaas')} left as it was", err=True)
            continue
        charts = ", ".join(rebuild.charts_changed) or "nothing"
        if not quiet or rebuild.charts_changed:
            click.echo(f"{trigger}rebuilt in {rebuild.seconds:.2f}s, rendered {rebuild.rendered} of {rebuild.subcharts} subcharts, "
                       f"changed: {charts}", nl=True)


def _print_charts(files: dict[str, str], report: Any, dry_run: bool) -> None:
    for chart, count, state in _chart_lines(files, report):
        click.echo(f"{'would ' if dry_run else ''}{state:9} {chart:28} {count:3} files")


def _chart_lines(files: dict[str, str], report: Any) -> list[tuple[str, int, str]]:
    charts: dict[str, list[str]] = {}
    for name in files:
        parts = name.split("/")
        chart = f"charts/{parts[1]}" if parts[0] == "charts" and len(parts) > 2 else "oaas"
        charts.setdefault(chart, []).append(name)
    created = set(report.created) if report else set()
    touched = created | (set(report.updated) | set(report.deleted) if report else set())
    lines = []
    for chart in sorted(charts, key=lambda c: (c != "oaas", c)):
        names = set(charts[chart])
        state = "created" if names <= created else ("updated" if names & touched else "unchanged")
        lines.append((chart, len(names), state))
    return lines


@main.command()
@click.option("--release", "-r", "releases", multiple=True, metavar="RELEASE", help="Release to check (default: every release).")
@overlay_option
@format_option
@click.option("--quiet", "-q", is_flag=True, help="Print only problems; the exit code tells the rest.")
@_guarded
def validate(releases: tuple[str, ...], overlays: tuple[str, ...], output_format: str, quiet: bool) -> None:
    """Check blueprints and overlays (and compile them) without writing anything.

    \b
    Example:
      chartgen validate                  # every release
      chartgen validate --release pike --overlay site.yaml
    """
    from chartgen.build import check_each

    root = find_root()
    names = releases or tuple(ordered_releases(root))
    with _progress(f"compiling {', '.join(names) if len(names) < 4 else f'{len(names)} releases'}"):
        results = check_each([_config(name, overlays) for name in names], workers=os.cpu_count() or 1)
    problems: list[Diagnostic] = [diagnostic for result in results for diagnostic in result.diagnostics]
    summary = [{"release": r.release, "ok": True, "services": r.services} if not r.diagnostics else
               {"release": r.release, "ok": False, "problems": len(r.diagnostics)} for r in results]
    if output_format == "json":
        click.echo(json.dumps({"releases": summary, "diagnostics": json.loads(to_json(sorted(set(problems))))}, indent=2))
        sys.exit(EXIT_BAD_INPUT if problems else EXIT_OK)
    if problems:
        raise ChartgenError(problems)
    if not quiet:
        for item in summary:
            _console().print(f"[green]ok[/]  {item['release']:10} {item['services']} services")


@main.command()
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def releases(output_format: str) -> None:
    """List the OpenStack releases chartgen can build (values/*.yaml), oldest first: date, SLURP,
    Kolla's image scheme (and whether its images exist), the overlay it builds on, what changed.

    \b
    Example:
      chartgen releases
      chartgen releases --format markdown    # the README's release table
    """
    from chartgen.lineage import release_markdown, release_rows
    from chartgen.load import load_file

    docs = {}
    for name, path in release_files(find_root()).items():
        try:
            docs[name] = load_file(path, _display(path))
        except ChartgenError as error:
            _report(error)
    rows = release_rows(docs)
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
    elif output_format == "markdown":
        click.echo(release_markdown(rows), nl=False)
    else:
        for row in rows:
            missing = "" if row["imagesPublished"] else "  [no Kolla image shown to exist: release.images.published is false]"
            click.echo(f"{row['release']:10} {row['released']:11} {'SLURP' if row['slurp'] else '':5} {row['description']}{missing}")


@main.command()
@release_option
@overlay_option
@format_option
@_guarded
def services(release: str, overlays: tuple[str, ...], output_format: str) -> None:
    """List the services of a release: components, images, dependencies.

    \b
    Example:
      chartgen services --release ocata
    """
    from chartgen.build import compile_release

    umbrella = compile_release(_config(release, overlays)).umbrella
    rows = [{
        "service": s.name, "enabled": s.enabled,
        "components": [f"{w.key} ({w.kind})" for w in s.components] + [f"{j.key} (Job)" for j in s.jobs]
                      + [f"{t.key} (helm test)" for t in s.tests],
        "images": [i.reference for i in s.images], "dependsOn": list(s.depends_on),
        "imageFacts": {i.reference: _facts_dict(i.facts) for i in s.images},
    } for s in (umbrella.service(name) for name in umbrella.order)]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"Services of {release} (dependency order)")
    for column in ("service", "enabled", "components", "images", "image facts", "depends on"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["service"], "yes" if row["enabled"] else "no", "\n".join(row["components"]),
                      "\n".join(row["images"]), "\n".join(_facts_line(facts) for facts in row["imageFacts"].values()),
                      ", ".join(row["dependsOn"]) or "–")
    _console().print(table)


def _facts_dict(facts: Any) -> dict[str, Any] | None:
    """An image's facts as plain data (None: no facts recorded for this repository and tag)."""
    if facts is None:
        return None
    return {"versions": dict(facts.versions), "users": {u.name: {"uid": u.uid, "gid": u.gid} for u in facts.users},
            "anyUser": facts.any_user, "binaries": list(facts.binaries), "sources": list(facts.sources)}


def _facts_line(facts: dict[str, Any] | None) -> str:
    if facts is None:
        return "none recorded"
    versions = " ".join(f"{name} {version}" for name, version in facts["versions"].items())
    users = "any uid" if facts["anyUser"] else f"{len(facts['users'])} users"
    return f"{versions}; {users}; {len(facts['binaries'])} binaries"


@main.command()
@click.argument("dotted_path", metavar="DOTTED.PATH")
@release_option
@overlay_option
@format_option
@_guarded
def explain(dotted_path: str, release: str, overlays: tuple[str, ...], output_format: str) -> None:
    """Show the final value of a blueprint path, the file:line and layer that set it, and every
    value it overrode, in order. Paths start with a service name (or `global`).

    \b
    Example:
      chartgen explain keystone.components.api.ports.admin.port --release ocata
      chartgen explain galera.images.mariadb.tag --release queens --format json
    """
    from chartgen.build import compile_release
    from chartgen.explain import as_dict, explain as run_explain

    result = run_explain(compile_release(_config(release, overlays)).merged, dotted_path)
    if output_format == "json":
        click.echo(json.dumps(as_dict(result), indent=2, default=str))
        return
    final = json.dumps(result.value, default=str) if result.exists else "(deleted)"
    click.echo(f"{dotted_path} = {final}")
    for index, setting in enumerate(reversed(result.history)):
        label = "set by" if index == 0 and result.exists else ("deleted by" if setting.action == "delete" else "overrode")
        value = "" if setting.action == "delete" else f" {json.dumps(setting.value, default=str)}"
        click.echo(f"  {label:10} {setting.origin.where():40} [{setting.origin.layer}]{value}")


@main.command()
@release_option
@click.option("--all-releases", is_flag=True, help="Lint the chart of every release (each built into a temporary folder).")
@overlay_option
@click.option("--chart", type=click.Path(file_okay=False, exists=True), help="Lint this built chart folder instead of building.")
@_guarded
def lint(release: str, all_releases: bool, overlays: tuple[str, ...], chart: str | None) -> None:
    """Build and verify with the real tools: helm lint --strict (Helm 3 and 4), helm template with
    every ci values file, kubeconform -strict per Kubernetes version, ct lint, the security gate
    (kube-linter, kube-score and Polaris; a finding not in security/scanner-allow-list.yaml fails),
    and every rendered config file through the real program its blueprint's `check` names
    (haproxy -c, apache2 -t, mariadbd, RabbitMQ's config loading, py_compile, sh -n,
    oslo-config-validator). Exit 1 on failure.

    \b
    Example:
      chartgen lint --release queens
      chartgen lint --all-releases
    """
    import tempfile

    from chartgen.build import build as run_build
    from chartgen.configcheck import CheckerMissing, file_checks
    from chartgen.verify import ConfigChecks, ToolMissing, lint_chart

    root = find_root()
    targets: list[tuple[str, Path, ConfigChecks | None]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="chartgen-lint-") as scratch:
        if chart:
            targets.append((chart, Path(chart).resolve(), _chart_config_checks(Path(chart), root, overlays)))
        else:
            for name in (tuple(ordered_releases(root)) if all_releases else (release,)):
                out = Path(scratch) / name
                built = run_build(_config(name, overlays, str(out)))
                targets.append((name, out / "oaas", ConfigChecks(name, file_checks(built.compiled.umbrella))))
        for label, path, config in targets:
            try:
                with _progress(f"{label}: helm lint (3 and 4), helm template, kubeconform, ct lint, config programs"):
                    checks = lint_chart(path, root, config=config)
            except (ToolMissing, CheckerMissing) as missing:
                click.echo(f"chartgen lint: {missing}", err=True)
                sys.exit(EXIT_BAD_INPUT)
            if config is None:
                click.echo(f"skip {label:8} config: {path / 'Chart.yaml'} names no release of this project (appVersion)")
            for check in checks:
                click.echo(f"{'ok  ' if check.ok else 'FAIL'} {label:8} {check.name} ({check.seconds:.2f}s)")
                if check.notes:
                    click.echo("\n".join("     " + line for line in check.notes.splitlines()))
                if not check.ok:
                    failed = True
                    lines = check.output.splitlines()
                    click.echo("\n".join("     " + line for line in (lines[:40] if check.name.startswith("config:") else lines[-40:])), err=True)
            click.echo(f"{label}: {sum(c.ok for c in checks)} of {len(checks)} checks passed")
    sys.exit(EXIT_VERIFY_FAILED if failed else EXIT_OK)


def _chart_config_checks(chart: Path, root: Path, overlays: tuple[str, ...]) -> ConfigChecks | None:
    """For `lint --chart`: the release the chart was built for (its appVersion), compiled from this
    project's blueprints with the given overlays, says how each config file is checked."""
    from chartgen.build import compile_release
    from chartgen.configcheck import file_checks
    from chartgen.load import load_file
    from chartgen.verify import ConfigChecks

    release = str(load_file(chart / "Chart.yaml").data.get("appVersion", ""))
    if release not in ordered_releases(root):
        return None
    return ConfigChecks(release, file_checks(compile_release(_config(release, overlays)).umbrella))


@main.command()
@release_option
@overlay_option
@click.option("--format", "output_format", type=click.Choice(["dot", "mermaid", "json", "svg"]), default="dot", show_default=True)
@_guarded
def graph(release: str, overlays: tuple[str, ...], output_format: str) -> None:
    """Print the service dependency graph the compiler uses (an arrow points at what a service
    needs). svg needs Graphviz's `dot` on PATH.

    \b
    Example:
      chartgen graph --release queens --format mermaid
      chartgen graph --release queens --format svg > graph.svg
    """
    import shutil
    import subprocess

    from chartgen.build import compile_release

    umbrella = compile_release(_config(release, overlays)).umbrella
    services = [umbrella.service(name) for name in umbrella.order]
    if output_format == "json":
        click.echo(json.dumps({"release": release, "order": list(umbrella.order),
                               "services": {s.name: {"enabled": s.enabled, "dependsOn": list(s.depends_on)} for s in services}}, indent=2))
        return
    if output_format == "mermaid":
        lines = ["graph TD"] + [f"  {s.name}[{s.name}]" if s.enabled else f"  {s.name}[{s.name} - disabled]" for s in services]
        lines += [f"  {s.name} --> {dependency}" for s in services for dependency in s.depends_on]
        click.echo("\n".join(lines))
        return
    lines = [f'digraph "oaas-{release}" {{', "  rankdir=BT;", "  node [shape=box, fontname=Helvetica];"]
    lines += [f'  "{s.name}"{"" if s.enabled else " [style=dashed]"};' for s in services]
    lines += [f'  "{s.name}" -> "{dependency}";' for s in services for dependency in s.depends_on]
    dot_text = "\n".join(lines + ["}"]) + "\n"
    if output_format == "dot":
        click.echo(dot_text, nl=False)
        return
    dot = shutil.which("dot")
    if dot is None:
        click.echo("chartgen graph: --format svg needs Graphviz (`dot` is not on PATH; on Debian: apt-get install graphviz); "
                   "use --format dot or mermaid instead", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=True).stdout, nl=False)


# --- init-site: a commented starting site overlay ------------------------------------------------------
@main.command("init-site")
@release_option
@click.option("--out", "-o", "out", default="site.yaml", show_default=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Where to write the overlay.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@_guarded
def init_site(release: str, out: str, force: bool) -> None:
    """Write a commented starting site overlay for a release, from the compiled catalog: each
    service's enabled flag, image tags, replicas, node roles, resources, volumes and NodePorts,
    each with the file:line its value comes from. As written it changes nothing; uncomment what
    your site changes and build with --overlay.

    \b
    Example:
      chartgen init-site --release queens --out site.yaml
      chartgen build --release queens --overlay site.yaml
    """
    from chartgen.build import compile_release
    from chartgen.sitefile import site_overlay

    target = Path(out)
    if target.exists() and not force:
        raise ChartgenError([Diagnostic(str(out), 1, 1, "CG504", "file exists; not overwritten (use --force, or --out another file)")])
    compiled = compile_release(_config(release))
    command = f"chartgen init-site --release {release}"
    target.write_text(site_overlay(compiled.merged, compiled.umbrella, command), encoding="utf-8")
    click.echo(f"wrote {out}: a no-op site overlay for {release}; uncomment what your site changes, then "
               f"chartgen build --release {release} --overlay {out}")


# --- operator tools: diff and check-upgrade -------------------------------------------------------------
SIDES_HELP = "A release (ocata), a built chart folder (generated-charts or its oaas folder), or REV:RELEASE (git revision of the inputs)."
from_option = click.option("--from", "from_side", required=True, metavar="SIDE", help=SIDES_HELP)
to_option = click.option("--to", "to_side", required=True, metavar="SIDE", help=SIDES_HELP)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="Print nothing; only the exit code tells.")


def pair_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options every two-sided command takes: --from, --to, --overlay, --format, --quiet."""
    for option in (quiet_option, format_option, overlay_option, to_option, from_option):
        function = option(function)
    return function


def _with_pair(from_side: str, to_side: str, overlays: tuple[str, ...], use: Callable[[Any], Any]) -> Any:
    """Build and render both sides in a scratch folder, and hand the pair to `use`."""
    import tempfile

    from chartgen.sides import open_pair
    from chartgen.verify import ToolMissing

    with tempfile.TemporaryDirectory(prefix="chartgen-sides-") as scratch:
        try:
            with _progress(f"building and rendering {from_side} and {to_side} with helm template"):
                pair = open_pair(from_side, to_side, tuple(Path(o).resolve() for o in overlays), Path(scratch), find_root())
        except ToolMissing as missing:
            click.echo(f"chartgen: {missing}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        return use(pair)


def _show(report: Any, as_dict: Callable[[Any], dict], text_lines: Callable[[Any], list[tuple[str, str]]],
          output_format: str, quiet: bool) -> None:
    """A report of diff or check-upgrade as JSON or as (coloured) text; nothing when quiet."""
    if quiet:
        return
    if output_format == "json":
        click.echo(json.dumps(as_dict(report), indent=2, sort_keys=True, default=str))
    else:
        _print_lines(text_lines(report))


def _print_lines(lines: list[tuple[str, str]]) -> None:
    """Coloured by rich on a terminal, plain text otherwise (pipes, files, CI logs)."""
    if not sys.stdout.isatty():
        click.echo("\n".join(text for _, text in lines))
        return
    from rich.text import Text

    console = _console()
    for style, text in lines:
        console.print(Text(text, style=style or ""))


@main.command()
@pair_options
@_guarded
def diff(from_side: str, to_side: str, overlays: tuple[str, ...], output_format: str, quiet: bool) -> None:
    """Show what changes between two sides, per subchart: the values paths (with the file:line and
    layer that set each side) and the objects `helm template` renders (a unified diff per object).
    Secret data and password/secret/key/token values are masked. Exit 0 equal, 1 different.

    \b
    Example:
      chartgen diff --from ocata --to pike
      chartgen diff --from HEAD~1:queens --to queens --format json
      chartgen diff --from /tmp/old/oaas --to generated-charts
    """
    from chartgen.diff import as_dict, diff as run_diff, text_lines

    report = _with_pair(from_side, to_side, overlays, run_diff)
    _show(report, as_dict, text_lines, output_format, quiet)
    sys.exit(EXIT_OK if report.equal else EXIT_VERIFY_FAILED)


@main.command("upgrade-path")
@click.option("--from", "from_release", metavar="RELEASE", help="The release installed now (default: the oldest).")
@click.option("--to", "to_release", metavar="RELEASE", help="The release to reach (default: the newest).")
@click.option("--slurp/--every-release", default=True, show_default=True,
              help="Take SLURP skips (2023.1 -> 2024.1 -> ...) where they exist, or step through every release.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "mermaid"]), default="text", show_default=True,
              help="mermaid: the graph of every release's supported upgrades (--from and --to are ignored).")
@_guarded
def upgrade_path(from_release: str | None, to_release: str | None, slurp: bool, output_format: str) -> None:
    """Print the supported chain of upgrades from one release to another: OpenStack upgrades N to
    N+1, and from SLURP release to SLURP release. For each hop: the upgrade Jobs `helm upgrade` runs
    (the target overlay's `upgrade:` list) and the components it removes and adds. A downgrade, or two
    releases no chain joins, is refused (exit 2) with the chain to take instead.

    \b
    Example:
      chartgen upgrade-path --from ocata --to queens
      chartgen upgrade-path --from 2023.1 --to 2026.1 --format json
      chartgen upgrade-path --format mermaid
    """
    from chartgen import upgradepath

    root = find_root()
    if output_format == "mermaid":
        click.echo(upgradepath.mermaid(root), nl=False)
        return
    with _progress("compiling the releases of the chain"):
        before, after, hops = upgradepath.plan(root, from_release, to_release, slurp)
    if output_format == "json":
        click.echo(json.dumps(upgradepath.as_dict(before, after, hops), indent=2))
    else:
        _print_lines(upgradepath.text_lines(before, after, hops))


@main.command("check-upgrade")
@pair_options
@_guarded
def check_upgrade(from_side: str, to_side: str, overlays: tuple[str, ...], output_format: str, quiet: bool) -> None:
    """Flag every change from one side to the other that Kubernetes rejects on `helm upgrade`
    (immutable fields) or that recreates objects or leaves data behind, each traced to the
    blueprint or overlay line responsible (rules: docs/upgrade-rules.md). Exit 1 on any finding.

    \b
    Example:
      chartgen check-upgrade --from queens --to 2025.1
      chartgen check-upgrade --from pike --to queens --overlay site.yaml --format json
    """
    from chartgen.upgrade import as_dict, check_upgrade as run_check, text_lines

    report = _with_pair(from_side, to_side, overlays, run_check)
    _show(report, as_dict, text_lines, output_format, quiet)
    sys.exit(EXIT_VERIFY_FAILED if report.failed else EXIT_OK)
