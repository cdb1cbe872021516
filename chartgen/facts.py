"""Image facts (part of the resolve stage): what the chart relies on inside each image.

A release overlay records, per image, the software versions in it, its users and the programs the
chart calls (`images.<name>.facts`), and names shared blocks of its `imageFacts` (`facts.from`)
so facts common to many images are written once. The facts describe the image the same file
named: when a later layer (a site overlay) sets another repository or tag without facts of its
own, the facts describe an image no longer used, and are dropped (the checks then skip it).
"""

from __future__ import annotations

from typing import Any, Callable

from chartgen.load import Path
from chartgen.merge import Merged
from chartgen.model import ImageFacts, ImageUser

Report = Callable[[str], None]


def image_facts(merged: Merged, image_path: Path, spec: dict[str, Any], report: Report) -> ImageFacts | None:
    """The facts of the image at `image_path` (services.S.images.I), merged with their shared blocks."""
    own = spec.get("facts")
    if own is None or not _same_file(merged, image_path):
        return None
    blocks = merged.tree.get("imageFacts", {})
    parts = []
    for name in own.get("from", []):
        if name not in blocks:
            report(f"facts.from names {name!r}, which imageFacts does not define (has: {', '.join(sorted(blocks)) or 'none'})")
            continue
        parts.append(blocks[name])
    parts.append(own)
    return _combine(parts)


def _same_file(merged: Merged, image_path: Path) -> bool:
    """Facts, repository and tag set by one file, or all by the release's overlays (a release
    built on another one re-tags the images it inherits, and keeps or updates their facts)."""
    origins = [merged.origin(image_path + (field,)) for field in ("facts", "repository", "tag")]
    return len({origin.file if origin else "" for origin in origins}) == 1 or \
        all(origin is not None and origin.layer == "release" for origin in origins)


def _combine(parts: list[dict[str, Any]]) -> ImageFacts:
    """Later parts win on versions and users; binaries and sources add up."""
    versions: dict[str, str] = {}
    users: dict[str, ImageUser] = {}
    binaries: list[str] = []
    sources: list[str] = []
    any_user = False
    for part in parts:
        versions.update(part.get("versions", {}))
        for name, ids in part.get("users", {}).items():
            uid, gid = (ids, ids) if isinstance(ids, int) else (ids["uid"], ids["gid"])
            users[name] = ImageUser(name, uid, gid)
        binaries += [binary for binary in part.get("binaries", []) if binary not in binaries]
        sources.append(part["source"])
        any_user = any_user or part.get("anyUser", False)
    return ImageFacts(tuple(sorted(versions.items())), tuple(sorted(users.values(), key=lambda u: u.name)),
                      tuple(binaries), any_user, tuple(sources))
