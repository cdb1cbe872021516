"""Every release's chart passes the real verification tools (helm lint 3 and 4, helm template with
every ci values file, kubeconform -strict on three Kubernetes minors, ct lint, the security gate)."""

import re

import pytest

from helpers import LAYOUT_RELEASES as RELEASES, run_chartgen

pytestmark = pytest.mark.tools


@pytest.mark.parametrize("release", RELEASES)
def test_lint_release(release: str) -> None:
    result = run_chartgen("lint", "--release", release)
    assert result.code == 0, result.stdout + result.stderr
    passed, total = map(int, re.search(r"(\d+) of (\d+) checks passed", result.stdout).groups())
    assert passed == total >= 20
    for tool in ("helm3 lint --strict", "helm4 lint --strict", "kubeconform -strict 1.32.0", "kubeconform -strict 1.34.0", "ct lint",
                 "security: kube-linter", "security: kube-score", "security: polaris"):
        assert re.search(rf"^ok +{release} +{re.escape(tool)}", result.stdout, re.M), f"{tool} did not run"


def test_lint_reports_a_broken_chart_with_exit_1(tmp_path) -> None:
    out = tmp_path / "charts"
    run_chartgen("build", "--release", "queens", "--out", str(out), "--quiet", check=True)
    template = out / "oaas" / "charts" / "memcached" / "templates" / "server" / "statefulset.yaml"
    template.write_text(template.read_text().replace("kind: StatefulSet", "kind: StatefulSet\nspec:\n  bogusField: 1", 1))
    result = run_chartgen("lint", "--chart", str(out / "oaas"))
    assert result.code == 1
    assert "FAIL" in result.stdout
