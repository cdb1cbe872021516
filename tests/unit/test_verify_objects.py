"""kubeconform gets each distinct object of the lint's renderings once, in the file of the first
rendering that holds it."""

from pathlib import Path

from chartgen.verify import _unique_objects

SHARED = "\n# Source: oaas/charts/keystone/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
DEFAULT = "\n# Source: oaas/charts/galera/templates/server/statefulset.yaml\nkind: StatefulSet\nspec:\n  replicas: 3\n"
SCALED = DEFAULT.replace("replicas: 3", "replicas: 5")


def test_each_distinct_object_once_in_the_first_rendering_holding_it(tmp_path: Path) -> None:
    rendered = [("oaas/ci/default-values.yaml", f"---{SHARED}---{DEFAULT}"),
                ("galera/ci/scaled-values.yaml", f"---{SHARED}---{SCALED}"),
                ("keystone/ci/default-values.yaml", f"---{SHARED}---{DEFAULT}")]
    files, objects, unique = _unique_objects(rendered, tmp_path)
    assert (objects, unique) == (6, 3)
    assert [Path(f).name for f in files] == ["rendered-oaas-ci-default-values.yaml", "rendered-galera-ci-scaled-values.yaml"]
    first, second = (Path(f).read_text() for f in files)
    assert first.count("kind: Service") == 1 and "replicas: 3" in first
    assert "kind: Service" not in second and "replicas: 5" in second
