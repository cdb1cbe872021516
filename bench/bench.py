"""`make bench`: how fast chartgen builds and how big its output is, against baselines measured in
the same run. Not part of the tests (timings are not assertions); results go to bench/results.json.

Every timed figure is the median of --runs runs after one warm-up run, each a whole process, with
its peak memory taken from wait4(). Baselines: the import floor (`python -c "import chartgen"`)
for chartgen's own times, and, with --compare REV, the same measurements of another revision, run
in this same process, reported as ratios.

    python bench/bench.py                      # the table, and bench/results.json
    python bench/bench.py --compare HEAD~3     # also ratios against revision HEAD~3
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HELM = REPO / ".tools" / "bin" / "helm4"

# The budget of the performance issue (2 cores). Keys are result names; values are seconds or bytes.
# Each build figure is measured twice: `.cold` with every cache off (CHARTGEN_NO_CACHE=1), and
# warm, into a fresh output folder with ~/.cache/chartgen as the last build left it.
BUDGET = {
    "build.queens.above_floor": 0.3,
    "build.queens": 0.5,
    "build.queens.cold.above_floor": 0.3,
    "build.queens.cold": 0.5,
    "rebuild.noop.above_floor": 0.2,
    "synthetic.1500": 10.0,
    "synthetic.1500.cold": 10.0,
    "helm_template.seconds": 0.3,
    "payload.bytes": 256 * 1024,
    "validate.all_releases": 3.0,  # every release in values/ (21), whole process, 2 cores
    "validate.all_releases.cold": 3.0,
}
# The releases chartgen had before every release from Newton on was added: `validate` of these is
# measured in the same run, beside `validate` of all of them.
FIRST_FIVE = ("newton", "ocata", "pike", "queens", "2025.1")


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_kib: int


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run one whole process; its wall time and peak resident memory."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed:\n{stderr}")
    return Sample(seconds, usage.ru_maxrss)


def median(command, cwd: Path, runs: int, before=None, env=None) -> Sample:
    """Median of `runs` runs after a warm-up; `before(i)` prepares each run (not timed); `command`
    is a list, or a function of the run's index giving one."""
    samples = []
    for index in range(runs + 1):
        if before:
            before(index)
        sample = run(command(index) if callable(command) else command, cwd, env)
        if index:  # the first run warms the page cache and Python's bytecode cache
            samples.append(sample)
    return Sample(statistics.median(s.seconds for s in samples), max(s.peak_kib for s in samples))


class Workspace:
    """A scratch copy of a project's inputs, built with a given chartgen source tree."""

    def __init__(self, source: Path, scratch: Path):
        self.source, self.root = source, scratch
        for folder in ("blueprints", "values"):
            shutil.copytree(source / folder, scratch / folder)
        self.env = dict(os.environ, PYTHONPATH=str(source), PYTHONDONTWRITEBYTECODE="")

    def chartgen(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "chartgen", *args]

    def releases(self) -> list[str]:
        out = subprocess.run(self.chartgen("releases", "--format", "json"), cwd=self.root, env=self.env,
                             capture_output=True, text=True, check=True).stdout
        return [row["release"] for row in json.loads(out)]


def synthetic_project(root: Path, count: int) -> None:
    """`count` services, each a realistic Deployment + Service + config file + secret, each
    referring to the one before it (a dependency chain, the worst case for the graph)."""
    (root / "blueprints").mkdir(parents=True)
    (root / "values").mkdir()
    shutil.copy(REPO / "values" / "common.yaml", root / "values" / "common.yaml")
    (root / "values" / "synthetic.yaml").write_text(
        'release: {name: synthetic, released: "2000-01-01", description: synthetic catalog for the benchmark}\n')
    for index in range(count):
        name = f"svc{index:04d}"
        depends = f"dependsOn: [svc{index - 1:04d}]\n" if index else ""
        peer = f"svc{index - 1:04d}" if index else name
        (root / "blueprints" / f"{name}.yaml").write_text(f"""service: {name}
description: synthetic service {index}
{depends}images:
  main: {{repository: docker.io/library/busybox, tag: "1.37.0", source: benchmark}}
secrets:
  dbPassword: {{description: a generated password}}
configFiles:
  main:
    fileName: main.conf
    format: ini
    options:
      DEFAULT: {{debug: false, workers: 4}}
      database: {{connection: "mysql://u:$(DB_PASSWORD)@${{host:{peer}.api}}:${{port:{peer}.api.http}}/db"}}
components:
  api:
    kind: Deployment
    replicas: 2
    image: main
    command: [httpd, -f, -p, "8080"]
    secretEnv: {{DB_PASSWORD: dbPassword}}
    configFiles: {{main: /etc/main.conf}}
    ports: {{http: {{port: 8080}}}}
    probes: {{readiness: {{httpGet: {{path: /, port: http}}}}, liveness: {{tcpSocket: http}}}}
    resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
    nodeRole: controller
""")


def payload_bytes(chart: Path, manifest: str) -> int:
    """The size of Helm's stored release record, encoded as Helm 3 and 4 store it: JSON of the
    release, gzipped, base64. The stored chart is the umbrella's own metadata, templates, values,
    schema and files (Helm does not serialise subcharts: Chart.dependencies is unexported); the
    rendered manifest holds every subchart's objects."""

    def ignored(relative: str) -> bool:
        rules = (chart / ".helmignore").read_text().split() if (chart / ".helmignore").is_file() else []
        parts = relative.split("/")
        return any((rule.endswith("/") and rule[:-1] in parts[:-1]) or fnmatch.fnmatch(parts[-1], rule) for rule in rules)

    def encoded(path: Path) -> dict:
        return {"name": str(path.relative_to(chart)), "data": base64.b64encode(path.read_bytes()).decode()}

    own = sorted(p for p in chart.rglob("*") if p.is_file() and p.relative_to(chart).parts[0] != "charts" and not ignored(str(p.relative_to(chart))))
    templates = [encoded(p) for p in own if p.relative_to(chart).parts[0] == "templates"]
    files = [encoded(p) for p in own if p.relative_to(chart).parts[0] != "templates" and p.name not in ("Chart.yaml", "values.yaml", "values.schema.json")]
    from ruamel.yaml import YAML

    values = YAML(typ="safe").load((chart / "values.yaml").read_text())
    record = {"name": "oaas", "namespace": "default", "version": 1, "config": {}, "manifest": manifest,
              "info": {"status": "deployed", "description": "Install complete"},
              "chart": {"metadata": YAML(typ="safe").load((chart / "Chart.yaml").read_text()), "templates": templates, "files": files,
                        "values": values, "schema": base64.b64encode((chart / "values.schema.json").read_bytes()).decode()}}
    return len(base64.b64encode(gzip.compress(json.dumps(record).encode(), 9)))


def template_lines(chart: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in chart.rglob("*") if p.is_file() and "templates" in p.parts)


def fit(points: list[tuple[int, float]]) -> dict[str, float]:
    """Least squares t = a + b*n, and the log-log exponent between the smallest and largest n."""
    n = [float(x) for x, _ in points]
    t = [y for _, y in points]
    mean_n, mean_t = statistics.fmean(n), statistics.fmean(t)
    slope = sum((a - mean_n) * (b - mean_t) for a, b in zip(n, t)) / sum((a - mean_n) ** 2 for a in n)
    import math

    exponent = math.log(t[-1] / t[0]) / math.log(n[-1] / n[0])
    return {"intercept_s": mean_t - slope * mean_n, "seconds_per_service": slope, "loglog_exponent": exponent}


def measure(source: Path, runs: int, sizes: list[int], scratch: Path) -> dict[str, float]:
    results: dict[str, float] = {}
    ws = Workspace(source, scratch / "project")
    floor = median([sys.executable, "-c", "import chartgen"], ws.root, runs, env=ws.env)
    results["floor"] = floor.seconds
    cold_env = dict(ws.env, CHARTGEN_NO_CACHE="1")
    for release in ws.releases():
        # A fresh output folder per run: deleting the last run's tree just before a timed run
        # would time the file system's cleanup of it, not chartgen.
        def fresh(index: int, release: str = release, kind: str = "") -> list[str]:
            return ws.chartgen("build", "--release", release, "--out", str(ws.root / "out" / f"{release}{kind}-{index}"), "--quiet")

        cold = median(lambda i, r=release: fresh(i, r, "-cold"), ws.root, runs, env=cold_env)
        results[f"build.{release}.cold"] = cold.seconds
        results[f"build.{release}.cold.above_floor"] = cold.seconds - floor.seconds
        warm = median(fresh, ws.root, runs, env=ws.env)
        results[f"build.{release}"] = warm.seconds
        results[f"build.{release}.above_floor"] = warm.seconds - floor.seconds
        results[f"build.{release}.peak_kib"] = max(warm.peak_kib, cold.peak_kib)
    results.update(measure_validate(ws, runs))
    out = ws.root / "out" / "queens"
    subprocess.run(ws.chartgen("build", "--release", "queens", "--out", str(out), "--quiet"), cwd=ws.root, env=ws.env, check=True)
    noop = median(ws.chartgen("build", "--release", "queens", "--out", str(out), "--quiet"), ws.root, runs, env=ws.env)
    results["rebuild.noop"] = noop.seconds
    results["rebuild.noop.above_floor"] = noop.seconds - floor.seconds
    keystone = ws.root / "blueprints" / "keystone.yaml"
    original = keystone.read_text()

    def touch_blueprint(index: int) -> None:
        keystone.write_text(original.replace("    replicas: 2\n", f"    replicas: {2 + index % 2}\n", 1))

    one = median(ws.chartgen("build", "--release", "queens", "--out", str(out), "--quiet"), ws.root, runs, before=touch_blueprint, env=ws.env)
    keystone.write_text(original)
    results["rebuild.one_blueprint"] = one.seconds
    results["rebuild.one_blueprint.above_floor"] = one.seconds - floor.seconds
    points = []
    for size in sizes:
        project = scratch / f"synthetic-{size}"
        synthetic_project(project, size)
        count = max(1, runs // 2) if size >= 1000 else runs

        def build_into(kind: str, project: Path = project):
            return lambda i: ws.chartgen("build", "--release", "synthetic", "--out", str(project / f"out{kind}-{i}"), "--quiet")

        cold = median(build_into("-cold"), project, count, env=cold_env)
        warm = median(build_into(""), project, count, env=ws.env)
        results[f"synthetic.{size}.cold"] = cold.seconds
        results[f"synthetic.{size}"] = warm.seconds
        results[f"synthetic.{size}.peak_kib"] = max(cold.peak_kib, warm.peak_kib)
        points.append((size, cold.seconds))
    for key, value in fit(points).items():
        results[f"synthetic.fit.{key}"] = value
    chart = ws.root / "out" / "queens" / "oaas"
    shutil.rmtree(chart.parent, ignore_errors=True)
    subprocess.run(ws.chartgen("build", "--release", "queens", "--out", str(chart.parent), "--quiet"), cwd=ws.root, env=ws.env, check=True)
    if HELM.exists():
        helm = median([str(HELM), "template", "oaas", str(chart)], ws.root, runs)
        results["helm_template.seconds"] = helm.seconds
        results["helm_template.peak_kib"] = helm.peak_kib
        manifest = subprocess.run([str(HELM), "template", "oaas", str(chart)], capture_output=True, text=True, check=True).stdout
        results["payload.bytes"] = payload_bytes(chart, manifest)
    results["template_lines"] = template_lines(chart)
    results["chart_files"] = sum(1 for p in chart.rglob("*") if p.is_file())
    return results


def measure_validate(ws: "Workspace", runs: int) -> dict[str, float]:
    """`chartgen validate` of every release and of the first five, each a whole process; `.cold`
    with every cache off (validate renders nothing: the render cache plays no part either way)."""
    results: dict[str, float] = {}
    names = ws.releases()
    five = [arg for release in FIRST_FIVE if release in names for arg in ("--release", release)]
    results["validate.releases"] = len(names)  # type: ignore[assignment]
    for name, selection in (("validate.first_five", five), ("validate.all_releases", [])):
        for suffix, env in (("", ws.env), (".cold", dict(ws.env, CHARTGEN_NO_CACHE="1"))):
            sample = median(ws.chartgen("validate", "--quiet", *selection), ws.root, runs, env=env)
            results[name + suffix] = sample.seconds
            results[name + suffix + ".peak_kib"] = sample.peak_kib
    return results


def table(results: dict[str, float], base: dict[str, float] | None) -> str:
    rows = []
    for key, value in results.items():
        shown = f"{value / 1024:.1f} KiB" if key.endswith("bytes") else (f"{value / 1024:.0f} MiB" if key.endswith("peak_kib") else
                 (f"{value:.3f} s" if isinstance(value, float) and "fit" not in key else f"{value:.4g}"))
        budget = BUDGET.get(key)
        verdict = "" if budget is None else ("  within budget" if value <= budget else f"  OVER budget ({budget})")
        ratio = ""
        if base and key in base and base[key]:
            ratio = f"  x{value / base[key]:.2f} vs base ({base[key]:.4g})"
        rows.append(f"{key:40} {shown:>12}{verdict}{ratio}")
    return "\n".join(rows)


def worktree(revision: str, scratch: Path) -> Path:
    target = scratch / "base-src"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(target), revision], check=True, capture_output=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (after one warm-up); default 5")
    parser.add_argument("--sizes", default="15,150,1500", help="synthetic catalog sizes; default 15,150,1500")
    parser.add_argument("--json", default=str(REPO / "bench" / "results.json"), help="where to write the results")
    parser.add_argument("--compare", metavar="REV", help="also measure git revision REV in this run and print ratios")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="chartgen-bench-") as folder:
        scratch = Path(folder)
        base = None
        if args.compare:
            source = worktree(args.compare, scratch)
            try:
                base = measure(source, args.runs, sizes, scratch / "base")
            finally:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(source)], capture_output=True)
        results = measure(REPO, args.runs, sizes, scratch / "head")
    print(f"chartgen benchmark: median of {args.runs} runs after a warm-up, {os.cpu_count()} cores, {platform.python_version()}")
    print(table(results, base))
    record = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
              "runs": args.runs, "results": results, "base": {"revision": args.compare, "results": base} if base else None}
    Path(args.json).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"written {Path(args.json).relative_to(REPO) if Path(args.json).is_relative_to(REPO) else args.json}")


if __name__ == "__main__":
    main()
