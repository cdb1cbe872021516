"""`chartgen check-upgrade` with the real helm: the shipped catalog upgrades cleanly release after
release, and each rule fires on the one-line input change that breaks it, naming the object, the
field and the blueprint or overlay line responsible.

Rule cases work on a git copy of the project: the committed inputs are the `from` side
(`HEAD:queens`), the edited working tree the `to` side (`queens`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helmrender import built
from helpers import RELEASES, ROOT, run_chartgen, supported_hops

pytestmark = pytest.mark.tools


@pytest.fixture(autouse=True)
def tools(monkeypatch: pytest.MonkeyPatch) -> None:
    # A temporary project has no .tools of its own: use this checkout's helm.
    monkeypatch.setenv("CHARTGEN_TOOLS_DIR", str(ROOT / ".tools"))


@pytest.fixture
def repo(project: Path) -> Path:
    """The project copy as a git repository with one commit of its inputs."""
    git = ["git", "-C", str(project), "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "blueprints", "values"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "inputs"], check=True)
    return project


def check(*args: str, cwd: Path = ROOT) -> tuple[int, list[dict]]:
    result = run_chartgen("check-upgrade", *args, "--format", "json", cwd=cwd)
    assert result.code in (0, 1), result.stderr
    return result.code, json.loads(result.stdout)["findings"]


def edit(project: Path, name: str, old: str, new: str) -> int:
    """Replace `old` once in the file; return the 1-based line where `old` started."""
    path = project / name
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not unique in {name}"
    path.write_text(text.replace(old, new))
    return text[: text.index(old)].count("\n") + 1


def the(findings: list[dict], rule: str) -> dict:
    matching = [f for f in findings if f["rule"] == rule]
    assert len(matching) == 1, f"expected one {rule} finding in {json.dumps(findings, indent=1)}"
    return matching[0]


@pytest.mark.parametrize("before, after", supported_hops())
def test_every_supported_hop_upgrades_cleanly(before: str, after: str) -> None:
    code, findings = check("--from", before, "--to", after)
    assert (code, findings) == (0, [])


@pytest.mark.parametrize("before, after", [pair for pair in zip(RELEASES, RELEASES[1:]) if pair not in supported_hops()])
def test_neighbours_that_are_no_supported_hop_are_an_error(before: str, after: str) -> None:
    """queens -> 2025.1 while values/ has no rocky ... 2024.2: Helm would accept the objects, but
    OpenStack cannot migrate a Queens database to Epoxy in one step."""
    result = run_chartgen("check-upgrade", "--from", before, "--to", after, "--format", "json")
    hop = json.loads(result.stdout)["hop"]
    assert result.code == 1
    assert (hop["file"], hop["code"]) == (f"values/{after}.yaml", "CG508"), hop
    assert "release.previous" in hop["message"] and "no overlay" in hop["message"]


def test_a_skip_names_the_chain_to_take() -> None:
    result = run_chartgen("check-upgrade", "--from", "ocata", "--to", "queens")
    assert result.code == 1
    assert "values/queens.yaml:11:13: CG508 ocata -> queens skips releases; upgrade one hop at a time: ocata -> pike -> queens" in result.stdout


def test_a_new_claim_size_is_rejected_and_blamed_on_its_line(repo: Path) -> None:
    line = edit(repo, "blueprints/galera.yaml", "      size: 10Gi\n", "      size: 20Gi\n")
    code, findings = check("--from", "HEAD:queens", "--to", "queens", cwd=repo)
    finding = the(findings, "statefulset_immutable")
    assert code == 1 and finding["severity"] == "error"
    assert (finding["kind"], finding["name"], finding["field"]) == ("StatefulSet", "oaas-galera-server", "spec.volumeClaimTemplates")
    assert "10Gi" in json.dumps(finding["from"]) and "20Gi" in json.dumps(finding["to"])
    assert [(c["path"], c["file"], c["line"]) for c in finding["causes"]] == [
        ("services.galera.components.server.persistence.size", "blueprints/galera.yaml", line)]


def test_pod_management_policy_is_immutable(repo: Path) -> None:
    line = edit(repo, "blueprints/memcached.yaml", "    podManagementPolicy: Parallel\n", "    podManagementPolicy: OrderedReady\n")
    code, findings = check("--from", "HEAD:queens", "--to", "queens", cwd=repo)
    finding = the(findings, "statefulset_immutable")
    assert code == 1 and (finding["name"], finding["field"], finding["from"], finding["to"]) == (
        "oaas-memcached-server", "spec.podManagementPolicy", "Parallel", "OrderedReady")
    assert (finding["causes"][0]["file"], finding["causes"][0]["line"]) == ("blueprints/memcached.yaml", line)


def test_headless_to_cluster_ip_is_flagged_on_the_service_and_the_statefulset(repo: Path) -> None:
    line = edit(repo, "blueprints/memcached.yaml", "    kind: StatefulSet\n", "    kind: StatefulSet\n    service: ClusterIP\n") + 1
    code, findings = check("--from", "HEAD:queens", "--to", "queens", cwd=repo)
    service = the(findings, "service_cluster_ip")
    assert code == 1 and (service["kind"], service["name"], service["field"], service["from"]) == ("Service", "oaas-memcached-server", "spec.clusterIP", "None")
    assert [(c["path"], c["change"], c["file"], c["line"]) for c in service["causes"]] == [
        ("services.memcached.components.server.service", "added", "blueprints/memcached.yaml", line)]
    statefulset = the(findings, "statefulset_immutable")  # its governing Service is now oaas-memcached-server-headless
    assert (statefulset["field"], statefulset["to"]) == ("spec.serviceName", "oaas-memcached-server-headless")


def test_cluster_ip_to_node_port_is_allowed(repo: Path) -> None:
    edit(repo, "blueprints/keystone.yaml", "    kind: Deployment\n", "    kind: Deployment\n    service: NodePort\n")
    diff = run_chartgen("diff", "--from", "HEAD:queens", "--to", "queens", "--quiet", cwd=repo)
    assert diff.code == 1  # the Service did change...
    assert check("--from", "HEAD:queens", "--to", "queens", cwd=repo) == (0, [])  # ...in a way Kubernetes accepts


def test_a_removed_claim_is_a_data_risk_blamed_on_the_removed_line(repo: Path) -> None:
    line = edit(repo, "blueprints/glance.yaml", "    persistence: {mountPath: /var/lib/glance/images, size: 10Gi, accessModes: [ReadWriteMany]}\n", "")
    code, findings = check("--from", "HEAD:queens", "--to", "queens", cwd=repo)
    finding = the(findings, "claim_removed")
    assert code == 1 and finding["severity"] == "warning"
    assert (finding["kind"], finding["name"]) == ("PersistentVolumeClaim", "oaas-glance-api-data")
    causes = {(c["path"], c["change"], c["file"], c["line"]) for c in finding["causes"]}
    assert ("services.glance.components.api.persistence.size", "removed", "HEAD:blueprints/glance.yaml", line) in causes


def test_a_removed_claim_template_is_rejected_and_a_data_risk(repo: Path) -> None:
    edit(repo, "blueprints/rabbitmq.yaml", "    persistence:\n      mountPath: /var/lib/rabbitmq\n      size: 10Gi\n", "")
    code, findings = check("--from", "HEAD:queens", "--to", "queens", cwd=repo)
    assert code == 1 and the(findings, "statefulset_immutable")["field"] == "spec.volumeClaimTemplates"
    claim = the(findings, "claim_removed")
    assert (claim["kind"], claim["name"], claim["field"]) == ("StatefulSet", "oaas-rabbitmq-server", "spec.volumeClaimTemplates[data]")
    assert {c["file"] for c in claim["causes"]} == {"HEAD:blueprints/rabbitmq.yaml"}


def test_a_disabled_stateful_service_is_a_data_risk(repo: Path) -> None:
    line = edit(repo, "values/queens.yaml", "\n  etcd:\n", "\n  etcd:\n    enabled: false\n") + 2
    code, findings = check("--from", "HEAD:queens", "--to", "queens", cwd=repo)
    finding = the(findings, "stateful_removed")
    assert code == 1 and finding["severity"] == "warning" and (finding["kind"], finding["name"], finding["service"]) == ("StatefulSet", "oaas-etcd-server", "etcd")
    assert "service etcd renders nothing" in finding["message"]
    assert [(c["path"], c["file"], c["line"], c["layer"]) for c in finding["causes"]] == [
        ("services.etcd.enabled", "values/queens.yaml", line, "release")]


def _built_copy(release: str, target: Path) -> Path:
    chart = target / "oaas"
    shutil.copytree(built(release, str(target.parent / "built")), chart)
    return chart


def test_a_changed_deployment_selector_is_rejected(tmp_path: Path) -> None:
    before, after = _built_copy("queens", tmp_path / "a"), _built_copy("queens", tmp_path / "b")
    template = after / "charts" / "keystone" / "templates" / "api" / "deployment.yaml"
    selector = '      {{- include "keystone.selectorLabels" (dict "context" $ "component" "api") | nindent 6 }}\n  template:'
    text = template.read_text()
    assert text.count(selector) == 1
    template.write_text(text.replace(selector, selector.replace("\n  template:", "\n      tier: web\n  template:")))
    code, findings = check("--from", str(before), "--to", str(after))
    finding = the(findings, "selector_changed")
    assert (code, finding["kind"], finding["name"], finding["field"]) == (1, "Deployment", "oaas-keystone-api", "spec.selector")
    assert finding["to"]["matchLabels"]["tier"] == "web" and "tier" not in finding["from"]["matchLabels"]
    assert finding["causes"] == [{"path": "oaas/charts/keystone/templates/api/deployment.yaml", "change": "template"}]


def test_a_job_that_keeps_its_name_while_its_template_changes_is_rejected(tmp_path: Path) -> None:
    charts = [_built_copy(release, tmp_path / release) for release in ("pike", "queens")]
    for chart in charts:  # a chart whose Job name no longer follows its pod spec
        job = chart / "charts" / "keystone" / "templates" / "jobs" / "bootstrap.yaml"
        text = job.read_text()
        named = '  name: {{ printf "%s-%s" ($name | trunc 54 | trimSuffix "-") ($pod | sha256sum | trunc 8) }}\n'
        assert text.count(named) == 1
        job.write_text(text.replace(named, "  name: oaas-keystone-bootstrap\n"))
    code, findings = check("--from", str(charts[0]), "--to", str(charts[1]))
    finding = the(findings, "job_template_changed")
    assert (code, finding["kind"], finding["name"], finding["field"]) == (1, "Job", "oaas-keystone-bootstrap", "spec.template")
    assert any(image.endswith("keystone:5.0.5") for image in finding["from"])
    assert any(image.endswith("keystone:6.2.4") for image in finding["to"])


def test_text_output_and_quiet(repo: Path) -> None:
    line = edit(repo, "blueprints/galera.yaml", "      size: 10Gi\n", "      size: 20Gi\n")
    text = run_chartgen("check-upgrade", "--from", "HEAD:queens", "--to", "queens", cwd=repo)
    assert text.code == 1
    assert "error   StatefulSet/oaas-galera-server spec.volumeClaimTemplates [statefulset_immutable]" in text.stdout
    assert f"caused by services.galera.components.server.persistence.size (changed) at blueprints/galera.yaml:{line}:" in text.stdout
    quiet = run_chartgen("check-upgrade", "--from", "HEAD:queens", "--to", "queens", "--quiet", cwd=repo)
    assert (quiet.code, quiet.stdout) == (1, "")


def test_bad_sides_exit_2() -> None:
    unknown = run_chartgen("check-upgrade", "--from", "kilo", "--to", "queens")
    assert unknown.code == 2 and "CG501 unknown release 'kilo'" in unknown.stderr and "Traceback" not in unknown.stderr
    revision = run_chartgen("check-upgrade", "--from", "no-such-rev:queens", "--to", "queens")
    assert revision.code == 2 and "CG506" in revision.stderr
