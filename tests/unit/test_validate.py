"""Stage 2: schema errors are mapped to the position of the offending key or value, with a stable code."""

from chartgen.load import load_text
from chartgen.validate import document_locator, validate

BLUEPRINT = """service: demo
description: a demo service
images:
  main: {repository: docker.io/library/busybox, tag: "1.37.0", source: test}
components:
  web:
    kind: Deployment
    replicas: 1
    image: main
    probes: {readiness: {tcpSocket: http}, liveness: {tcpSocket: http}}
    resources: {requests: {cpu: 10m}}
    nodeRole: controller
"""


def problems(text: str) -> list[str]:
    doc = load_text(text, "b.yaml")
    return [d.parsable() for d in validate(doc.data, "blueprint", document_locator(doc))]


def test_a_valid_blueprint_passes() -> None:
    assert problems(BLUEPRINT) == []


def test_unknown_key_points_at_the_key_and_suggests() -> None:
    found = problems(BLUEPRINT.replace("    nodeRole: controller\n", "    nodeRole: controller\n    imgae: main\n"))
    assert found == ["b.yaml:13:5: CG202 components.web.imgae: unknown key 'imgae' (did you mean 'image'?)"]


def test_wrong_type_points_at_the_value() -> None:
    assert problems(BLUEPRINT.replace("replicas: 1", "replicas: one")) == [
        "b.yaml:8:15: CG201 components.web.replicas: expected integer, got string 'one'"]


def test_bad_key_name_is_reported_at_the_key() -> None:
    found = problems(BLUEPRINT.replace("  web:\n", "  Web_1:\n"))
    assert found and found[0].startswith("b.yaml:6:3: CG204 components.Web_1: key 'Web_1' is not allowed here")


def test_daemonset_may_not_have_replicas() -> None:
    found = problems(BLUEPRINT.replace("kind: Deployment", "kind: DaemonSet"))
    assert any(": CG209 " in line or ": CG204 " in line for line in found), found


def test_the_fast_verdict_agrees_with_jsonschema_on_the_catalog_and_broken_copies() -> None:
    """jsonschema-rs says yes or no; jsonschema explains. They must never disagree, or a broken
    document would pass unexplained (or a good one fail with no message)."""
    import copy
    from pathlib import Path

    from chartgen.validate import _fast_validator, _validator

    root = Path(__file__).resolve().parents[2]
    documents = [("blueprint", load_text(p.read_text(), p.name).data) for p in sorted((root / "blueprints").glob("*.yaml"))]
    documents += [("overlay", load_text(p.read_text(), p.name).data) for p in sorted((root / "values").glob("*.yaml"))]
    broken = []
    for kind, data in documents:
        for key in list(data)[:4]:  # each top key given a wrong type, and an unknown key added
            wrong = copy.deepcopy(data)
            wrong[key] = [1] if not isinstance(data[key], list) else {"x": 1}
            broken.append((kind, wrong))
        broken.append((kind, {**data, "unknownKey": 1}))
    for kind, data in documents + broken:
        assert _fast_validator(kind).is_valid(data) == _validator(kind).is_valid(data), (kind, sorted(data))
    assert sum(not _validator(kind).is_valid(data) for kind, data in broken) >= len(documents)
