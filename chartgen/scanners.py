"""Part of stage 8, verify: the security gate. kube-linter, kube-score and Polaris (real programs,
built by tools/install-tools.sh) read a release's rendering; every finding is either fixed in the
blueprints or allowed, with a reason, in the one reviewed allow-list (security/scanner-allow-list.yaml).

A finding is one failing check of one tool on one object (its containers together). The allow-list
maps tool -> check -> object pattern (`Kind/name`, fnmatch globs; `*` only where the reason holds
for every object) -> reason.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from chartgen.load import load_file

ALLOW_LIST = Path("security") / "scanner-allow-list.yaml"
KUBE_VERSION = "v1.34"  # the newest Kubernetes minor the charts are checked against (kubeconform)
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")
# kube-score grades: 1 critical, 5 warning, 7 almost ok, 10 ok. Warnings count as failures.
KUBE_SCORE_FAILING = 5
POLARIS_FAILING = ("warning", "danger")


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    tool: str
    check: str
    kind: str
    name: str
    message: str = ""

    @property
    def object(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def key(self) -> tuple[str, str, str]:
        return self.tool, self.check, self.object


@dataclass(frozen=True, slots=True)
class Rule:
    tool: str
    check: str
    pattern: str
    reason: str

    def allows(self, finding: Finding) -> bool:
        return (finding.tool, finding.check) == (self.tool, self.check) and fnmatch.fnmatchcase(finding.object, self.pattern)


class AllowListError(Exception):
    """The allow-list file is malformed (its position and what is wrong)."""


def load_allow_list(path: Path) -> list[Rule]:
    """Rules of the allow-list; each needs a non-empty reason."""
    data = load_file(path).data if path.is_file() else {}
    rules = []
    for tool, checks in sorted((data or {}).items()):
        if tool not in RUNNERS:
            raise AllowListError(f"{path}: unknown tool {tool!r} (known: {', '.join(RUNNERS)})")
        for check, objects in sorted((checks or {}).items()):
            for pattern, reason in sorted((objects or {}).items()):
                if not isinstance(reason, str) or len(reason.split()) < 3:
                    raise AllowListError(f"{path}: {tool} {check} {pattern}: give a reason (a sentence), got {reason!r}")
                rules.append(Rule(tool, check, pattern, " ".join(reason.split())))
    return rules


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: list[tuple[Finding, Rule]]
    refused: list[Finding]

    def used(self) -> set[Rule]:
        return {rule for _, rule in self.allowed}


def judge(findings: Iterable[Finding], rules: list[Rule]) -> Verdict:
    allowed, refused = [], []
    for finding in sorted(set(findings)):
        rule = next((rule for rule in rules if rule.allows(finding)), None)
        if rule is None:
            refused.append(finding)
        else:
            allowed.append((finding, rule))
    return Verdict(allowed, refused)


# --- the tools -------------------------------------------------------------------------------------
def _kube_linter(binary: str, manifest: Path) -> tuple[list[str], Callable[[str], list[Finding]]]:
    return [binary, "lint", "--format", "json", str(manifest)], _parse_kube_linter


def _parse_kube_linter(output: str) -> list[Finding]:
    reports = json.loads(output).get("Reports") or []
    found = []
    for report in reports:
        meta = report["Object"]["K8sObject"]
        found.append(Finding("kube-linter", report["Check"], meta["GroupVersionKind"]["Kind"], meta["Name"],
                             report["Diagnostic"]["Message"]))
    return found


def _kube_score(binary: str, manifest: Path) -> tuple[list[str], Callable[[str], list[Finding]]]:
    return [binary, "score", "--output-format", "json", "--kubernetes-version", KUBE_VERSION, str(manifest)], _parse_kube_score


def _parse_kube_score(output: str) -> list[Finding]:
    found = []
    for scored in json.loads(output) or []:
        kind, name = scored["type_meta"]["kind"], scored["object_meta"]["name"]
        for result in scored.get("checks") or []:
            if result.get("skipped") or result["grade"] > KUBE_SCORE_FAILING:
                continue
            comments = "; ".join(sorted({f"{c.get('path', '')}: {c.get('summary', '')}".strip(": ") for c in result.get("comments") or []}))
            found.append(Finding("kube-score", result["check"]["id"], kind, name, comments))
    return found


def _polaris(binary: str, manifest: Path) -> tuple[list[str], Callable[[str], list[Finding]]]:
    return [binary, "audit", "--audit-path", str(manifest), "--format", "json", "--only-show-failed-tests"], _parse_polaris


def _parse_polaris(output: str) -> list[Finding]:
    found = []
    for result in json.loads(output).get("Results") or []:
        kind, name = result["Kind"], result["Name"]
        groups = [result.get("Results") or {}]
        pod = result.get("PodResult") or {}
        groups.append(pod.get("Results") or {})
        groups += [(container.get("Results") or {}) for container in pod.get("ContainerResults") or []]
        for group in groups:
            for check, outcome in group.items():
                if not outcome.get("Success", True) and outcome.get("Severity") in POLARIS_FAILING:
                    found.append(Finding("polaris", check, kind, name, outcome.get("Message", "")))
    return found


RUNNERS: dict[str, Callable[[str, Path], tuple[list[str], Callable[[str], list[Finding]]]]] = {
    "kube-linter": _kube_linter,
    "kube-score": _kube_score,
    "polaris": _polaris,
}
# Exit codes that mean "ran, and found something" rather than "failed to run".
_FOUND_CODES = {"kube-linter": {0, 1}, "kube-score": {0, 1}, "polaris": {0}}


@dataclass(frozen=True, slots=True)
class ToolRun:
    tool: str
    findings: list[Finding]
    seconds: float
    error: str = ""  # the tool did not run or its output could not be read


def scan(manifest: Path, binary: Callable[[str], str], env: dict[str, str]) -> list[ToolRun]:
    """Every tool on the rendered manifest (a file of many YAML documents)."""
    runs = []
    for tool, runner in RUNNERS.items():
        command, parse = runner(binary(tool), manifest)
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        seconds = time.perf_counter() - start
        if result.returncode not in _FOUND_CODES[tool]:
            runs.append(ToolRun(tool, [], seconds, f"exit {result.returncode}: {(result.stderr or result.stdout).strip()[-2000:]}"))
            continue
        try:
            findings = _deduplicated(parse(result.stdout))
        except (ValueError, KeyError, TypeError) as error:
            runs.append(ToolRun(tool, [], seconds, f"unreadable output ({error!r}): {result.stdout[:500]}"))
            continue
        runs.append(ToolRun(tool, findings, seconds))
    return runs


def _deduplicated(findings: list[Finding]) -> list[Finding]:
    """One finding per (tool, check, object): the messages of its containers joined."""
    messages: dict[tuple[str, str, str, str], list[str]] = {}
    for finding in findings:
        messages.setdefault((finding.tool, finding.check, finding.kind, finding.name), []).append(finding.message)
    return [Finding(*key, " | ".join(sorted({m for m in found if m}))) for key, found in sorted(messages.items())]


def per_workload(findings: Iterable[Finding]) -> Counter[str]:
    """Failing checks per workload object (Deployment, StatefulSet, DaemonSet, Job, test Pod)."""
    return Counter(finding.object for finding in findings if finding.kind in WORKLOAD_KINDS)


def workload_objects(manifest_docs: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(f"{doc['kind']}/{doc['metadata']['name']}" for doc in manifest_docs if doc and doc.get("kind") in WORKLOAD_KINDS)
