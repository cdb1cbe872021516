"""Fuzzing the load and merge stages in process (hypothesis): whatever the bytes or the tree, the
result is a Document (or a merged tree) or positioned diagnostics with registered codes, never
another exception, and never slow. tests/test_bad_input.py runs fuzzed files through the real CLI.
"""

from __future__ import annotations

import json
import math
import signal
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartgen.config import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES
from chartgen.diagnostics import CODES, ChartgenError
from chartgen.emit import yaml_text
from chartgen.load import Document, load_file, load_text
from chartgen.merge import DIRECTIVES, Patch, merge
from helpers import alias_bomb

SECONDS = 5.0  # per example; every example here takes milliseconds


@contextmanager
def time_limit(seconds: float = SECONDS) -> Iterator[None]:
    """Interrupt the body after `seconds` (SIGALRM: pytest runs tests in the main thread)."""

    def expire(_signum: int, _frame: Any) -> None:
        raise AssertionError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_or_diagnose(text: str) -> Document | None:
    """Load `text`; bad input must come back as positioned diagnostics with registered codes."""
    try:
        with time_limit():
            return load_text(text, "f.yaml")
    except ChartgenError as error:
        assert error.diagnostics
        for found in error.diagnostics:
            assert found.code in CODES and found.file == "f.yaml" and found.line >= 1 and found.col >= 1, found
        return None


# --- arbitrary bytes and YAML-like text ------------------------------------------------------------
TOKENS = ["a", "b", "0", "1.5", "yes", "~", "null", " ", "  ", "\n", "\t", ":", ": ", "- ", "-", ",", "[", "]",
          "{", "}", "?", "&x ", "*x", "&y ", "*y ", "!", "!!str ", "!t ", "<<: ", "|", ">", "'", '"', "#", "%YAML 1.1\n",
          "---\n", "...\n", "\\", "\x00", "\x07", "\x85", "\ufeff", "é", "😀", "$delete", "$(X)", "${host:a.b}"]
yaml_like = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(yaml_like)
def test_yaml_like_text_loads_or_is_diagnosed(text: str) -> None:
    load_or_diagnose(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_load_or_are_diagnosed(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(raw)
    try:
        with time_limit():
            load_file(path, "f.yaml")
    except ChartgenError as error:
        assert all(found.code in CODES for found in error.diagnostics)


# --- arbitrary trees -------------------------------------------------------------------------------
keys = st.one_of(st.sampled_from(["a", "b", "yes", "", "<<", "1", "name", "$delete", "a b", "é"]), st.text(max_size=6))


def documents(floats: st.SearchStrategy) -> st.SearchStrategy:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), floats, st.text(max_size=12),
                        st.sampled_from(["yes", "0755", "1:30", "~", "null", "&a", "*a", "- x", "a: b", "$(X)", "\n"]))
    trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=30)
    return st.dictionaries(keys, trees, min_size=1, max_size=4)

def same(left: Any, right: Any) -> bool:
    """Equal data, NaN included."""
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    return type(left) is type(right) and left == right


def has_null(tree: Any) -> bool:
    if isinstance(tree, dict):
        return any(has_null(value) for value in tree.values())
    if isinstance(tree, list):
        return any(has_null(value) for value in tree)
    return tree is None


def json_as_yaml(tree: dict) -> str:
    """JSON that YAML reads as JSON does: characters YAML does not allow raw (C1 controls, line and
    paragraph separators, BOM) are escaped, and no surrogate pair is (libyaml refuses those)."""
    text = json.dumps(tree, ensure_ascii=False)
    return "".join(f"\\u{ord(c):04x}" if ("\x7f" <= c <= "\x9f" or c in "\u2028\u2029\ufeff\ufffe\uffff") else c for c in text)


@settings(max_examples=150, deadline=None)
@given(documents(st.floats(allow_nan=False, allow_infinity=False)))  # JSON has no NaN nor infinity
def test_json_is_yaml_every_document_without_null_loads_as_itself(tree: dict) -> None:
    doc = load_or_diagnose(json_as_yaml(tree))
    if has_null(tree):
        assert doc is None  # CG104: a null is never silently kept
    else:
        assert doc is not None and same(doc.data, tree)


@settings(max_examples=150, deadline=None)
@given(documents(st.floats()))
def test_block_yaml_of_the_emitter_loads_as_itself(tree: dict) -> None:
    doc = load_or_diagnose(yaml_text(tree))
    if not has_null(tree):
        assert doc is not None and same(doc.data, tree)


# --- the limits --------------------------------------------------------------------------------------
def nested(depth: int) -> str:
    return "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"  # the root map, then depth-1 lists


def test_nesting_up_to_the_limit_loads_and_one_more_is_refused() -> None:
    assert load_text(nested(MAX_DEPTH), "f.yaml")
    with pytest.raises(ChartgenError) as caught:
        load_text(nested(MAX_DEPTH + 1), "f.yaml")
    assert [d.parsable() for d in caught.value.diagnostics] == [  # at the list holding the list too deep
        f"f.yaml:1:{2 + MAX_DEPTH}: CG110 nested deeper than {MAX_DEPTH} levels, the limit of one input file"]


def test_nesting_that_overflowed_the_c_stack_is_refused_at_once() -> None:
    start = time.perf_counter()
    with pytest.raises(ChartgenError, match="CG110"):
        load_text(nested(200_000), "f.yaml")  # 400 KB: it crashed the C composer (SIGSEGV) before
    assert time.perf_counter() - start < 1


def flat(items: int) -> str:
    return "a: [" + ",".join(["1"] * items) + "]\n"


def test_nodes_up_to_the_limit_load_and_one_more_is_refused() -> None:
    assert load_text(flat(MAX_NODES - 3), "f.yaml")  # the root map, its key a, the list, the items
    start = time.perf_counter()
    with pytest.raises(ChartgenError) as caught:
        load_text(flat(MAX_NODES - 2), "f.yaml")
    assert time.perf_counter() - start < 1
    assert [d.parsable() for d in caught.value.diagnostics] == [
        f"f.yaml:1:4: CG111 more than {MAX_NODES} YAML nodes (keys, values and items), the limit of one input file: split it"]


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    at_limit, huge = tmp_path / "at-limit.yaml", tmp_path / "huge.yaml"
    at_limit.write_text("a: |\n" + "  x\n" * ((MAX_FILE_BYTES - 5) // 4), encoding="utf-8")
    assert at_limit.stat().st_size <= MAX_FILE_BYTES and load_file(at_limit)
    with huge.open("wb") as stream:
        stream.truncate(2 * 1024**3)  # 2 GiB, sparse: reading it would take seconds and gigabytes
    start = time.perf_counter()
    with pytest.raises(ChartgenError) as caught:
        load_file(huge, "huge.yaml")
    assert time.perf_counter() - start < 1
    assert [d.parsable() for d in caught.value.diagnostics] == [
        "huge.yaml:1:1: CG109 file is larger than 1024 KiB, the limit of one input file: split it"]


def test_the_alias_bomb_is_refused_in_well_under_a_second() -> None:
    text = alias_bomb()
    assert len(text) < 500
    start = time.perf_counter()
    with pytest.raises(ChartgenError) as caught:
        with time_limit():
            load_text(text, "bomb.yaml")
    assert time.perf_counter() - start < 1
    assert [d.parsable() for d in caught.value.diagnostics] == [
        "bomb.yaml:2:10: CG108 alias *a0 repeats the value anchored at line 1, column 5: "
        "anchors and aliases are not supported; write the value out"]


# --- merge on arbitrary layers -----------------------------------------------------------------------
merge_keys = st.sampled_from(["a", "b", "name", *DIRECTIVES])
merge_scalars = st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from(["a", "b", "name", "$delete"]))


def named(inner: st.SearchStrategy) -> st.SearchStrategy:
    """A list item that $mergeBy name can match (or nearly)."""
    return st.fixed_dictionaries({"name": inner}, optional={"a": inner, "$delete": st.just(True) | inner})


def directive(inner: st.SearchStrategy) -> st.SearchStrategy:
    """Each directive, well or badly formed."""
    return st.one_of(
        st.fixed_dictionaries({"$delete": st.just(True) | inner}),
        st.fixed_dictionaries({"$replace": inner}),
        st.fixed_dictionaries({}, optional={"$append": inner, "$prepend": inner, "a": inner}),
        st.fixed_dictionaries({"$mergeBy": st.just("name") | inner, "$items": st.lists(named(inner), max_size=3) | inner}),
    )


merge_trees = st.recursive(
    merge_scalars,
    lambda inner: st.lists(inner | named(inner), max_size=3) | st.dictionaries(merge_keys, inner, max_size=3) | directive(inner),
    max_leaves=16,
)
layers = st.lists(st.dictionaries(merge_keys, merge_trees, min_size=1, max_size=3), min_size=1, max_size=4)


@settings(max_examples=250, deadline=None)
@given(layers)
def test_merge_of_arbitrary_layers_returns_a_tree_or_diagnostics(data: list[dict]) -> None:
    patches = [Patch(f"layer{index}", load_text(yaml_text({"x": layer}), f"layer{index}.yaml"), ("x",), ("x",))
               for index, layer in enumerate(data)]
    with time_limit():
        merged, problems = merge(patches)
    for found in problems:
        assert found.code in CODES and found.file.startswith("layer") and found.line >= 1, found
    if not problems:
        assert not has_null(merged.tree), "a null reached the merged tree without a diagnostic"
