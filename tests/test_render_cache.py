"""The render cache never changes the output: a build that takes subcharts from it is byte-identical
to one without any cache, and after an edit it renders only the subcharts the edit touched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chartgen.build import build
from chartgen.cache import RenderCache
from chartgen.config import BuildConfig
from helpers import ROOT, run_chartgen, tree_bytes


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for folder in ("blueprints", "values"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def compile_with(cache: RenderCache, project: Path, out: str) -> dict[str, str]:
    return build(BuildConfig(root=project, release="queens", out=project / out), render_cache=cache).files


def test_an_edit_renders_only_the_touched_subcharts_and_matches_a_build_without_cache(project: Path) -> None:
    cache = RenderCache("queens", project / "render.pickle")
    first = compile_with(cache, project, "a")
    assert cache.misses == len([name for name in first if name.endswith("/Chart.yaml") and name.count("/") == 2]) - 1  # all but the library
    cache.save()

    blueprint = project / "blueprints" / "memcached.yaml"
    text = blueprint.read_text()
    assert "requests: {cpu: 50m, memory: 96Mi}" in text
    blueprint.write_text(text.replace("requests: {cpu: 50m, memory: 96Mi}", "requests: {cpu: 50m, memory: 128Mi}"))
    cache = RenderCache("queens", project / "render.pickle")
    second = compile_with(cache, project, "b")
    assert cache.misses == 1, "only memcached's subchart was rendered again"
    changed = {name.split("/")[1] for name in second if second[name] != first.get(name) and name.startswith("charts/")}
    assert changed == {"memcached"}

    uncached = run_chartgen("build", "--release", "queens", "--out", str(project / "c"), "--quiet", "--no-cache", cwd=project, check=True)
    assert uncached.code == 0
    assert tree_bytes(project / "c" / "oaas") == {name: text.encode() for name, text in second.items()}


def test_a_corrupt_cache_file_only_costs_speed(project: Path) -> None:
    path = project / "render.pickle"
    path.write_bytes(b"not a pickle")
    cache = RenderCache("queens", path)
    files = compile_with(cache, project, "a")
    assert cache.misses > 10 and files
