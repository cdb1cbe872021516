"""The security gate: kube-linter, kube-score and Polaris (the real programs, built by
tools/install-tools.sh) on every release's rendering with every subchart enabled. Each finding is
fixed in the blueprints or allowed, with a reason, in security/scanner-allow-list.yaml; an entry no
release needs any more is an error too, so the list cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from chartgen import scanners
from chartgen.verify import Tools, render_every_subchart
from helmrender import built
from helpers import RELEASES, ROOT

pytestmark = pytest.mark.tools

TOOLS = Tools(ROOT / ".tools")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("security")


def rendering(release: str, scratch: Path) -> Path:
    check, manifest = render_every_subchart(built(release, str(scratch)), TOOLS.binary("helm4"), TOOLS.env())
    assert check.ok, check.output
    path = scratch / f"{release}.yaml"
    path.write_text(manifest, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def findings(scratch: Path) -> dict[str, list[scanners.Finding]]:
    found = {}
    for release in RELEASES:
        runs = scanners.scan(rendering(release, scratch), TOOLS.binary, TOOLS.env())
        assert not [run.error for run in runs if run.error]
        assert {run.tool for run in runs} == {"kube-linter", "kube-score", "polaris"}
        found[release] = [finding for run in runs for finding in run.findings]
    return found


def rules() -> list[scanners.Rule]:
    return scanners.load_allow_list(ROOT / scanners.ALLOW_LIST)


@pytest.mark.parametrize("release", RELEASES)
def test_every_finding_is_fixed_or_allowed(findings: dict[str, list[scanners.Finding]], release: str) -> None:
    refused = scanners.judge(findings[release], rules()).refused
    assert not refused, "\n".join(f"{f.object}: {f.tool} {f.check}: {f.message}" for f in refused)


def test_every_allow_list_entry_is_still_needed(findings: dict[str, list[scanners.Finding]]) -> None:
    used = set().union(*(scanners.judge(found, rules()).used() for found in findings.values()))
    stale = [f"{rule.tool} {rule.check} {rule.pattern}" for rule in rules() if rule not in used]
    assert not stale, f"allow-list entries no release needs (remove them): {stale}"


def test_the_gate_catches_a_new_weakness(scratch: Path) -> None:
    """The same rendering with one pod given the host's PID namespace: every tool must object, and
    nothing in the allow-list may excuse it."""
    text = rendering("queens", scratch).read_text(encoding="utf-8")
    anchor = "      automountServiceAccountToken: false\n"
    start = text.index("kind: Deployment\nmetadata:\n  name: oaas-keystone-api\n")
    at = text.index(anchor, start)
    weakened = scratch / "weakened.yaml"
    weakened.write_text(text[:at] + anchor + "      hostPID: true\n" + text[at + len(anchor):], encoding="utf-8")
    runs = scanners.scan(weakened, TOOLS.binary, TOOLS.env())
    refused = scanners.judge([finding for run in runs for finding in run.findings], rules()).refused
    assert {(f.tool, f.object) for f in refused} >= {("kube-linter", "Deployment/oaas-keystone-api"), ("polaris", "Deployment/oaas-keystone-api")}


def test_an_allowance_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "allow.yaml"
    path.write_text("kube-linter:\n  run-as-non-root:\n    DaemonSet/oaas-nova-compute: ok\n", encoding="utf-8")
    with pytest.raises(scanners.AllowListError, match="give a reason"):
        scanners.load_allow_list(path)
    path.write_text("trivy:\n  x:\n    Pod/y: because it is so\n", encoding="utf-8")
    with pytest.raises(scanners.AllowListError, match="unknown tool 'trivy'"):
        scanners.load_allow_list(path)
