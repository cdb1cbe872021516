#!/usr/bin/env python3
"""Build the kolla-layout stand-in images of images/*.yaml as OCI-layout tars, without a registry.

    tools/build_images.py --release 2025.1              build what is missing, at most 2 at a time
    tools/build_images.py --release 2025.1 keystone     one image (and the bases it needs)
    tools/build_images.py --release 2025.1 --check      exit 1 if an image is not built

A recipe (images/<name>.yaml) builds on another (`from`) or, with none, bootstraps Debian with
mmdebstrap. Its own changes become one layer: the parent is unpacked with umoci, the steps run in
a chroot inside private mount and pid namespaces (so no mount outlives the step), and umoci
repacks the difference. Steps, in order: configure_users, apt, users, venv, sources, pip, run (each line
must succeed: sh -e).
The release file images/releases/<release>.yaml gives the Debian suite, the constraints file and
the pins of the OpenStack server projects.

Each image is cached in ~/.cache/chartgen/images/<name>-<release>-<key>.tar, where the key is the
sha256 of everything the build reads: the recipe (its data, less the `verify` checks only the
tests read) and its parents', this file, the release file, the constraints, the mmdebstrap and
umoci versions. A rerun with nothing changed prints `cached`.
index-<release>.json beside the tars maps each (non-abstract) image to its tar and digest.
pip's download and wheel cache (~/.cache/chartgen/pip) and apt's archives
(~/.cache/chartgen/apt/<suite>) are shared by every build.

Needs root, mmdebstrap, umoci, unshare and chroot (installed with apt-get when missing).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

REPO = Path(__file__).resolve().parent.parent
RECIPES_DIR = REPO / "images"
CACHE = Path(os.environ.get("CHARTGEN_IMAGES_CACHE",
                            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chartgen"))
IMAGES_DIR = CACHE / "images"
NAME_PREFIX = "localhost/chartgen/"
MAX_JOBS = 2
STEP_TIMEOUT = 3600      # seconds: one mmdebstrap, one chroot step, one umoci call
LOCK_TIMEOUT = 7200      # seconds: waiting for another build-images run on this machine
PRUNE_AFTER_DAYS = 3     # an image the recipes no longer produce is removed after this long
TOOLS = {"mmdebstrap": "mmdebstrap", "umoci": "umoci", "unshare": "util-linux", "chroot": "coreutils"}
RECIPE_KEYS = {"description", "mirrors", "replaces", "abstract", "from", "suite", "users",
               "configure_users", "apt", "venv", "constraints_remove", "sources", "pip", "run",
               "config", "verify", "releases"}
CONFIG_KEYS = {"user", "env", "entrypoint", "cmd", "workdir"}
BUILD_DIR = "/var/cache/chartgen-build"   # inside the rootfs during a step, removed after it
CA_VARIABLES = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO")
# As kolla's install_pip macro: on the command line, so they do not constrain build isolation.
PIP_CONSTRAINTS = f"-c {BUILD_DIR}/files/upper-constraints.txt -c {BUILD_DIR}/files/pins.txt"


class BuildError(Exception):
    """A problem the user can fix: printed as one line, exit 2 (1 for a failed build)."""


@dataclasses.dataclass(frozen=True)
class Release:
    name: str
    path: Path
    suite: str
    kolla: str
    replaces_tag: str
    constraints: Path
    pins: dict


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    data: dict

    @property
    def parent(self) -> str | None:
        return self.data.get("from")

    @property
    def abstract(self) -> bool:
        return bool(self.data.get("abstract"))


@dataclasses.dataclass(frozen=True)
class Target:
    """A recipe to build for one release and Debian suite, with its cache key."""
    recipe: Recipe
    suite: str
    key: str
    parent: "Target | None"

    @property
    def name(self) -> str:
        return self.recipe.name


# ---------------------------------------------------------------- loading


def load_yaml(path: Path) -> dict:
    try:
        data = YAML(typ="rt").load(path.read_text())
    except (OSError, YAMLError) as error:
        raise BuildError(f"{path}: cannot read: {error}".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise BuildError(f"{path}:1:1: expected a mapping")
    return data


def position(data, key) -> str:
    line, col = data.lc.key(key)
    return f"{line + 1}:{col + 1}"


def load_release(release: str) -> Release:
    path = RECIPES_DIR / "releases" / f"{release}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (RECIPES_DIR / "releases").glob("*.yaml"))
        raise BuildError(f"no release file {path.relative_to(REPO)}; known releases: {', '.join(known)}")
    data = load_yaml(path)
    missing = {"release", "suite", "kolla", "replaces_tag", "constraints", "pins"} - set(data)
    if missing:
        raise BuildError(f"{path}:1:1: missing keys: {', '.join(sorted(missing))}")
    constraints = (path.parent / data["constraints"]).resolve()
    if not constraints.is_file():
        raise BuildError(f"{path}:{position(data, 'constraints')}: constraints file {constraints} does not exist")
    release_data = Release(str(data["release"]), path, data["suite"], str(data["kolla"]),
                           data["replaces_tag"], constraints, {k: str(v) for k, v in data["pins"].items()})
    check_pins_agree(release_data, data)
    return release_data


def read_constraints(path: Path) -> dict[str, str]:
    """upper-constraints.txt as {normalized name: version}."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^]]*\])?===([^;\s]+)", line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_pins_agree(release: Release, data) -> None:
    upper = read_constraints(release.constraints)
    for name, version in release.pins.items():
        if normalize(name) in upper and upper[normalize(name)] != version:
            raise BuildError(f"{release.path}:{position(data['pins'], name)}: {name} {version} disagrees with "
                             f"{release.constraints.name} ({upper[normalize(name)]})")


def load_recipes(release: str) -> dict[str, Recipe]:
    recipes = {}
    for path in sorted(RECIPES_DIR.glob("*.yaml")):
        data = load_yaml(path)
        for key in data:
            if key not in RECIPE_KEYS:
                raise BuildError(f"{path}:{position(data, key)}: unknown key {key!r} "
                                 f"(known: {', '.join(sorted(RECIPE_KEYS))})")
        for key in data.get("config", {}) or {}:
            if key not in CONFIG_KEYS:
                raise BuildError(f"{path}:{position(data['config'], key)}: unknown config key {key!r}")
        if "mirrors" not in data:
            raise BuildError(f"{path}:1:1: a recipe names the kolla files it mirrors (mirrors:)")
        merged = dict(data)
        merged.update((data.get("releases") or {}).get(release) or {})
        recipes[path.stem] = Recipe(path.stem, path, merged)
    for recipe in recipes.values():
        if recipe.parent and recipe.parent not in recipes:
            raise BuildError(f"{recipe.path}:{position(recipe.data, 'from')}: unknown recipe {recipe.parent!r}")
    return recipes


# ---------------------------------------------------------------- cache keys


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recipe_digest(recipe: Recipe) -> str:
    """sha256 of what the recipe builds (for this release): its keys but `verify`, which only the
    tests read, so a comment or a new check does not rebuild the image."""
    built = {key: value for key, value in recipe.data.items() if key not in ("verify", "releases")}
    return hashlib.sha256(json.dumps(built, sort_keys=True, default=str).encode()).hexdigest()


def tool_versions() -> dict:
    versions = {}
    for tool in ("mmdebstrap", "umoci"):
        result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", tool], capture_output=True, text=True)
        versions[tool] = result.stdout.strip() or "unknown"
    return versions


def plan(recipes: dict[str, Recipe], release: Release, names: list[str], versions: dict) -> list[Target]:
    """Targets for the given recipe names (every non-abstract one if none), parents first."""
    for name in names:
        if name not in recipes:
            raise BuildError(f"no recipe images/{name}.yaml; known: {', '.join(sorted(recipes))}")
    wanted = names or [name for name, recipe in recipes.items() if not recipe.abstract]
    common = {"builder": sha256_file(Path(__file__).resolve()), "release": sha256_file(release.path),
              "constraints": sha256_file(release.constraints), "tools": versions}
    targets: dict[tuple[str, str], Target] = {}

    def target(name: str, suite: str, chain: tuple[str, ...]) -> Target:
        if name in chain:
            raise BuildError(f"recipes build on each other in a cycle: {' -> '.join(chain + (name,))}")
        recipe = recipes[name]
        suite = recipe.data.get("suite", suite)
        if (name, suite) not in targets:
            parent = target(recipe.parent, suite, chain + (name,)) if recipe.parent else None
            material = dict(common, recipe=recipe_digest(recipe), suite=suite, release_name=release.name,
                            parent=parent.key if parent else None)
            key = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
            targets[(name, suite)] = Target(recipe, suite, key, parent)
        return targets[(name, suite)]

    for name in wanted:
        target(name, release.suite, ())
    return list(targets.values())


def tar_path(target: Target, release: Release) -> Path:
    return IMAGES_DIR / f"{target.name}-{release.name}-{target.key[:16]}.tar"


def image_name(name: str, release: Release) -> str:
    return f"{NAME_PREFIX}{name}:{release.name}"


# ---------------------------------------------------------------- running things


RUNNING: set[subprocess.Popen] = set()   # stopped by stop_running() on Ctrl-C or SIGTERM
STOPPING = False


def run(argv: list[str], log, what: str, timeout: int = STEP_TIMEOUT, **kwargs) -> None:
    """Run argv with its output in the log; a failure or timeout names what failed."""
    if STOPPING:
        raise BuildError("interrupted")
    log.write(f"\n[{time.strftime('%H:%M:%S')}] $ {shlex.join(argv)}\n")
    log.flush()
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
    RUNNING.add(process)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        raise BuildError(f"{what}: no result after {timeout}s (killed)") from None
    finally:
        RUNNING.discard(process)
    if code != 0:
        raise BuildError(f"{what} failed (exit {code})")


def stop_running() -> None:
    """Stop every step still running (each in its own process group), then wait for them."""
    global STOPPING
    STOPPING = True
    for process in list(RUNNING):
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for process in list(RUNNING):
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def chroot_step(rootfs: Path, script: str, env: dict, binds: dict[str, Path], log, what: str) -> None:
    """Run script with sh in rootfs, in private mount and pid namespaces: /proc, /dev/shm and the
    bind mounts (path in rootfs -> host path) vanish with the namespace, whatever happens."""
    created = prepare_mount_points(rootfs, binds)
    mounts = [f'mount -t proc proc "$R/proc"', f'mount -t tmpfs shm "$R/dev/shm"',
              f'mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"',
              f'mount --bind /etc/resolv.conf "$R/etc/resolv.conf"']
    mounts += [f'mount --bind {shlex.quote(str(host))} "$R{inside}"' for inside, host in binds.items()]
    environment = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    outer = "set -e; R=$1; " + "; ".join(mounts) + \
        f"; exec chroot \"$R\" /usr/bin/env -i {environment} /bin/sh -ec \"$2\""
    try:
        run(["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
             "/bin/sh", "-c", outer, "sh", str(rootfs), script], log, what)
    finally:
        assert_no_mounts_under(rootfs)
        for path in reversed(created):
            path.rmdir() if path.is_dir() else path.unlink()


def prepare_mount_points(rootfs: Path, binds: dict[str, Path]) -> list[Path]:
    """Create the files and folders the mounts need; return those created (to remove after)."""
    created = []
    kernel = [("/proc", True), ("/dev/shm", True), ("/dev/pts", True), ("/etc/resolv.conf", False)]
    for inside, is_dir in kernel + [(inside, host.is_dir()) for inside, host in binds.items()]:
        path = rootfs / inside.lstrip("/")
        if rootfs.resolve() not in path.resolve().parents:   # a mount would follow a symlink out
            raise BuildError(f"{path} leads out of {rootfs} through a symlink: cannot mount over it")
        missing = [p for p in [path, *path.parents] if not p.exists() and rootfs in p.parents]
        for parent in reversed(missing[1:]):
            parent.mkdir()
            created.append(parent)
        if not path.exists() and not path.is_symlink():
            path.mkdir() if is_dir else path.touch()
            created.append(path)
    return created


def assert_no_mounts_under(path: Path) -> None:
    with open("/proc/self/mounts") as mounts:
        left = [line.split()[1] for line in mounts if line.split()[1].startswith(str(path))]
    if left:
        raise BuildError(f"mounts left under {path} after a step: {', '.join(left)}; unmount them by hand")


# ---------------------------------------------------------------- steps of a recipe


def step_script(recipe: Recipe, chain: list[Recipe]) -> str:
    """The shell script of a recipe's own layer (empty when it only changes the config)."""
    data, parts = recipe.data, []
    for user in data.get("configure_users") or []:   # before apt: postinst scripts find the user
        parts.append(configure_user_script(user))
    if data.get("apt"):
        packages = " ".join(shlex.quote(p) for p in data["apt"])
        parts.append("apt-get -q update\n"
                     f"apt-get -q -y install --no-install-recommends {packages}\n"
                     "rm -rf /var/lib/apt/lists/*")
    if data.get("users"):   # after apt, as in kolla's base (groupadd is not Essential in trixie)
        parts.append(users_script(data["users"]))
    if data.get("venv"):
        venv = shlex.quote(data["venv"])
        parts.append(f"python3 -m venv --system-site-packages {venv}\n"
                     f"ln -s python$(python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])') "
                     f"{venv}/lib/python3\n"
                     f"{venv}/bin/python3 -m pip install --upgrade {PIP_CONSTRAINTS} pip wheel setuptools")
    if data.get("venv") or data.get("constraints_remove"):
        # Kolla keeps the constraints (less constraints_remove) in /requirements/.
        parts.append(f"mkdir -p /requirements && cp {BUILD_DIR}/files/upper-constraints.txt /requirements/")
    for source in data.get("sources") or []:
        parts.append(source_script(source))
    for group in pip_groups(data.get("pip")):
        requirements = " ".join(shlex.quote(p) for p in group)
        parts.append(f"python3 -m pip install --upgrade {PIP_CONSTRAINTS} {requirements}")
    if data.get("run"):
        parts.append(str(data["run"]).rstrip())
    if not parts:
        return ""
    return "\n".join(["set -eux"] + parts + ["rm -rf /tmp/* /var/tmp/* /root/.cache"]) + "\n"


def users_script(users: dict) -> str:
    """Kolla's base: a group and a nologin user with a fixed uid per service, created up front."""
    lines = []
    for name in sorted(users):
        spec = users[name] if isinstance(users[name], dict) else {"uid": users[name]}
        uid, gid, group = spec["uid"], spec.get("gid", spec["uid"]), spec.get("group", name)
        lines.append(f"groupadd --gid {gid} {group}")
        lines.append(f"useradd -l -M --shell /usr/sbin/nologin --uid {uid} --gid {gid} {name}")
    return "\n".join(lines)


def configure_user_script(user: dict) -> str:
    """Kolla's configure_user macro: home folder, the kolla group, extra groups, shell."""
    name = user["name"]
    home = user.get("home", f"/var/lib/{name}")
    lines = [f"usermod --append --home {home} --groups kolla {name}"]
    if user.get("groups"):
        lines.append(f"usermod --append --groups {user['groups']} {name}")
    if user.get("shell"):
        lines.append(f"chsh --shell {user['shell']} {name}")
    lines.append(f"mkdir -p {home}")
    lines.append(f"chown -R {name}:$(id -g {name}) {home}")
    return "\n".join(lines)


def source_script(source: dict) -> str:
    """Kolla installs OpenStack from its source tarball kept in the image (/<dir>, linked as
    /<link>): the stand-in takes the pinned release's sdist from PyPI instead."""
    package, folder, link = source["package"], source["dir"], source["link"]
    return (f"rm -rf /tmp/sdist && python3 -m pip download --no-deps --no-binary {package} "
            f"{PIP_CONSTRAINTS} -d /tmp/sdist {package}\n"
            f"mkdir -p {folder} && tar -xzf /tmp/sdist/*.tar.gz -C {folder}\n"
            f"ln -s {Path(folder).name}/$(ls {folder}) {link}")


def pip_groups(pip) -> list[list[str]]:
    """pip: one list of requirements (one install) or a list of lists (several, in order)."""
    if not pip:
        return []
    if all(isinstance(item, list) for item in pip):
        return [[str(p) for p in group] for group in pip]
    return [[str(p) for p in pip]]


def chain_of(target: Target) -> list[Recipe]:
    chain, current = [], target
    while current:
        chain.insert(0, current.recipe)
        current = current.parent
    return chain


def image_env(chain: list[Recipe]) -> dict:
    env = {}
    for recipe in chain:
        env.update((k, str(v)) for k, v in ((recipe.data.get("config") or {}).get("env") or {}).items())
    return env


def filtered_constraints(release: Release, chain: list[Recipe]) -> str:
    removed = {normalize(name) for recipe in chain for name in recipe.data.get("constraints_remove") or []}
    lines = release.constraints.read_text().splitlines()
    kept = [line for line in lines if normalize(re.split(r"[=<>!~\[;\s]", line, 1)[0]) not in removed]
    return "\n".join(kept) + "\n"


# ---------------------------------------------------------------- building one image


def build(target: Target, release: Release, log) -> None:
    """Build target into its cache tar (the parent's tar exists)."""
    work = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=IMAGES_DIR / "work"))
    layout, tag = work / "oci", release.name
    chain = chain_of(target)
    try:
        if target.parent:
            run(["tar", "-xf", str(tar_path(target.parent, release)), "-C", str(mkdir(layout))], log,
                f"unpacking {target.parent.name}")
        else:
            bootstrap(target, layout, tag, work, log)
        script = step_script(target.recipe, chain)
        if script:
            bundle = work / "bundle"
            run(["umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle)], log, "umoci unpack")
            build_step(target, release, chain, bundle / "rootfs", script, work, log)
            run(["umoci", "repack", "--image", f"{layout}:{tag}", str(bundle)], log, "umoci repack")
        configure(target, release, layout, tag, log)
        run(["umoci", "gc", "--layout", str(layout)], log, "umoci gc")
        name_image(layout, image_name(target.name, release))
        write_tar(layout, tar_path(target, release), log)
    finally:
        assert_no_mounts_under(work)
        shutil.rmtree(work)


def mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def bootstrap(target: Target, layout: Path, tag: str, work: Path, log) -> None:
    """A recipe with no parent starts from Debian (Essential packages and apt) by mmdebstrap."""
    rootfs_tar, archives = work / "rootfs.tar", mkdir(CACHE / "apt" / target.suite / "archives")
    # The shared apt archive cache, the way mmdebstrap's manual shows (the tar gets no .deb).
    cache_hooks = ["--skip=download/empty", "--skip=essential/unlink",
                   f"--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
                   f"--setup-hook=sync-in {archives} /var/cache/apt/archives/",
                   f"--customize-hook=sync-out /var/cache/apt/archives {archives}",
                   # mmdebstrap copies the host's resolver and name in: a container gets its own.
                   '--customize-hook=rm "$1"/etc/resolv.conf "$1"/etc/hostname']
    run(["mmdebstrap", "--variant=apt", "--mode=root", "--format=tar"] + cache_hooks +
        [target.suite, str(rootfs_tar)], log, f"mmdebstrap {target.suite}")
    run(["umoci", "init", "--layout", str(layout)], log, "umoci init")
    run(["umoci", "new", "--image", f"{layout}:{tag}"], log, "umoci new")
    run(["umoci", "raw", "add-layer", "--image", f"{layout}:{tag}", str(rootfs_tar)], log, "umoci add-layer")
    rootfs_tar.unlink()


def build_step(target: Target, release: Release, chain: list[Recipe], rootfs: Path, script: str,
               work: Path, log) -> None:
    build_files = mkdir(work / "build-files")
    (build_files / "upper-constraints.txt").write_text(filtered_constraints(release, chain))
    (build_files / "pins.txt").write_text("".join(f"{k}=={v}\n" for k, v in sorted(release.pins.items())))
    env = dict(image_env(chain), HOME="/root", PIP_CACHE_DIR=f"{BUILD_DIR}/pip",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_ROOT_USER_ACTION="ignore", PIP_PROGRESS_BAR="off",
               PIP_NO_INPUT="1")
    ca_bundle = host_ca_bundle()
    if ca_bundle:   # downloads during the build trust what the host trusts (a proxy's CA); the image does not
        env.update((name, f"{BUILD_DIR}/ca-certificates.crt") for name in CA_VARIABLES)
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy_created = not policy.exists()
    if policy_created:   # no daemon starts from a package's postinst (as mmdebstrap does)
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    shared_archives = mkdir(CACHE / "apt" / target.suite / "archives")
    archives = link_debs(shared_archives, mkdir(work / "apt-archives"))   # apt locks its own folder
    binds = {f"{BUILD_DIR}/pip": mkdir(CACHE / "pip"), f"{BUILD_DIR}/files": build_files,
             "/var/cache/apt/archives": archives}
    if ca_bundle:
        binds[f"{BUILD_DIR}/ca-certificates.crt"] = ca_bundle
    try:
        chroot_step(rootfs, script, env, binds, log, f"steps of images/{target.name}.yaml")
    finally:
        if policy_created:
            policy.unlink()
        link_debs(archives, shared_archives)


def host_ca_bundle() -> Path | None:
    for candidate in [os.environ.get(name) for name in CA_VARIABLES] + ["/etc/ssl/certs/ca-certificates.crt"]:
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


def link_debs(source: Path, dest: Path) -> Path:
    """Hard-link the .deb files of source into dest (same file system: no copy)."""
    for deb in source.glob("*.deb"):
        if not (dest / deb.name).exists():
            try:
                os.link(deb, dest / deb.name)
            except FileExistsError:   # another build put it there meanwhile
                pass
    return dest


def configure(target: Target, release: Release, layout: Path, tag: str, log) -> None:
    """Apply the recipe's config on top of the parent's (umoci keeps the parent's)."""
    config = target.recipe.data.get("config") or {}
    args = []
    if "user" in config:
        args.append(f"--config.user={config['user']}")
    for key, value in (config.get("env") or {}).items():
        args.append(f"--config.env={key}={value}")
    if "entrypoint" in config:
        args += ["--clear=config.entrypoint"] + [f"--config.entrypoint={a}" for a in config["entrypoint"]]
    if "cmd" in config:
        args += ["--clear=config.cmd"] + [f"--config.cmd={a}" for a in config["cmd"]]
    if "workdir" in config:
        args.append(f"--config.workingdir={config['workdir']}")
    args += [f"--config.label=org.opencontainers.image.title={target.name}",
             f"--config.label=chartgen.recipe.key={target.key}",
             f"--config.label=chartgen.mirrors={' '.join(target.recipe.data['mirrors'])}",
             f"--history.created_by=tools/build_images.py images/{target.name}.yaml"]
    if target.recipe.data.get("replaces"):
        args.append(f"--config.label=chartgen.replaces={target.recipe.data['replaces']}:{release.replaces_tag}")
    run(["umoci", "config", "--image", f"{layout}:{tag}"] + args, log, "umoci config")


def name_image(layout: Path, name: str) -> None:
    """containerd's import names an image by io.containerd.image.name (umoci tags cannot hold
    a full reference like localhost/chartgen/keystone:2025.1)."""
    index_path = layout / "index.json"
    index = json.loads(index_path.read_text())
    for manifest in index["manifests"]:
        manifest.setdefault("annotations", {})["io.containerd.image.name"] = name
    index_path.write_text(json.dumps(index, separators=(",", ":")))


def write_tar(layout: Path, dest: Path, log) -> None:
    partial = dest.with_suffix(".tar.partial")
    run(["tar", "--sort=name", "-C", str(layout), "-cf", str(partial), "."], log, "writing the OCI tar")
    os.replace(partial, dest)


def manifest_digest(tar: Path) -> str:
    result = subprocess.run(["tar", "-xOf", str(tar), "./index.json"], capture_output=True, check=True)
    return json.loads(result.stdout)["manifests"][0]["digest"]


# ---------------------------------------------------------------- the whole run


def ensure_tools() -> None:
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if not missing:
        return
    packages = sorted({TOOLS[tool] for tool in missing})
    fix = f"apt-get install -y --no-install-recommends {' '.join(packages)}"
    if os.geteuid() != 0:
        raise BuildError(f"missing {', '.join(missing)}; install them: sudo {fix}")
    print(f"build-images: installing {' '.join(packages)}", flush=True)
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-q"]
    result = subprocess.run(apt + ["update"], capture_output=True, text=True, timeout=900)
    if result.returncode == 0:
        result = subprocess.run(apt + ["install", "-y", "--no-install-recommends"] + packages,
                                capture_output=True, text=True, timeout=900,
                                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    still = [tool for tool in TOOLS if not shutil.which(tool)]
    if result.returncode != 0 or still:
        last = (result.stderr.strip().splitlines() or ["?"])[-1]
        raise BuildError(f"apt-get could not install {' '.join(packages)} ({last}); still missing: "
                         f"{', '.join(still)}; fix: {fix}")


def lock():
    """One build at a time on this machine (another worktree may run make images too)."""
    handle = open(mkdir(IMAGES_DIR) / ".lock", "w")
    deadline, told = time.monotonic() + LOCK_TIMEOUT, False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise BuildError(f"another build-images run held {IMAGES_DIR}/.lock for {LOCK_TIMEOUT}s") from None
            if not told:
                print(f"build-images: waiting up to {LOCK_TIMEOUT}s for another build-images run", flush=True)
                told = True
            time.sleep(5)


def build_all(targets: list[Target], release: Release, jobs: int) -> dict[str, tuple[str, float]]:
    """Build what is not cached, parents before children, at most `jobs` at a time."""
    results, failed = {}, {}
    pending = [t for t in targets if not tar_path(t, release).is_file()]
    for t in targets:
        if t not in pending:
            results[t.key] = ("cached", 0.0)
    running: dict[concurrent.futures.Future, Target] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        try:
            schedule(pending, running, results, failed, pool, release, jobs)
        except KeyboardInterrupt:
            stop_running()   # the build threads fail their step and clean their work folder
            raise BuildError("interrupted: stopped the running steps") from None
    if failed:
        raise BuildError(f"{len(failed)} image(s) failed: {', '.join(t.name for t in targets if t.key in failed)}")
    return results


def schedule(pending, running, results, failed, pool, release, jobs) -> None:
    """Start each build whose parent is built, at most `jobs` at once; record each result."""
    while pending or running:
        for t in list(pending):
            if t.parent and t.parent.key in failed:
                failed[t.key] = f"not built: {t.parent.name} failed"
                pending.remove(t)
            elif len(running) < jobs and (not t.parent or t.parent.key in results):
                pending.remove(t)
                running[pool.submit(timed_build, t, release)] = t
        if not running:
            break
        done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            t = running.pop(future)
            try:
                results[t.key] = ("built", future.result())
                report_line(t, release, *results[t.key])
            except BuildError as error:
                failed[t.key] = str(error)
                print(f"build-images: {t.name}: {error}; log: {log_path(t, release)}", file=sys.stderr,
                      flush=True)


def log_path(target: Target, release: Release) -> Path:
    return IMAGES_DIR / "logs" / f"{target.name}-{release.name}-{target.key[:16]}.log"


def timed_build(target: Target, release: Release) -> float:
    start = time.monotonic()
    print(f"build-images: building {target.name} ({target.suite}); log: {log_path(target, release)}", flush=True)
    with open(mkdir(log_path(target, release).parent) / log_path(target, release).name, "w") as log:
        try:
            build(target, release, log)
        except BuildError:
            log.flush()
            tail = log_path(target, release).read_text(errors="replace").splitlines()[-15:]
            print("\n".join(f"  | {line}" for line in tail), file=sys.stderr, flush=True)
            raise
    return time.monotonic() - start


def report_line(target: Target, release: Release, state: str, seconds: float) -> None:
    tar = tar_path(target, release)
    name = image_name(target.name, release) if not target.recipe.abstract else f"(base, {target.suite})"
    when = f"built in {seconds:6.1f}s" if state == "built" else "cached         "
    print(f"{target.name:16} {name:44} {when}  {tar.stat().st_size / 2**20:7.1f} MiB  {tar}", flush=True)


def write_index(targets: list[Target], release: Release) -> Path:
    """index-<release>.json: every non-abstract image built so far for the release."""
    path = IMAGES_DIR / f"index-{release.name}.json"
    index = json.loads(path.read_text()) if path.is_file() else {}
    for target in targets:
        if target.recipe.abstract:
            continue
        tar = tar_path(target, release)
        entry = {"image": image_name(target.name, release), "tar": str(tar), "digest": manifest_digest(tar),
                 "key": target.key}
        if target.recipe.data.get("replaces"):
            entry["replaces"] = f"{target.recipe.data['replaces']}:{release.replaces_tag}"
        index[target.name] = entry
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)
    return path


def interrupted(signum, frame):
    raise KeyboardInterrupt


def prune(targets: list[Target], release: Release) -> None:
    """Remove this release's tars and logs that the current recipes no longer produce, once they
    are PRUNE_AFTER_DAYS old: another clone (another branch's recipes) may still use them."""
    current = {tar_path(t, release) for t in targets} | {log_path(t, release) for t in targets}
    cutoff = time.time() - PRUNE_AFTER_DAYS * 86400
    for name in {t.name for t in targets}:
        pattern = rf"{re.escape(name)}-{re.escape(release.name)}-[0-9a-f]{{16}}\.(tar|log)"
        for old in [*IMAGES_DIR.glob(f"{name}-{release.name}-*.tar"),
                    *(IMAGES_DIR / "logs").glob(f"{name}-{release.name}-*.log")]:
            if old not in current and re.fullmatch(pattern, old.name) and old.stat().st_mtime < cutoff:
                old.unlink()
                print(f"build-images: pruned {old}")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="recipes to build (default: every non-abstract one)")
    parser.add_argument("--release", default="2025.1", help="release file images/releases/RELEASE.yaml")
    parser.add_argument("--jobs", type=int, default=MAX_JOBS, choices=range(1, MAX_JOBS + 1),
                        help=f"images built at once (at most {MAX_JOBS})")
    parser.add_argument("--check", action="store_true", help="build nothing; exit 1 if an image is not built")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        release = load_release(args.release)
        recipes = load_recipes(release.name)
        if not args.check:
            ensure_tools()
            if os.geteuid() != 0:
                raise BuildError("building images needs root (mmdebstrap, chroot, mount namespaces)")
        targets = plan(recipes, release, args.names, tool_versions())
        if args.check:
            missing = [t for t in targets if not tar_path(t, release).is_file()]
            for t in targets:
                print(f"{t.name:16} {t.suite:9} {'missing' if t in missing else 'built':8} {tar_path(t, release)}")
            return 1 if missing else 0
        signal.signal(signal.SIGTERM, interrupted)
        with lock():
            mkdir(IMAGES_DIR / "work")
            start = time.monotonic()
            results = build_all(targets, release, args.jobs)
            for t in targets:
                if results[t.key][0] == "cached":
                    report_line(t, release, "cached", 0.0)
            index = write_index(targets, release)
            if not args.names:
                prune(targets, release)
        print(f"build-images: {len(targets)} images for {release.name} in {time.monotonic() - start:.1f}s; "
              f"index: {index}")
        return 0
    except BuildError as error:
        print(f"build-images: {error}", file=sys.stderr)
        return 1 if "failed" in str(error) else 2


if __name__ == "__main__":
    sys.exit(main())
