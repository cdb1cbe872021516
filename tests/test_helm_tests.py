"""The `helm test` pods of the charts, read from `helm template` (real helm 3 and 4). Whether they
pass is proven on real pods (tests/realpods); here: that each is a test hook Helm cleans up, that it
runs the release's client image, and that no Service ever sends traffic to it."""

from __future__ import annotations

import pytest

from helpers import RELEASES
from helmrender import built, objects

pytestmark = pytest.mark.tools

# Which service proves what (issue: keystone token and catalog, glance image round trip, placement
# providers, nova services and flavors, neutron network round trip, horizon's login page).
EXPECTED = {
    "keystone": "oaas-keystone-test-api",
    "glance": "oaas-glance-test-api",
    "nova": "oaas-nova-test-api",
    "neutron": "oaas-neutron-test-api",
    "horizon": "oaas-horizon-test-login",
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("charts"))


def hook_pods(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Pod" and d["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"}


@pytest.mark.parametrize("major", [3, 4])
@pytest.mark.parametrize("release", RELEASES)
def test_every_api_service_has_a_test_hook_helm_cleans_up(scratch: str, release: str, major: int) -> None:
    docs = objects(built(release, scratch), major=major)
    pods = hook_pods(docs)
    expected = set(EXPECTED.values()) | ({"oaas-placement-test-api"} if RELEASES.index(release) >= RELEASES.index("stein") else set())
    assert expected <= set(pods), sorted(pods)
    for name, pod in pods.items():
        annotations = pod["metadata"]["annotations"]
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded", name
        spec = pod["spec"]
        assert spec["restartPolicy"] == "Never" and spec["activeDeadlineSeconds"] >= 30, name
        assert spec["automountServiceAccountToken"] is False, name
        assert "/kolla-toolbox" in spec["containers"][0]["image"] or "-kolla-toolbox" in spec["containers"][0]["image"], name


def test_no_service_selects_a_test_pod(scratch: str) -> None:
    docs = objects(built("2025.1", scratch))
    pods = hook_pods(docs)
    for service in (d for d in docs if d["kind"] == "Service"):
        selector = service["spec"].get("selector", {})
        for name, pod in pods.items():
            labels = pod["metadata"]["labels"]
            assert not selector.items() <= labels.items(), f"Service {service['metadata']['name']} selects the test pod {name}"


def test_test_image_is_a_global_setting(scratch: str) -> None:
    docs = objects(built("queens", scratch), "--set", "global.testImage.repository=example.org/client", "--set-string", "global.testImage.tag=1")
    images = {pod["spec"]["containers"][0]["image"] for pod in hook_pods(docs).values()}
    assert images == {"example.org/client:1"}
