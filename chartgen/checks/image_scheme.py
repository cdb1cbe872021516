"""An image in a Kolla registry that does not follow its release's recorded scheme.

Each release overlay records how Kolla named the images it published for that release
(`release.images`: `<registry>/<prefix><image>:<tag>`, with its source): Docker Hub
`kolla/ubuntu-binary-<image>` up to Wallaby, quay.io `openstack.kolla/ubuntu-source-<image>` in
Xena and Yoga, `openstack.kolla/<image>:<release>-ubuntu-<codename>` from Zed. An image of an
enabled service (or the helm test image) in any Kolla registry, as the blueprints and release
overlays set it, must be named and tagged that way (a site overlay may pin what it likes):
another tag or prefix names an image Kolla never published for this release (Kolla's CI pushed
branch-named tags, version tags or distro-suffixed tags, depending on the release). Images from
elsewhere (Docker official images) are not Kolla's and are not checked here.

PASS::

    # values/2024.1.yaml: release.images {registry: quay.io/openstack.kolla, prefix: "", tag: 2024.1-ubuntu-jammy}
    keystone: {repository: quay.io/openstack.kolla/keystone, tag: 2024.1-ubuntu-jammy}

FAIL::

    keystone: {repository: quay.io/openstack.kolla/ubuntu-source-keystone, tag: "2024.1"}
"""

from __future__ import annotations

from typing import Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic
from chartgen.load import Path

CODE = "CG416"

# The registries Kolla has published to (Docker Hub until 2025.1, quay.io from Victoria on).
KOLLA_REGISTRIES = ("docker.io/kolla/", "quay.io/openstack.kolla/", "kolla/")


def check(context: Context) -> Iterator[Diagnostic]:
    scheme = context.umbrella.release.scheme
    if scheme is None:
        return
    release = context.umbrella.release.name
    for path, repository, tag in _images(context):
        if not repository.startswith(KOLLA_REGISTRIES) or _chosen_by_site(context, path):
            continue
        if scheme.name_of(repository) is None:
            yield context.diagnostic(path + ("repository",), CODE, f"{repository} is not in the Kolla scheme of {release} ({scheme.repository('<image>')}:{scheme.tag}, release.images)")
        elif tag != scheme.tag:
            yield context.diagnostic(path + ("tag",), CODE, f"tag {tag!r} of {repository} is not the tag Kolla published for {release} ({scheme.tag!r}, release.images)")


def _chosen_by_site(context: Context, path: Path) -> bool:
    """A site overlay may pin any image it likes (a mirror, a branch tag, a digest it trusts)."""
    origins = [context.merged.origin(path + (field,)) for field in ("repository", "tag")]
    return any(origin is not None and origin.layer == "site" for origin in origins)


def _images(context: Context) -> Iterator[tuple[Path, str, str]]:
    """(path, repository, tag) of the helm test image and of every image of an enabled service."""
    test = context.merged.tree.get("global", {}).get("testImage")
    if isinstance(test, dict):
        yield ("global", "testImage"), str(test.get("repository", "")), str(test.get("tag", ""))
    for service in context.umbrella.services:
        if service.enabled:
            for image in service.images:
                yield ("services", service.name, "images", image.key), image.repository, image.tag
