"""Stage 8, verify: the built chart checked by the real programs, run as subprocesses.

helm lint --strict (Helm 3 and Helm 4), helm template with every ci values file (the umbrella's,
and each subchart's placed under its service key), kubeconform -strict on every rendering against
each Kubernetes version of tools/versions.env, chart-testing's `ct lint`, the security gate (kube-linter,
kube-score and Polaris, chartgen/scanners.py), and every rendered config file through the real
program its blueprint names (chartgen/configcheck/).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ruamel.yaml import YAMLError

from chartgen.emit import yaml_text
from chartgen.load import load_file
from chartgen.model import FileCheck

if TYPE_CHECKING:
    from chartgen.configcheck import KindReport
    from chartgen.configcheck.base import Result

DEFAULT_KUBE_VERSIONS = ("1.32.0", "1.33.0", "1.34.0")
CONFIG_NAMESPACE = "openstack"  # the cluster names config files hold are rendered for it


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    seconds: float
    output: str
    notes: str = ""  # shown even when the check passed (warnings, files not checked)


class ToolMissing(Exception):
    """A verification program is not installed (run `make tools`)."""


@dataclass(frozen=True, slots=True)
class Tools:
    root: Path  # the .tools folder

    @classmethod
    def find(cls, project: Path) -> "Tools":
        return cls(Path(os.environ.get("CHARTGEN_TOOLS_DIR", project / ".tools")))

    def binary(self, name: str) -> str:
        path = self.root / "bin" / name
        if path.exists():
            return str(path)
        found = shutil.which(name)
        if found:
            return found
        raise ToolMissing(f"{name} is not installed: run `make tools` (looked in {self.root / 'bin'} and PATH)")

    def schema_location(self) -> str:
        location = self.root / "kubeconform-schemas" / "LOCATION"
        if not location.is_file():
            raise ToolMissing(f"no offline Kubernetes schemas at {location.parent}: run `make tools`")
        return location.read_text(encoding="utf-8").strip()

    def kube_versions(self, project: Path) -> tuple[str, ...]:
        versions = project / "tools" / "versions.env"
        if versions.is_file():
            for line in versions.read_text(encoding="utf-8").splitlines():
                if "KUBE_SCHEMA_VERSIONS=" in line:
                    return tuple(line.split("=", 1)[1].strip().strip('"').split())
        return DEFAULT_KUBE_VERSIONS

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("HELM_CACHE_HOME", str(self.root / "helm-home" / "cache"))
        env.setdefault("HELM_CONFIG_HOME", str(self.root / "helm-home" / "config"))
        env.setdefault("HELM_DATA_HOME", str(self.root / "helm-home" / "data"))
        return env


def _run(name: str, command: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[Check, str]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, input=stdin)
    output = (result.stderr + result.stdout) if result.returncode else result.stderr
    return Check(name, result.returncode == 0, time.perf_counter() - start, output.strip()), result.stdout


def ci_values_files(chart: Path) -> list[tuple[str, Path]]:
    """(label, values file for the umbrella) for every ci/*-values.yaml, subcharts' wrapped under their key."""
    found = [(f"oaas/ci/{path.name}", path) for path in sorted((chart / "ci").glob("*.yaml"))]
    for sub in sorted((chart / "charts").iterdir()):
        for path in sorted((sub / "ci").glob("*.yaml")) if (sub / "ci").is_dir() else []:
            found.append((f"{sub.name}/ci/{path.name}", path))
    return found


def _umbrella_values(label: str, path: Path, scratch: Path) -> Path:
    if label.startswith("oaas/"):
        return path
    service = label.split("/", 1)[0]
    data = load_file(path).data
    wrapped = {key: value for key, value in data.items() if key == "global"}
    rest = {key: value for key, value in data.items() if key != "global"}
    if rest:
        wrapped[service] = rest
    target = scratch / f"{service}-{path.name}"
    target.write_text(yaml_text(wrapped), encoding="utf-8")
    return target


def _unique_objects(rendered: list[tuple[str, str]], scratch: Path) -> tuple[list[str], int, int]:
    """Each rendering's objects that no earlier rendering had, one file per rendering (named after
    it, so kubeconform names the first rendering holding an invalid object), and the counts of
    objects and distinct ones. A ci values file changes one subchart: the other objects of its
    umbrella rendering are byte for byte the default rendering's, and kubeconform judges each
    object alone, so validating them again could only repeat a verdict."""
    seen: set[str] = set()
    files, objects = [], 0
    for label, manifest in rendered:
        fresh = []
        for document in re.split(r"^---[ \t]*$", manifest, flags=re.M):
            if not document.strip():
                continue
            objects += 1
            digest = hashlib.sha256(document.encode()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                fresh.append(document)
        if fresh:
            target = scratch / f"rendered-{label.replace('/', '-')}"
            target.write_text("---".join(fresh), encoding="utf-8")
            files.append(str(target))
    return files, objects, len(seen)


def lint_chart(chart: Path, project: Path, tools: Tools | None = None, config: ConfigChecks | None = None) -> list[Check]:
    """Every check on the built umbrella chart at `chart` (generated-charts/oaas); the config file
    checks when `config` says how the chart's files are checked."""
    tools = tools or Tools.find(project)
    env = tools.env()
    checks: list[Check] = []
    helms = {"helm3": tools.binary("helm3"), "helm4": tools.binary("helm4")}
    kubeconform, location = tools.binary("kubeconform"), tools.schema_location()
    versions = tools.kube_versions(project)
    for name, helm in helms.items():
        checks.append(_run(f"{name} lint --strict", [helm, "lint", "--strict", str(chart)], env)[0])
    with tempfile.TemporaryDirectory(prefix="chartgen-verify-") as scratch:
        rendered: list[tuple[str, str]] = []  # (ci values file, helm 4's rendering)
        for label, path in ci_values_files(chart):
            values = _umbrella_values(label, path, Path(scratch))
            for name, helm in helms.items():
                check, manifest = _run(f"{name} template -f {label}", [helm, "template", "oaas", str(chart), "-f", str(values)], env)
                checks.append(check)
                if check.ok and name == "helm4":
                    rendered.append((label, manifest))
        files, objects, unique = _unique_objects(rendered, Path(scratch))
        # One kubeconform run per Kubernetes version over every rendering (loading the schemas dominates).
        for version in versions if files else ():  # without a file kubeconform would read its stdin
            command = [kubeconform, "-strict", "-summary", "-kubernetes-version", version, "-schema-location", location, *files]
            result, summary = _run(f"kubeconform -strict {version} ({len(rendered)} renderings, {unique} distinct of {objects} objects)",
                                   command, env)
            checks.append(Check(result.name, result.ok, result.seconds, (result.output + "\n" + summary).strip()))
        checks.append(_ct_lint(chart, tools, env))
    checks += security_checks(chart, project, tools, env)
    if config is not None:
        checks += config_checks(chart, helms["helm4"], env, tools, config)
    return checks


@dataclass(frozen=True, slots=True)
class ConfigChecks:
    """What the config step needs beyond the chart: the release (for its option registries) and how
    each (service, fileName) is checked, from the compiled blueprints."""

    release: str
    checks: Mapping[tuple[str, str], FileCheck | None]


def config_checks(chart: Path, helm: str, env: dict[str, str], tools: Tools, config: ConfigChecks) -> list[Check]:
    """Every ConfigMap file of `helm template` with every subchart enabled (a disabled service's
    files ship in the chart too), through the program its blueprint names: one line per program."""
    from chartgen import configcheck

    rendered, manifest = render_every_subchart(chart, helm, env)
    if not rendered.ok:
        return [rendered]
    start = time.perf_counter()
    try:
        report = configcheck.check_manifest(manifest, CONFIG_NAMESPACE, config.release, config.checks, tools.root / "bin")
    except YAMLError as error:  # kubeconform reports the same manifest; the config files cannot be read from it
        return [Check("config: files of the rendered ConfigMaps", False, time.perf_counter() - start, f"the rendered manifest is not valid YAML: {error}")]
    found = [_kind_check(kind) for kind in report.kinds]
    if report.unchecked:
        lines = [f"{file.label}: {why}" for file, why in report.unchecked]
        # Say in the summary line itself which check was skipped and why, not only in the details.
        reasons = sorted({why for _, why in report.unchecked if why.startswith("no option registr")})
        skipped = f" (oslo-config-validator skipped for {config.release}: {reasons[0]})" if reasons else ""
        found.append(Check(f"config: not checked: {_files(len(report.unchecked))}{skipped}", True, 0.0, "", "\n".join(lines)))
    total = time.perf_counter() - start
    checked = len({result.file for kind in report.kinds for result in kind.results})
    return found + [Check(f"config: {_files(checked)} checked by real programs", True, total, "")]


def _files(count: int) -> str:
    return f"{count} file" + ("" if count == 1 else "s")


def render_every_subchart(chart: Path, helm: str, env: dict[str, str]) -> tuple[Check, str]:
    """`helm template` of the umbrella with every subchart enabled, in CONFIG_NAMESPACE."""
    enable = [f"{dependency['name']}.enabled=true" for dependency in load_file(chart / "Chart.yaml").data.get("dependencies", [])
              if dependency.get("condition")]
    command = [helm, "template", "oaas", str(chart), "--namespace", CONFIG_NAMESPACE, "--set", ",".join(enable)]
    return _run("config: helm template, every subchart enabled", command, env)


def _kind_check(kind: "KindReport") -> Check:
    failed = [result for result in kind.results if not result.ok]
    warned = [result for result in kind.results if result.warnings]
    name = f"config: {kind.program}: {_files(len({result.file for result in kind.results}))}" + (f", {len(warned)} with warnings" if warned else "")
    output = "\n".join(f"{_where(result)}: {line}" for result in failed for line in result.errors)
    notes = "\n".join(f"{_where(result)}: warning: {line}" for result in warned for line in result.warnings)
    return Check(name, not failed, kind.seconds, output, notes)


def _where(result: "Result") -> str:
    return result.file.label + (f" ({result.where})" if result.where else "")


def security_checks(chart: Path, project: Path, tools: Tools, env: dict[str, str]) -> list[Check]:
    """kube-linter, kube-score and Polaris on the rendering with every subchart enabled: one line per
    tool; a finding not in the allow-list fails it."""
    from chartgen import scanners

    rendered, manifest = render_every_subchart(chart, tools.binary("helm4"), env)
    if not rendered.ok:
        return [Check(f"security: {rendered.name}", False, rendered.seconds, rendered.output)]
    try:
        rules = scanners.load_allow_list(project / scanners.ALLOW_LIST)
    except scanners.AllowListError as error:
        return [Check("security: allow-list", False, 0.0, str(error))]
    with tempfile.TemporaryDirectory(prefix="chartgen-scan-") as scratch:
        path = Path(scratch) / "manifest.yaml"
        path.write_text(manifest, encoding="utf-8")
        runs = scanners.scan(path, tools.binary, env)
    checks = []
    for run in runs:
        verdict = scanners.judge(run.findings, rules)
        name = f"security: {run.tool}: {len(run.findings)} findings, {len(verdict.allowed)} allowed ({scanners.ALLOW_LIST})"
        output = run.error or "\n".join(f"{f.object}: {f.tool} {f.check}: {f.message}" for f in verdict.refused)
        checks.append(Check(name, not run.error and not verdict.refused, run.seconds, output))
    return checks


def _ct_lint(chart: Path, tools: Tools, env: dict[str, str]) -> Check:
    # ct lints every chart folder directly under --chart-dirs, and runs `helm dependency build` in
    # it (writing Chart.lock and archives): give it a copy in a folder of its own.
    with tempfile.TemporaryDirectory(prefix="chartgen-ct-") as holder:
        shutil.copytree(chart, Path(holder) / chart.name)
        etc = tools.root / "ct-etc"
        command = [
            tools.binary("ct"), "lint", "--all", "--validate-maintainers=false", "--check-version-increment=false",
            "--helm-lint-extra-args=--strict", "--chart-dirs", holder,
            "--chart-yaml-schema", str(etc / "chart_schema.yaml"), "--lint-conf", str(etc / "lintconf.yaml"),
        ]
        check, stdout = _run("ct lint", command, env)
        return Check(check.name, check.ok, check.seconds, check.output if not check.ok else "")
