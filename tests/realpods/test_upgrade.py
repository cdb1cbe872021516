"""OpenStack upgrades with real database migrations, on real pods: keystone and glance (keystone
alone with CHARTGEN_UPGRADE_GLANCE=0) 2025.1 -> 2025.2 -> 2026.1 one release at a time (Helm 4; glance
joins that installation by an upgrade on 2025.1), and the SLURP hop 2025.1 -> 2026.1 on a second
installation (Helm 3).

Each hop is `helm upgrade` to the chart chartgen builds for the next release, with the stand-in
keystone and glance-api images built for it (images/releases/<release>.yaml); the database, the bus
and the cache keep the 2025.1 stand-ins (Debian has neither MariaDB 11.4 nor RabbitMQ 4.1, which
Kolla ships from 2025.2 on). The release's upgrade Jobs run as Helm hooks: RabbitMQ's feature flags,
keystone's `db_sync --expand` and `--migrate` and glance's `db expand` and `db migrate` before the
pods roll, the contracts after. After each hop the schemas hold the new release's migrations (read
in the database), every keystone and glance pod runs the new image, the user created on 2025.1
still gets a token, the image uploaded on 2025.1 is still there and `helm test` passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import images  # noqa: E402
import installs  # noqa: E402
from cluster import REPO, RealCluster  # noqa: E402
from deployment import INSTALL_TIMEOUT, TEST_TIMEOUT, VOLUMES, CLIENT_VALUES, OpenStack, run_step, unready  # noqa: E402
from summary import REPORT  # noqa: E402

pytestmark = [pytest.mark.realpods, pytest.mark.steps]

# keystone's alembic revisions at the pinned versions (images/releases/<release>.yaml), read in
# keystone/common/sql/ at its tags 27.0.2, 28.0.2 and 29.0.2; the contract head stays at bobcat's
# c88cdce8f248. Keystone 28 ships the 2025.2 expand migration e8725d6fa226 (an index on
# project_endpoint_group.project_id) in versions/2025.02/, a folder its upgrades.py RELEASES does
# not list, so its db_sync never applies it (the first run of this test found the schema unchanged
# after the 2025.2 hop); keystone 29 lists the folders ("Apply sql db expand from 2025.02") and
# applies it with 2026.1's own 742c857f1dfb (two indexes on revocation_event).
SCHEMA = {
    "2025.1": {"revisions": {"47147121", "c88cdce8f248"}, "indexes": set()},
    "2025.2": {"revisions": {"47147121", "c88cdce8f248"}, "indexes": set()},
    "2026.1": {"revisions": {"742c857f1dfb", "c88cdce8f248"},
               "indexes": {("project_endpoint_group", "idx_project_id"), ("revocation_event", "ix_revocation_event_composite")}},
}
# Glance 30.2.0, 31.1.0 and 32.0.0 add no migration (glance/db/sqlalchemy/alembic_migrations/versions/
# at those tags; db/migration.py's CURRENT_RELEASE moves): its Jobs must run and leave the schema as
# it was. alembic_version holds one row, 2024_1_contract01: it depends on 2024_1_expand01, so the
# expand head is no head of its own once the contract is applied (as the first real run showed).
GLANCE_REVISIONS = {"2024_1_contract01"}
IDENTITY = "tests/realpods/scope-identity.yaml"
# glance is in both chains: an image seeded on 2025.1 must survive each hop (on two cores a hop
# with glance took 86-91 s on 2026-12-01, about 200 s before ks-register bounded its requests);
# CHARTGEN_UPGRADE_GLANCE=0 walks the chains with keystone alone.
WITH_GLANCE = os.environ.get("CHARTGEN_UPGRADE_GLANCE", "1") != "0"
# The services each hop moves to the release's stand-in (image key of values, recipe in images/).
UPGRADED = {"keystone": ("keystone", "keystone"), **({"glance": ("glanceApi", "glance-api")} if WITH_GLANCE else {})}


def release_overlay(folder: Path, release: str) -> Path:
    """The site overlay that runs the keystone and glance stand-ins of `release` (glance enabled
    over the identity scope; the other services keep 2025.1's)."""
    path = folder / f"upgraded-{release}.yaml"
    services = {service: {"images": {key: {"repository": f"localhost/chartgen/{recipe}", "tag": release, "pullPolicy": "Never",
                                            "source": f"images/{recipe}.yaml"}}} for service, (key, recipe) in UPGRADED.items()}
    if WITH_GLANCE:
        services["glance"]["enabled"] = True
    path.write_text(json.dumps({"services": services}))
    return path


class Chain:
    """One installation walked through releases, and what each hop showed."""

    def __init__(self, cluster: RealCluster, folder: Path, releases: tuple[str, ...], namespace: str):
        self.cluster, self.releases = cluster, releases
        self.charts = {release: installs.build_chart(folder / release, IDENTITY, release_overlay(folder, release), release=release)
                       for release in releases}
        self.openstack = OpenStack(cluster, self.charts[releases[0]], namespace)

    def schema(self) -> dict[str, set]:
        revisions = {row[0] for row in self.openstack.sql("SELECT version_num FROM keystone.alembic_version")}
        indexes = {(row[0], row[1]) for row in self.openstack.sql(
            "SELECT DISTINCT table_name, index_name FROM information_schema.statistics WHERE table_schema = 'keystone'")}
        glance = {row[0] for row in self.openstack.sql("SELECT version_num FROM glance.alembic_version")} if WITH_GLANCE else set()
        return {"revisions": revisions, "indexes": indexes, "glance": glance}

    def assert_schema_of(self, release: str) -> None:
        found = self.schema()
        assert found["revisions"] == SCHEMA[release]["revisions"], (release, found["revisions"])
        later = set().union(*(SCHEMA[r]["indexes"] for r in SCHEMA)) - SCHEMA[release]["indexes"]
        assert SCHEMA[release]["indexes"] <= found["indexes"] and not later & found["indexes"], (release, found["indexes"])
        assert found["glance"] == (GLANCE_REVISIONS if WITH_GLANCE else set()), (release, found["glance"])

    def api_images(self) -> set[str]:
        """The images of every keystone and glance API pod."""
        return {container["image"] for pod in self.openstack.pods()
                if pod["metadata"]["name"].startswith(("oaas-keystone-api-", "oaas-glance-api-"))
                for container in pod["spec"]["containers"]}

    def untouched_pods(self) -> dict[str, tuple[str, int]]:
        """The uid and restarts of every long-running pod but keystone's and glance's: the hops change them alone."""
        return self.openstack.long_running_pods(but=("oaas-keystone-", "oaas-glance-"))

    def upgrade(self, release: str, major: int) -> None:
        before = self.releases[self.releases.index(release) - 1]
        untouched = self.untouched_pods()
        plan = subprocess.run([sys.executable, "-m", "chartgen", "upgrade-path", "--from", before, "--to", release],
                              capture_output=True, text=True, cwd=REPO, timeout=60)
        assert plan.returncode == 0 and "1 hop" in plan.stdout, plan.stdout + plan.stderr  # a supported hop
        self.openstack.chart = self.charts[release]
        began = time.monotonic()
        run_step(self.openstack, f"helm {major} upgrade {before} -> {release} (upgrade hooks, pods rolled)",
                 lambda: self.openstack.helm(major, "upgrade", "oaas", str(self.charts[release]), "-f", CLIENT_VALUES,
                                             "--wait", "--wait-for-jobs", "--timeout", INSTALL_TIMEOUT))
        wanted = {f"localhost/chartgen/{recipe}:{release}" for _, recipe in UPGRADED.values()}
        upgraded = " and ".join(UPGRADED)
        run_step(self.openstack, f"every {upgraded} pod on the {release} image", lambda: self.cluster.wait_for(
            f"every {upgraded} pod running {sorted(wanted)}", lambda: self.api_images() == wanted, timeout=300))
        seconds = self.openstack.wait_for_user(f"after the upgrade to {release}")
        REPORT.append(f"{before} -> {release}: user token back {seconds:.0f}s after the upgrade, "
                      f"{time.monotonic() - began:.0f}s from its start")
        self.assert_schema_of(release)
        # The database, the bus and the cache keep their image and files: a release upgrade leaves
        # their pods alone (their checksum/config hashes the files, not the release in the labels).
        after = self.untouched_pods()
        assert untouched and after == untouched, (untouched, after)
        run_step(self.openstack, f"helm {major} test on {release}",
                 lambda: self.openstack.helm(major, "test", "oaas", "--timeout", TEST_TIMEOUT))


@pytest.fixture(scope="class")
def chain(request: pytest.FixtureRequest, real_cluster: RealCluster, busybox: str, standin_images: dict[str, str],
          tmp_path_factory: pytest.TempPathFactory):
    releases = request.cls.RELEASES
    for release in releases:
        # 2025.1's keystone came with the session's images; glance is not in the identity scope.
        recipes = tuple(recipe for service, (_, recipe) in UPGRADED.items() if release != releases[0] or service != "keystone")
        try:
            archives = images.standin_archives(release, recipes)
        except images.ImageError as err:
            pytest.fail(f"{release}: {err}", pytrace=False)
        for archive, image in archives:
            real_cluster.import_image(archive, image)
    with installs.release_namespace(real_cluster, "upgrade", VOLUMES) as namespace:
        yield Chain(real_cluster, tmp_path_factory.mktemp("upgrade-charts"), releases, namespace)


class TestOneReleaseAtATime:
    """With glance, this installation starts without it: an upgrade enables it on 2025.1 (its hooks
    make the database and run the full sync its expand replaces, see test_openstack.py), so the path
    of a service an upgrade adds runs in every scope, then the image is seeded."""
    RELEASES = ("2025.1", "2025.2", "2026.1")

    def test_install_2025_1_and_seed_a_user_and_with_glance_an_image(self, chain: Chain) -> None:
        chain.openstack.install(4, *(("--set", "glance.enabled=false") if WITH_GLANCE else ()))
        chain.openstack.seed()
        if WITH_GLANCE:
            run_step(chain.openstack, "helm 4 upgrade enabling glance on 2025.1", lambda: chain.openstack.helm(
                4, "upgrade", "oaas", str(chain.charts["2025.1"]), "-f", CLIENT_VALUES,
                "--wait", "--wait-for-jobs", "--timeout", INSTALL_TIMEOUT))
            run_step(chain.openstack, "every pod Ready by its own probe after enabling glance", lambda: chain.cluster.wait_for(
                "every pod Running and Ready after enabling glance", lambda: not unready(chain.openstack.pods()), timeout=300))
            chain.openstack.seed_image()
            chain.openstack.wait_for_user("after enabling glance", timeout=300)
        chain.assert_schema_of("2025.1")

    def test_upgrade_to_2025_2(self, chain: Chain) -> None:
        chain.upgrade("2025.2", major=4)

    def test_upgrade_to_2026_1(self, chain: Chain) -> None:
        chain.upgrade("2026.1", major=4)


class TestSlurp:
    """2025.1 and 2026.1 are SLURP releases: one hop skips 2025.2, and runs both its migrations."""
    RELEASES = ("2025.1", "2026.1")

    def test_install_2025_1_and_seed_a_user_and_with_glance_an_image(self, chain: Chain) -> None:
        chain.openstack.install(major=3)
        chain.openstack.seed()

    def test_slurp_upgrade_to_2026_1(self, chain: Chain) -> None:
        chain.upgrade("2026.1", major=3)
