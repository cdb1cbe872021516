"""The kolla-layout stand-in images (images/*.yaml, built by `make images`) hold kolla's users and
really run their programs.

Each image's OCI tar is unpacked with umoci; then every `verify` command of its recipe and of the
recipes it builds on runs in a chroot of that rootfs, inside private mount and pid namespaces
(and a private network namespace where a command starts a server), as the image's default user
with the image's environment, the way a container would start it, plus the release file's pins as
CHARTGEN_PIN_<PROJECT> (keystone: CHARTGEN_PIN_KEYSTONE), so a check compares what the image
installed with the release's pin without repeating it. The images tested are those
CHARTGEN_IMAGES names (and the bases they need), else every recipe of the release.

Marked `images` and run only when asked for (`make images-test`, or `pytest -m images`): it needs
root and the tars of `make images`. An image that is not built (or was built from other recipes)
fails with the command that builds it; nothing is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

pytestmark = pytest.mark.images

RELEASE = os.environ.get("CHARTGEN_IMAGES_RELEASE", "2025.1")
# The images tested (and the bases they need): CHARTGEN_IMAGES names them (make images-test sets
# UPGRADE_IMAGES for the upgrade test's releases); unset, every recipe.
NAMES = os.environ.get("CHARTGEN_IMAGES", "").split()
VERIFY_TIMEOUT = 300   # seconds for one verify command (a broker or database start included)


def load_builder():
    spec = importlib.util.spec_from_file_location("build_images", ROOT / "tools" / "build_images.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_images"] = module   # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


builder = load_builder()
release = builder.load_release(RELEASE)
recipes = builder.load_recipes(release.name)
IMAGES = {t.name: t for t in builder.plan(recipes, release, NAMES, builder.tool_versions()) if not t.recipe.abstract}
PIN_VARIABLES = {"CHARTGEN_PIN_" + re.sub(r"[^A-Z0-9]+", "_", name.upper()): version
                 for name, version in release.pins.items()}


def built_tar(name: str) -> Path:
    tar = builder.tar_path(IMAGES[name], release)
    if not tar.is_file():
        pytest.fail(f"image {name} for {RELEASE} is not built from the current recipes (no {tar}): "
                    f"run `make images` (tools/build_images.py --release {RELEASE})")
    return tar


def unpack(tar: Path, dest: Path) -> tuple[Path, dict]:
    """The image's rootfs (all layers applied by umoci) and its OCI config."""
    layout = dest / "oci"
    layout.mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(tar), "-C", str(layout)], check=True)
    index = json.loads((layout / "index.json").read_text())
    manifest = blob(layout, index["manifests"][0]["digest"])
    config = blob(layout, manifest["config"]["digest"])
    rootfs = dest / "rootfs"
    subprocess.run(["umoci", "raw", "unpack", "--image", f"{layout}:{release.name}", str(rootfs)],
                   check=True, capture_output=True)
    return rootfs, config


def blob(layout: Path, digest: str) -> dict:
    return json.loads((layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_text())


def passwd(rootfs: Path) -> dict[str, tuple[int, int, str]]:
    """name -> (uid, gid, home) from the image's /etc/passwd."""
    entries = {}
    for line in (rootfs / "etc/passwd").read_text().splitlines():
        name, _, uid, gid, _, home, _ = line.split(":")
        entries[name] = (int(uid), int(gid), home)
    return entries


def group_ids(rootfs: Path, name: str, gid: int) -> list[int]:
    """The primary and supplementary groups of a user, as a container runtime sets them."""
    ids = [gid]
    for line in (rootfs / "etc/group").read_text().splitlines():
        _, _, group_id, members = line.split(":")
        if name in members.split(",") and int(group_id) not in ids:
            ids.append(int(group_id))
    return ids


def run_in_rootfs(rootfs: Path, script: str, env: dict, user: str, net: bool) -> subprocess.CompletedProcess:
    """sh -ec script in a chroot of rootfs as user, in private mount and pid namespaces (their
    mounts vanish with them) and, with net, a network namespace with only loopback."""
    users = passwd(rootfs)
    uid, gid, home = users.get(user or "root") or (int(user.split(":")[0]), int(user.split(":")[-1]), "/")
    groups = ",".join(str(g) for g in group_ids(rootfs, user or "root", gid))
    environment = " ".join(shlex.quote(f"{k}={v}") for k, v in dict({"HOME": home}, **env).items())
    outer = ("set -e; R=$1; " + ("ip link set lo up; " if net else "") +
             'mount -t proc proc "$R/proc"; mount -t tmpfs shm "$R/dev/shm"; '
             f'exec chroot --userspec={uid}:{gid} --groups={groups} "$R" /usr/bin/env -i {environment} '
             '/bin/sh -ec "$2"')
    builder.prepare_mount_points(rootfs, {})
    argv = ["unshare", "--mount", "--pid", "--fork", "--kill-child"] + (["--net"] if net else [])
    try:
        return subprocess.run(argv + ["/bin/sh", "-c", outer, "sh", str(rootfs), script], capture_output=True,
                              text=True, timeout=VERIFY_TIMEOUT)
    finally:
        builder.assert_no_mounts_under(rootfs)


def chain(name: str) -> list:
    return builder.chain_of(IMAGES[name])


def kolla_users() -> dict[str, int]:
    """name -> uid of every user the recipes create up front (kolla/common/users.py)."""
    table = {}
    for recipe in recipes.values():
        for name, spec in (recipe.data.get("users") or {}).items():
            table[name] = spec["uid"] if isinstance(spec, dict) else spec
    return table


def test_every_image_is_in_the_index():
    """The cluster fixture imports the images from index-<release>.json: every image is there,
    fully qualified, with the current tar and the digest of its manifest."""
    for name in IMAGES:
        built_tar(name)
    index_path = builder.IMAGES_DIR / f"index-{release.name}.json"
    index = json.loads(index_path.read_text())
    for name, target in IMAGES.items():
        entry = index.get(name)
        assert entry, f"{index_path} does not list {name}"
        assert entry["image"] == f"localhost/chartgen/{name}:{release.name}"
        assert entry["tar"] == str(builder.tar_path(target, release)), f"{name}: index names an older tar"
        assert entry["digest"] == builder.manifest_digest(Path(entry["tar"]))


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_image_runs_its_programs(name: str, tmp_path: Path):
    tar = built_tar(name)
    try:
        rootfs, config = unpack(tar, tmp_path)
        check_layout(name, rootfs, config["config"])
        env = dict(item.split("=", 1) for item in config["config"].get("Env", []))
        env.update(PIN_VARIABLES)
        for recipe in chain(name):
            for check in recipe.data.get("verify") or []:
                user = check.get("user", config["config"].get("User", ""))
                result = run_in_rootfs(rootfs, check["run"], env, user, bool(check.get("net")))
                output = (result.stdout + result.stderr).strip()
                assert result.returncode == 0, (
                    f"{name}: verify of images/{recipe.name}.yaml failed (exit {result.returncode}) as "
                    f"{user or 'root'}:\n{check['run']}\n--- output:\n{output}")
                print(f"[{name}] {recipe.name}: {check['run'].splitlines()[0][:70]}\n    {output[-400:]}")
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def check_layout(name: str, rootfs: Path, config: dict) -> None:
    """Kolla's users with kolla's uids, the default user known to the image, PATH with the
    venv's bin first where a recipe made a venv."""
    users = passwd(rootfs)
    for user, uid in kolla_users().items():
        assert user in users, f"{name}: kolla user {user} is missing"
        assert users[user][0] == uid, f"{name}: {user} has uid {users[user][0]}, kolla's is {uid}"
    default_user = config.get("User", "")
    assert not default_user or default_user in users, f"{name}: default user {default_user} unknown"
    venvs = [recipe.data["venv"] for recipe in chain(name) if recipe.data.get("venv")]
    if venvs:
        path = dict(item.split("=", 1) for item in config.get("Env", []))["PATH"]
        assert path.split(":")[0] == f"{venvs[-1]}/bin", f"{name}: PATH {path} does not start with the venv"
