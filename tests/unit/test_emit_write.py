"""Render and write stages: YAML safe for Go's YAML 1.1 reader, atomic and byte-stable writes."""

import os
from pathlib import Path

from chartgen.emit import yaml_text
from chartgen.write import write_tree


def test_lookalike_strings_are_quoted_for_helm() -> None:
    text = yaml_text({"a": "yes", "b": "on", "c": "0755", "d": "plain", "e": "1.0", "f": "y", "g": "", "h": "a: b"})
    assert text == 'a: "yes"\nb: "on"\nc: "0755"\nd: plain\ne: "1.0"\nf: "y"\ng: ""\nh: "a: b"\n'


def test_nested_lists_and_maps() -> None:
    assert yaml_text({"l": [{"a": 1, "b": [True, None]}, []], "m": {}}) == "l:\n- a: 1\n  b:\n  - true\n  - null\n- []\nm: {}\n"


def test_write_replaces_the_tree_exactly(tmp_path: Path) -> None:
    out = tmp_path / "oaas"
    first = write_tree({"Chart.yaml": "a\n", "charts/x/values.yaml": "b\n"}, out)
    assert first.created == ("Chart.yaml", "charts/x/values.yaml")
    second = write_tree({"Chart.yaml": "a2\n", "README.md": "r\n"}, out)
    assert (second.created, second.updated, second.deleted) == (("README.md",), ("Chart.yaml",), ("charts/x/values.yaml",))
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == ["Chart.yaml", "README.md"]
    assert oct(os.stat(out / "README.md").st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["oaas"]  # no staging folders left behind


def test_unchanged_write_touches_nothing(tmp_path: Path) -> None:
    out = tmp_path / "oaas"
    write_tree({"a": "1\n"}, out)
    before = os.stat(out / "a").st_mtime_ns
    report = write_tree({"a": "1\n"}, out)
    assert not report.changed and os.stat(out / "a").st_mtime_ns == before
