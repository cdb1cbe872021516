"""`chartgen init-site`: the written overlay is a valid no-op, and uncommenting one knob changes the
build exactly there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from helpers import run_chartgen, tree_bytes


def init_site(tmp_path: Path, release: str) -> Path:
    site = tmp_path / f"site-{release}.yaml"
    result = run_chartgen("init-site", "--release", release, "--out", str(site), check=True)
    assert f"wrote {site}" in result.stdout
    return site


def build(tmp_path: Path, name: str, release: str, *overlays: Path) -> Path:
    out = tmp_path / name
    args = [arg for overlay in overlays for arg in ("--overlay", str(overlay))]
    run_chartgen("build", "--release", release, *args, "--out", str(out), "--quiet", check=True)
    return out / "oaas"


def uncomment(text: str, service: str, *keys: str, value: str | None = None) -> str:
    """Uncomment services.<service>.<keys...> and the keys above it (one `# ` off each line), as a
    user would; optionally give the last key a new value."""
    lines = text.split("\n")
    start = lines.index(f"  {service}:")
    end = next(i for i in range(start + 1, len(lines)) if re.match(r"  [a-z]", lines[i]) or lines[i] == "")
    depth, wanted, done = 2, list(keys), []
    for index in range(start + 1, end):
        line = lines[index]
        match = re.fullmatch(r"    # (\s*)([A-Za-z0-9]+):(.*)", line)
        if not match or not wanted:
            continue
        indent = len(match.group(1)) // 2 + 2
        if indent == depth and match.group(2) == wanted[0]:
            rest = match.group(3) if (value is None or len(wanted) > 1) else f" {value}"
            lines[index] = f"    {match.group(1)}{match.group(2)}:{rest}"
            done.append(wanted.pop(0))
            depth += 1
    assert not wanted, f"{service}.{'.'.join(keys)} not found in the site file (found {done})"
    return "\n".join(lines)


@pytest.mark.parametrize("release", ["newton", "queens", "2025.1"])
def test_written_overlay_is_a_no_op(tmp_path: Path, release: str) -> None:
    site = init_site(tmp_path, release)
    data = YAML(typ="safe", pure=True).load(site.read_text())
    assert set(data) == {"global", "services"}
    # every service of the release is in it, with its enabled flag stated
    rows = json.loads(run_chartgen("services", "--release", release, "--format", "json", check=True).stdout)
    assert sorted(data["services"]) == sorted(row["service"] for row in rows)
    assert {name: spec["enabled"] for name, spec in data["services"].items()} == {row["service"]: row["enabled"] for row in rows}
    assert all(set(spec) == {"enabled"} for spec in data["services"].values())
    assert tree_bytes(build(tmp_path, "plain", release)) == tree_bytes(build(tmp_path, "site", release, site))


def test_every_knob_says_where_its_value_comes_from(tmp_path: Path) -> None:
    text = init_site(tmp_path, "queens").read_text()
    assert "#     replicas: 3" in text
    block = text[text.index("\n  galera:"):text.index("\n  memcached:")]
    assert re.search(r"From\s+#?\s*blueprints/galera\.yaml:\d+ \(blueprint\)\.", block)
    assert re.search(r"tag from\s+(#\s+)*values/queens\.yaml:\d+ \(release\)", block)
    # the horizon NodePort is offered with the value and the port's own description
    horizon = text[text.index("\n  horizon:"):]
    assert "#         nodePort: 30080" in horizon and "The dashboard over HTTP on every node" in horizon


def test_uncommenting_one_knob_changes_the_build_there(tmp_path: Path) -> None:
    site = init_site(tmp_path, "queens")
    changed = tmp_path / "changed.yaml"
    text = uncomment(site.read_text(), "galera", "components", "server", "replicas", value="5")
    text = uncomment(text, "keystone", "images", "keystone", "tag", value='"6.0.1"')
    changed.write_text(text)
    plain, site_chart = build(tmp_path, "plain", "queens"), build(tmp_path, "site", "queens", changed)
    values = YAML(typ="safe", pure=True).load((site_chart / "values.yaml").read_text())
    assert values["global"]["replicas"]["galera"] == 5
    keystone = YAML(typ="safe", pure=True).load((site_chart / "charts" / "keystone" / "values.yaml").read_text())
    assert keystone["images"]["keystone"]["tag"] == "6.0.1"
    before, after = tree_bytes(plain), tree_bytes(site_chart)
    differing = sorted(name for name in before if before[name] != after.get(name))
    # only where galera's replica count or keystone's image is read
    assert "values.yaml" in differing and "charts/keystone/values.yaml" in differing
    assert not [name for name in differing if name.startswith(("charts/glance/", "charts/horizon/templates/"))], differing


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("# mine\n")
    result = run_chartgen("init-site", "--out", str(site))
    assert result.code == 2 and "Traceback" not in result.stderr
    assert re.search(rf"^{re.escape(str(site))}:1:1: CG504 file exists", result.stderr, re.M)
    assert site.read_text() == "# mine\n"
    run_chartgen("init-site", "--out", str(site), "--force", check=True)
    assert site.read_text().startswith("# Site overlay for OpenStack queens")
