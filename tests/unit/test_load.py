"""Stage 1: positions of keys and values, and the YAML that is refused."""

import pytest

from chartgen.diagnostics import ChartgenError
from chartgen.load import load_text


def codes(text: str) -> list[str]:
    with pytest.raises(ChartgenError) as caught:
        load_text(text, "f.yaml")
    return [d.parsable() for d in caught.value.diagnostics]


def test_values_and_keys_keep_their_positions() -> None:
    doc = load_text("a: 1\nb:\n  c: [x, 2.5, true]\n", "f.yaml")
    assert doc.data == {"a": 1, "b": {"c": ["x", 2.5, True]}}
    assert doc.position(("b", "c", 1)) == (3, 10)
    assert doc.position(("b", "c"), key=True) == (3, 3)
    assert doc.position(("b", "missing", "deeper")) == (3, 3)  # the value of the nearest ancestor, b


def test_quoted_lookalikes_are_strings() -> None:
    assert load_text('a: "yes"\nb: "0755"\nc: "1:30"\n', "f.yaml").data == {"a": "yes", "b": "0755", "c": "1:30"}


@pytest.mark.parametrize("text, expected", [
    ("a: on\n", "f.yaml:1:4: CG103"),
    ("a: n\n", "f.yaml:1:4: CG103"),
    ("a: 010\n", "f.yaml:1:4: CG103"),
    ("a: 1:30\n", "f.yaml:1:4: CG103"),
    ("a: ~\n", "f.yaml:1:4: CG104"),
    ("a:\n", "f.yaml:1:1: CG104"),
    ("a: 1\na: 2\n", "f.yaml:2:1: CG102"),
    ("a: !custom 1\n", "f.yaml:1:4: CG105"),
    ("1: a\n", "f.yaml:1:1: CG105"),
    ("- a\n", "f.yaml:1:1: CG106"),
    ("a: [1\n", "f.yaml:2:1: CG101"),
])
def test_refused(text: str, expected: str) -> None:
    assert any(line.startswith(expected) for line in codes(text))


def test_every_problem_of_a_file_is_reported_together() -> None:
    found = codes("a: yes\nb: ~\nc: 1\nc: 2\n")
    assert [line.split(": ")[1].split()[0] for line in found] == ["CG103", "CG104", "CG102"]
