"""Stage 3: layering rules, directives and provenance, with property tests of the merge laws."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chartgen.emit import yaml_text
from chartgen.load import load_text
from chartgen.merge import Patch, merge


def layered(*layers: tuple[str, Any]) -> tuple[dict, dict, list]:
    patches = [Patch(name, load_text(yaml_text({"x": data}), f"{name}.yaml"), ("x",), ("x",)) for name, data in layers]
    merged, problems = merge(patches)
    return merged.tree.get("x"), merged.history, problems


def test_maps_merge_scalars_override_lists_replace() -> None:
    tree, _, problems = layered(("base", {"a": {"b": 1, "c": 2}, "l": [1, 2]}), ("top", {"a": {"b": 9}, "l": [3]}))
    assert problems == []
    assert tree == {"a": {"b": 9, "c": 2}, "l": [3]}


def test_directives() -> None:
    base = {"keep": 1, "gone": 2, "m": {"x": 1}, "l": [2], "items": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]}
    top = {
        "gone": {"$delete": True},
        "m": {"$replace": {"y": 2}},
        "l": {"$append": [3], "$prepend": [1]},
        "items": {"$mergeBy": "name", "$items": [{"name": "b", "v": 20}, {"name": "c", "v": 3}, {"name": "a", "$delete": True}]},
    }
    tree, _, problems = layered(("base", base), ("top", top))
    assert problems == []
    assert tree == {"keep": 1, "m": {"y": 2}, "l": [1, 2, 3], "items": [{"name": "b", "v": 20}, {"name": "c", "v": 3}]}


def test_a_refused_new_item_of_a_keyed_merge_is_left_out_and_the_merge_goes_on() -> None:
    # A $delete that is not `true` beside a key: refused (CG301), and the next item with the same
    # name is still matched against a list of items only (hypothesis found it crashing the merge).
    tree, _, problems = layered(("top", {"items": {"$mergeBy": "name", "$items": [{"name": "a", "$delete": False}, {"name": "a", "v": 1}]}}))
    assert [(p.code, p.file, p.line) for p in problems] == [("CG301", "top.yaml", 4)]
    assert tree == {"items": [{"name": "a", "v": 1}]}


def test_provenance_lists_every_setting_in_order() -> None:
    _, history, _ = layered(("blueprint", {"port": 35357}), ("release", {"port": 5000}), ("site", {"port": 5001}))
    settings_ = history[("x", "port")]
    assert [(s.origin.layer, s.value, s.origin.line) for s in settings_] == [("blueprint", 35357, 2), ("release", 5000, 2), ("site", 5001, 2)]


def test_deleting_a_missing_key_is_an_error_at_its_key() -> None:
    _, _, problems = layered(("base", {"a": 1}), ("top", {"b": {"$delete": True}}))
    assert [(p.code, p.file, p.line, p.col) for p in problems] == [("CG302", "top.yaml", 2, 3)]


def test_no_null_survives_a_deletion() -> None:
    tree, _, _ = layered(("base", {"a": {"b": 1}}), ("top", {"a": {"b": {"$delete": True}}}))
    assert tree == {"a": {}}


# --- merge laws -------------------------------------------------------------------------------------
keys = st.sampled_from(["a", "b", "c", "d"])
scalars = st.one_of(st.integers(-5, 5), st.booleans(), st.sampled_from(["s", "t", "u"]))
trees = st.recursive(scalars | st.lists(scalars, max_size=3), lambda inner: st.dictionaries(keys, inner, min_size=1, max_size=3), max_leaves=12)
maps = st.dictionaries(keys, trees, min_size=1, max_size=4)


def reference_merge(base: Any, top: Any) -> Any:
    """The documented rule, written independently: maps deep-merge, anything else replaces."""
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for key, value in top.items():
            out[key] = reference_merge(base[key], value) if key in base else value
        return out
    return top


@settings(max_examples=150, deadline=None)
@given(maps, maps)
def test_merge_matches_the_documented_rule(base: dict, top: dict) -> None:
    tree, _, problems = layered(("base", base), ("top", top))
    assert problems == []
    assert tree == reference_merge(base, top)


@settings(max_examples=100, deadline=None)
@given(maps, maps)
def test_merge_is_idempotent(base: dict, top: dict) -> None:
    once, _, _ = layered(("base", base), ("top", top))
    twice, _, _ = layered(("base", base), ("top", top), ("again", top))
    assert once == twice


# Associativity holds when no layer changes the type of a value (a scalar replacing a map erases
# what lay below, so order matters then): here keys a and b always hold maps, c and d leaves.
leaves = scalars | st.lists(scalars, max_size=3)
typed_maps = st.recursive(
    st.fixed_dictionaries({}, optional={"c": leaves, "d": leaves}),
    lambda inner: st.fixed_dictionaries({}, optional={"a": inner, "b": inner, "c": leaves, "d": leaves}),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None)
@given(typed_maps, typed_maps, typed_maps)
def test_merge_is_associative(a: dict, b: dict, c: dict) -> None:
    left, _, _ = layered(("a", a), ("b", b), ("c", c))
    bc, _, _ = layered(("b", b), ("c", c))
    right, _, _ = layered(("a", a), ("bc", bc))
    assert left == right


@settings(max_examples=100, deadline=None)
@given(maps, maps)
def test_every_leaf_is_attributed_to_the_last_layer_that_wrote_it(base: dict, top: dict) -> None:
    tree, history, _ = layered(("base", base), ("top", top))

    def leaves(node: Any, path: tuple) -> list[tuple]:
        if isinstance(node, dict):
            return [leaf for key, value in node.items() for leaf in leaves(value, path + (key,))]
        return [path]

    def written_by_top(path: tuple) -> bool:
        node: Any = top
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    for path in leaves(tree, ()):
        last = history[("x",) + path][-1]
        assert last.origin.layer == ("top" if written_by_top(path) else "base"), path
