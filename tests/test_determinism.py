"""Byte-stable output, a fresh committed chart, docs generated from the code."""

from pathlib import Path

from helpers import ROOT, run_chartgen, tree_bytes


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    for name in ("a", "b"):
        run_chartgen("build", "--release", "pike", "--out", str(tmp_path / name), "--quiet", check=True)
    first, second = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert first == second and len(first) > 50


def test_committed_chart_is_what_the_inputs_compile_to(tmp_path: Path) -> None:
    run_chartgen("build", "--release", "queens", "--out", str(tmp_path), "--quiet", check=True)
    fresh, committed = tree_bytes(tmp_path / "oaas"), tree_bytes(ROOT / "generated-charts" / "oaas")
    stale = sorted(set(fresh) ^ set(committed)) + sorted(name for name in fresh if name in committed and fresh[name] != committed[name])
    assert not stale, f"generated-charts/ is stale, run `make build` and commit: {stale[:10]}"


def test_docs_are_generated_from_the_code() -> None:
    from chartgen.docs import PAGES

    for name, page in PAGES.items():
        assert (ROOT / name).read_text(encoding="utf-8") == page(), f"{name} is stale: run `make docs`"


def test_output_has_no_timestamps_and_ends_in_lf(tmp_path: Path) -> None:
    run_chartgen("build", "--release", "queens", "--out", str(tmp_path), "--quiet", check=True)
    for name, data in tree_bytes(tmp_path / "oaas").items():
        assert b"\r" not in data and data.endswith(b"\n"), name
