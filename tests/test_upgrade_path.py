"""`chartgen upgrade-path`: the chain of supported upgrades, planned from the overlays' `release:`
headers (previous, slurp) and their `upgrade:` lists; the refusals (CG501, CG507, CG508) through the
real CLI; the README's graph equal to the command's output; and the upgrade Jobs as Helm renders them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chartgen.upgradepath import NEXT, SLURP, chain, check_hop, headers
from helmrender import built, objects
from helpers import ROOT, run_chartgen

# A later catalogue, headers only: yoga ... 2025.1 with the SLURP releases of the governance resolution.
LATER = [("yoga", "2022-03-30", False), ("2023.1", "2023-03-22", True), ("2023.2", "2023-10-04", False),
         ("2024.1", "2024-04-03", True), ("2024.2", "2024-10-02", False), ("2025.1", "2025-04-02", True)]


def overlays(folder: Path, releases: list[tuple[str, str, bool]], previous: dict[str, str] | None = None) -> Path:
    (folder / "values").mkdir(parents=True)
    for name, released, slurp in releases:
        lines = ["release:", f'  name: "{name}"', f'  released: "{released}"', f"  description: OpenStack {name}"]
        if slurp:
            lines.append("  slurp: true")
        if previous and name in previous:
            lines.append(f'  previous: "{previous[name]}"')
        lines += ["  images:", "    registry: quay.io/openstack.kolla", '    prefix: ""',
                  f'    tag: "{name}-ubuntu-jammy"', "    source: a test's made-up scheme"]
        (folder / "values" / f"{name}.yaml").write_text("\n".join(lines) + "\n")
    return folder


def path_of(hops: list) -> list[str]:
    return [hops[0].before] + [hop.after for hop in hops] if hops else []


def test_slurp_releases_skip_one_release_and_every_release_is_a_hop(tmp_path: Path) -> None:
    known = headers(overlays(tmp_path, LATER))
    slurp = chain(known, "yoga", "2025.1", slurp=True)
    assert path_of(slurp) == ["yoga", "2023.1", "2024.1", "2025.1"]
    assert [hop.kind for hop in slurp] == [NEXT, SLURP, SLURP]
    every = chain(known, "yoga", "2025.1", slurp=False)
    assert path_of(every) == [name for name, _, _ in LATER]
    assert {hop.kind for hop in every} == {NEXT}
    # a non-SLURP release upgrades only to the next one
    assert path_of(chain(known, "2023.2", "2025.1")) == ["2023.2", "2024.1", "2025.1"]


def test_a_skip_is_refused_with_the_chain_to_take(tmp_path: Path) -> None:
    root = overlays(tmp_path, LATER)
    problem = check_hop(root, "2023.1", "2025.1")
    assert problem is not None and problem.code == "CG508"
    assert problem.message == "2023.1 -> 2025.1 skips releases; upgrade one hop at a time: 2023.1 -> 2024.1 -> 2025.1"
    assert check_hop(root, "2023.1", "2024.1") is None  # the SLURP skip itself
    assert check_hop(root, "2023.2", "2024.1") is None


def test_a_missing_release_cuts_the_chain_where_its_successor_says(tmp_path: Path) -> None:
    """2025.1 says it upgrades from 2024.2; without 2024.2's overlay, neither the N+1 nor the SLURP
    hop into 2025.1 can be shown to be one release or one SLURP step."""
    root = overlays(tmp_path, [r for r in LATER if r[0] != "2024.2"], previous={"2025.1": "2024.2"})
    problem = check_hop(root, "2024.1", "2025.1")
    assert problem is not None and problem.code == "CG508"
    assert (problem.file.endswith("values/2025.1.yaml"), problem.line) == (True, 6)
    assert "2025.1 upgrades from 2024.2 (release.previous), which has no overlay in values/" in problem.message
    assert "the supported chain reaches" not in problem.message  # 2024.1 is where it starts


def test_a_downgrade_is_refused_at_the_older_release(tmp_path: Path) -> None:
    problem = check_hop(overlays(tmp_path, LATER), "2024.1", "2023.2")
    assert problem is not None and (problem.code, problem.line, problem.col) == ("CG507", 2, 9)
    assert "2023.2 is older than 2024.1" in problem.message


# --- the real catalogue, through the CLI ---------------------------------------------------------------
def test_chain_through_the_cli_with_each_hops_jobs_and_components() -> None:
    result = run_chartgen("upgrade-path", "--from", "newton", "--to", "pike", "--format", "json", check=True)
    plan = json.loads(result.stdout)
    assert [(hop["from"], hop["to"], hop["kind"]) for hop in plan["hops"]] == [("newton", "ocata", "next"), ("ocata", "pike", "next")]
    first = plan["hops"][0]
    assert "heat.engine" in first["added"] and "nova.placement" in first["added"]
    keystone = [(job["name"], job["phase"]) for job in first["jobs"] if job["service"] == "keystone"]
    assert keystone == [("db-expand", "pre"), ("db-migrate", "pre"), ("db-contract", "post")]
    nova = next(job for job in first["jobs"] if job["name"] == "api-db-sync")
    assert nova["stop"] == ["conductor"]


@pytest.mark.parametrize("args, expect", [
    (("--from", "queens", "--to", "pike"), r"^values/pike\.yaml:3:9: CG507 pike is older than queens"),
    (("--from", "2025.1", "--to", "rocky"), r"^values/rocky\.yaml:5:9: CG507 rocky is older than 2025\.1"),
    (("--from", "queens", "--to", "kilo"), r"^values/kilo\.yaml:1:1: CG501 unknown release 'kilo'"),
    (("--from", "mitaka", "--to", "queens"), r"^values/mitaka\.yaml:1:1: CG501 unknown release 'mitaka'"),
])
def test_refusals_are_positioned_and_exit_2(args: tuple[str, ...], expect: str) -> None:
    result = run_chartgen("upgrade-path", *args)
    assert result.code == 2 and "Traceback" not in result.stderr
    assert re.search(expect, result.stderr, re.MULTILINE), result.stderr


def test_an_upgrade_job_naming_an_unknown_component_is_refused_by_upgrade_path(project: Path) -> None:
    path = project / "values" / "pike.yaml"
    text = path.read_text()
    path.write_text(text.replace("      stop: [conductor]\n", "      stop: [conductr]\n", 1))
    line = text[: text.index("      stop: [conductor]\n")].count("\n") + 1
    result = run_chartgen("upgrade-path", "--from", "ocata", "--to", "pike", cwd=project)
    assert result.code == 2 and "Traceback" not in result.stderr
    assert f"values/pike.yaml:{line}:13: CG417 upgrade job 'api-db-sync': no component 'conductr' to stop" in result.stderr


def test_readme_graph_is_the_commands_output() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- upgrade-graph:begin -->\n```mermaid\n", 1)[1].split("```\n<!-- upgrade-graph:end -->", 1)[0]
    output = run_chartgen("upgrade-path", "--format", "mermaid", check=True).stdout
    assert block == output, "README's upgrade graph is stale: paste `chartgen upgrade-path --format mermaid` between the markers"
    assert "==>|SLURP|" in output or not any(h.slurp for h in headers(ROOT).values() if h.previous in headers(ROOT))


# --- the upgrade Jobs as Helm renders them -------------------------------------------------------------
@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("upgrade-jobs"))


@pytest.mark.tools
@pytest.mark.parametrize("major", [3, 4])
def test_upgrade_jobs_are_ordered_hooks_named_by_their_spec(scratch: str, major: int) -> None:
    docs = objects(built("2025.1", scratch), major=major)
    hooks = [d for d in docs if d["kind"] == "Job" and d["metadata"].get("annotations", {}).get("helm.sh/hook", "").endswith("-upgrade")
             and d["metadata"]["labels"]["app.kubernetes.io/component"] != "upgrade-secrets"]  # test_rendered_facts checks those
    declared = headers(ROOT)["2025.1"].jobs
    assert len([h for h in hooks if "-upgrade-stop-" not in h["metadata"]["name"]]) == len(declared)
    by_weight = sorted(hooks, key=lambda d: int(d["metadata"]["annotations"]["helm.sh/hook-weight"]))
    names = [d["metadata"]["name"] for d in by_weight]
    expected = [f"oaas-{j.service}-upgrade-{j.name}" for j in declared]
    assert [re.sub(r"-[0-9a-f]{8}$", "", n) for n in names if "-upgrade-stop-" not in n] == expected
    for job in declared:
        hook = next(d for d in hooks if d["metadata"]["name"].startswith(f"oaas-{job.service}-upgrade-{job.name}-"))
        annotations = hook["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == f"{job.phase}-upgrade"
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
        container = hook["spec"]["template"]["spec"]["containers"][0]
        if not any("${" in part for part in job.command):  # references are resolved to names
            assert container["command"] == list(job.command)
        if job.stop:  # its stop Job runs just before it, allowed to scale only those objects
            stop = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"] == f"oaas-{job.service}-upgrade-stop-{job.name}")
            assert int(stop["metadata"]["annotations"]["helm.sh/hook-weight"]) == int(annotations["helm.sh/hook-weight"]) - 1
            role = next(d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == stop["metadata"]["name"])
            assert role["rules"][0]["resourceNames"] == [f"oaas-{job.service}-{c}" for c in job.stop]


@pytest.mark.tools
def test_an_upgrade_job_runs_its_steps_first_reusing_the_bootstrap_step_it_names(scratch: str) -> None:
    """Stein's placement data migration (kolla-ansible@8.0.0 roles/placement/tasks/bootstrap.yml):
    the placement database and user first (bootstrap's own db-init step, as it is), then the copy
    of placement's tables out of nova_api with the rc file the script sources, then the schema sync."""
    docs = objects(built("stein", scratch))
    job = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith("oaas-placement-upgrade-db-migrate-"))
    bootstrap = next(d for d in docs if d["kind"] == "Job" and re.fullmatch(r"oaas-placement-bootstrap-[0-9a-f]{8}", d["metadata"]["name"]))
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-upgrade"
    spec = job["spec"]["template"]["spec"]
    steps = [c["name"] for c in spec["initContainers"]]
    assert steps[-2:] == ["db-init", "migrate-nova-api"] and "render-config" in steps[:-2]
    own = {c["name"]: c for c in bootstrap["spec"]["template"]["spec"]["initContainers"]}
    reused = spec["initContainers"][-2]
    assert reused["command"] == own["db-init"]["command"]
    assert {e["name"] for e in reused.get("env", [])} == {e["name"] for e in own["db-init"].get("env", [])}
    migrate = spec["initContainers"][-1]
    assert "/opt/mysql-migrate-db.sh --migrate /etc/placement/migrate-db.rc" in migrate["command"][-1]
    assert "0|3|4) exit 0" in migrate["command"][-1]  # kolla-ansible's failed_when: rc not in [0, 3, 4]
    assert any(m["mountPath"] == "/etc/placement/migrate-db.rc" for m in migrate["volumeMounts"])
    assert spec["containers"][0]["command"] == ["placement-manage", "--config-file", "/etc/placement/placement.conf", "db", "sync"]
    # The rc file (nova_api to placement) is in the hook's copy of the ConfigMap, secrets as placeholders.
    copy = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "oaas-placement-config-upgrade")
    rc = copy["data"]["migrate-db.rc"]
    assert "NOVA_API_DB=nova_api" in rc and "PLACEMENT_DB=placement" in rc and "$(DB_PASSWORD)" in rc
    # The bootstrap Job's db-sync step runs on install only: on upgrade the hook synced the schema.
    assert "db-sync" in own
    # Train has no such migration (and no rc file).
    train = objects(built("train", scratch))
    assert not any(d["kind"] == "Job" and "migrate-nova-api" in str(d) for d in train)
