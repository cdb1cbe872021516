"""`chartgen diff` with the real helm: values paths with both sides' provenance (checked against
`chartgen explain`), rendered object diffs (checked against `helm template` of the built chart),
folder and git revision sides, json, exit codes, and no secret ever shown."""

from __future__ import annotations

import base64
import re
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chartgen.merge import Merged
from chartgen.valuediff import compare
from helmrender import built, find, objects
from helpers import ROOT, run_chartgen

pytestmark = pytest.mark.tools
TAG = "keystone.images.keystone.tag"


@pytest.fixture(autouse=True)
def tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTGEN_TOOLS_DIR", str(ROOT / ".tools"))


def set_by(path: str, release: str) -> dict:
    """Who set a value last, according to `chartgen explain`."""
    return json.loads(run_chartgen("explain", path, "--release", release, "--format", "json", check=True).stdout)["history"][-1]


def keystone_image(release: str, scratch: Path) -> str:
    deployment = find(objects(built(release, str(scratch))), "Deployment", "oaas-keystone-api")
    return next(c["image"] for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "api")


@pytest.fixture(scope="module")
def ocata_pike() -> dict:
    result = run_chartgen("diff", "--from", "ocata", "--to", "pike", "--format", "json")
    assert result.code == 1, result.stderr
    return json.loads(result.stdout)


def changed_to(diff: str, sign: str, image: str) -> bool:
    """Does the unified diff add (+) or remove (-) an `image:` line with this image?"""
    return any(line.lstrip().startswith(sign) and "image:" in line and image in line for line in diff.splitlines())


def chart(report: dict, name: str) -> dict:
    return next(c for c in report["charts"] if c["chart"] == name)


def test_text_shows_the_changed_tag_with_both_sides_provenance_and_the_new_image(tmp_path: Path) -> None:
    result = run_chartgen("diff", "--from", "ocata", "--to", "pike")
    assert result.code == 1
    before, after = set_by(TAG, "ocata"), set_by(TAG, "pike")
    lines = result.stdout.splitlines()
    at = lines.index('  value   services.keystone.images.keystone.tag: "ocata" -> "5.0.5"')
    assert lines[at + 1].split() == ["from", f"{before['file']}:{before['line']}:{before['col']}", "[release]"]
    assert lines[at + 2].split() == ["to", f"{after['file']}:{after['line']}:{after['col']}", "[release]"]
    block = result.stdout.split("  object  changed Deployment/oaas-keystone-api\n", 1)[1].split("\n  object  ", 1)[0]
    assert changed_to(block, "+", keystone_image("pike", tmp_path)) and changed_to(block, "-", keystone_image("ocata", tmp_path))
    assert not changed_to(block, "+", keystone_image("ocata", tmp_path))


def test_json_has_the_same_facts(ocata_pike: dict, tmp_path: Path) -> None:
    assert not ocata_pike["equal"] and ocata_pike["valuesCompared"]
    keystone = chart(ocata_pike, "keystone")
    tag = next(v for v in keystone["values"] if v["path"] == "services." + TAG)
    assert (tag["change"], tag["from"], tag["to"]) == ("changed", "ocata", "5.0.5")
    for side, release in (("fromOrigin", "ocata"), ("toOrigin", "pike")):
        expected = set_by(TAG, release)
        assert {k: tag[side][k] for k in ("file", "line", "col", "layer")} == {k: expected[k] for k in ("file", "line", "col", "layer")}
    deployment = next(o for o in keystone["objects"] if (o["kind"], o["name"]) == ("Deployment", "oaas-keystone-api"))
    assert deployment["change"] == "changed" and changed_to(deployment["diff"], "+", keystone_image("pike", tmp_path))


def test_objects_added_and_removed_are_listed(tmp_path: Path) -> None:
    report = json.loads(run_chartgen("diff", "--from", "pike", "--to", "queens", "--format", "json").stdout)
    rendered_pike = objects(built("pike", str(tmp_path)))
    jobs_before = {d["metadata"]["name"] for d in rendered_pike if d["kind"] == "Job"}
    keystone = chart(report, "keystone")
    removed = {o["name"] for o in keystone["objects"] if o["change"] == "removed"}
    added = {o["name"] for o in keystone["objects"] if o["change"] == "added"}
    # Jobs are named after their pod spec: the new image makes a new Job, the old one goes.
    assert removed & jobs_before and added and not (added & jobs_before)
    # keystone's admin port goes in queens: the values path is removed, by the line explain names
    admin = next(v for v in keystone["values"] if v["path"] == "services.keystone.components.api.ports.admin.port")
    deleted = set_by("keystone.components.api.ports.admin.port", "queens")
    assert admin["change"] == "removed" and (admin["toOrigin"]["file"], admin["toOrigin"]["line"], admin["toOrigin"]["action"]) == (
        deleted["file"], deleted["line"], "delete")


def test_the_same_release_is_equal() -> None:
    result = run_chartgen("diff", "--from", "queens", "--to", "queens")
    assert result.code == 0 and result.stdout.splitlines()[-1] == "no differences"
    assert json.loads(run_chartgen("diff", "--from", "queens", "--to", "queens", "--format", "json").stdout)["charts"] == []
    quiet = run_chartgen("diff", "--from", "ocata", "--to", "pike", "--quiet")
    assert (quiet.code, quiet.stdout) == (1, "")


def test_folder_against_folder(tmp_path: Path) -> None:
    ocata, pike = built("ocata", str(tmp_path)), built("pike", str(tmp_path))
    report = json.loads(run_chartgen("diff", "--from", str(ocata.parent), "--to", str(pike), "--format", "json").stdout)
    assert report["from"]["kind"] == report["to"]["kind"] == "folder" and not report["valuesCompared"]
    keystone = chart(report, "keystone")
    assert keystone["values"] == [] and any(o["name"] == "oaas-keystone-api" for o in keystone["objects"])
    assert run_chartgen("diff", "--from", str(pike), "--to", str(pike.parent), "--quiet").code == 0


def test_a_git_revision_side(project: Path) -> None:
    git = ["git", "-C", str(project), "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "queens"], check=True)
    release = project / "values" / "queens.yaml"
    text = release.read_text()
    old = '        repository: docker.io/kolla/ubuntu-binary-keystone\n        tag: "6.2.4"\n'
    assert text.count(old) == 1
    line = text[: text.index(old)].count("\n") + 2
    # A mirror's rebuild: outside Kolla's registry, so the release's image scheme (CG416) does not apply.
    release.write_text(text.replace(old, old.replace('"6.2.4"', '"6.2.5"').replace("docker.io/kolla/", "mirror.example.invalid/kolla/")))
    subprocess.run(git + ["commit", "-q", "-am", "keystone 6.2.5"], check=True)
    result = run_chartgen("diff", "--from", "HEAD~1:queens", "--to", "HEAD:queens", "--format", "json", cwd=project)
    assert result.code == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["from"]["kind"], report["to"]["kind"]) == ("git", "git")
    tag = next(v for v in chart(report, "keystone")["values"] if v["path"] == "services." + TAG)
    assert (tag["from"], tag["to"]) == ("6.2.4", "6.2.5")
    assert (tag["fromOrigin"]["file"], tag["fromOrigin"]["line"]) == ("HEAD~1:values/queens.yaml", line)
    assert (tag["toOrigin"]["file"], tag["toOrigin"]["line"]) == ("HEAD:values/queens.yaml", line)
    assert run_chartgen("diff", "--from", "HEAD:queens", "--to", "queens", "--quiet", cwd=project).code == 0


def test_secret_values_are_never_shown(tmp_path: Path) -> None:
    sides = {}
    for name, password in (("a", "Old-pass-1234abcd"), ("b", "New-pass-5678efgh")):
        chart_dir = tmp_path / name / "oaas"
        shutil.copytree(built("queens", str(tmp_path / "built")), chart_dir)
        values = chart_dir / "charts" / "keystone" / "values.yaml"
        values.write_text(values.read_text().replace('  adminPassword: ""\n', f"  adminPassword: {password}\n"))
        sides[name] = (chart_dir, password)
    for output in ("text", "json"):
        result = run_chartgen("diff", "--from", str(sides["a"][0]), "--to", str(sides["b"][0]), "--format", output)
        assert result.code == 1
        assert "adminPassword" in result.stdout and "*** (changed)" in result.stdout
        for _, password in sides.values():
            assert password not in result.stdout and base64.b64encode(password.encode()).decode() not in result.stdout
    # the rendering really carries them: the masking is what hides them
    rendered = find(objects(sides["b"][0]), "Secret", "oaas-keystone-overrides")  # copied by the secrets Job
    assert base64.b64decode(rendered["data"]["adminPassword"]).decode() == sides["b"][1]


def test_secret_like_values_paths_are_masked() -> None:
    before = Merged({"services": {"x": {"dbPassword": "one", "replicas": 1}}}, {})
    after = Merged({"services": {"x": {"dbPassword": "two", "replicas": 2}}}, {})
    changes = {c.dotted: c for c in compare(before, after)}
    assert (changes["services.x.dbPassword"].before, changes["services.x.dbPassword"].after) == ("***", "***")
    assert changes["services.x.dbPassword"].change == "changed"
    assert (changes["services.x.replicas"].before, changes["services.x.replicas"].after) == (1, 2)


def test_unknown_release_exits_2() -> None:
    result = run_chartgen("diff", "--from", "ocata", "--to", "kilo")
    assert result.code == 2 and "CG501 unknown release 'kilo'" in result.stderr and "Traceback" not in result.stderr


def test_a_chart_helm_cannot_render_is_bad_input(tmp_path: Path) -> None:
    run_chartgen("build", "--release", "queens", "--out", str(tmp_path / "a"), "--quiet", check=True)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    template = tmp_path / "b" / "oaas" / "charts" / "memcached" / "templates" / "NOTES.txt"
    template.write_text("{{ .Values.nothing.here }\n")
    result = run_chartgen("diff", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "b"))
    assert result.code == 2, result.stderr
    assert re.search(r"^\S*b/oaas:1:1: CG505 helm template failed: .*memcached", result.stderr, re.M), result.stderr
    assert "Traceback" not in result.stderr
