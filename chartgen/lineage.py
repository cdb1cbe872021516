"""Release overlays that build on one another (part of the load and merge stages).

`release.basedOn: R` lays values/R.yaml (and its own base, first) under this overlay: every base
is a patch of the `release` layer in its own file, so provenance and error positions point at the
file that set a value, and `{$delete: true}` removes what a base has.

Each overlay records the image scheme Kolla published for its release (`release.images`:
`<registry>/<prefix><image>:<tag>`). Images a release inherits in its base's scheme are re-tagged
to its own (same image name), by a patch placed between the base and the release, positioned at
this overlay's `release.images`: a new release states how its images are named once, not per image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chartgen.load import Document, Path
from chartgen.merge import DerivedPatch, Patch
from chartgen.model import ImageScheme, Release

def scheme_of(header: dict[str, Any]) -> ImageScheme | None:
    images = header.get("images")
    if not isinstance(images, dict):
        return None
    return ImageScheme(images["registry"], images["prefix"], images["tag"], images["source"], images.get("published", True))


def release_of(header: dict[str, Any]) -> Release:
    return Release(header["name"], header["released"], header["description"], scheme=scheme_of(header),
                   slurp=header.get("slurp", False), based_on=header.get("basedOn", ""))


def retag_patches(chain: tuple[Document, ...]) -> dict[int, DerivedPatch]:
    """For each overlay with a base (by its index in the chain), the patch re-tagging what it inherits."""
    found = {}
    for index in range(1, len(chain)):
        below, above = scheme_of(chain[index - 1].data["release"]), scheme_of(chain[index].data["release"])
        if below and above and below != above:
            found[index] = DerivedPatch(_Retag(below, above, chain[index]).patch)
    return found


@dataclass(frozen=True, slots=True)
class _Retag:
    below: ImageScheme
    above: ImageScheme
    doc: Document

    def patch(self, tree: dict[str, Any]) -> list[Patch]:
        data: dict[str, Any] = {}
        for service, spec in sorted(tree.get("services", {}).items()):
            images = {key: self.moved(image) for key, image in sorted(spec.get("images", {}).items())}
            images = {key: image for key, image in images.items() if image}
            if images:
                data.setdefault("services", {})[service] = {"images": images}
        test_image = self.moved(tree.get("global", {}).get("testImage", {}))
        if test_image:
            data["global"] = {"testImage": test_image}
        doc = Document(self.doc.file, data, _positions(data, self.doc), {})
        return [Patch("release", doc, (key,), (key,)) for key in data]

    def moved(self, image: Any) -> dict[str, str] | None:
        """The image in this release's scheme, if it is in the base's (same name)."""
        if not isinstance(image, dict) or image.get("tag") != self.below.tag:
            return None
        name = self.below.name_of(str(image.get("repository", "")))
        if name is None:
            return None
        return {"repository": self.above.repository(name), "tag": self.above.tag, "source": self.above.source}


def _positions(data: dict[str, Any], doc: Document) -> dict[Path, tuple[int, int]]:
    """Every path of the retag patch stands where this overlay's `release.images` field says it."""
    found: dict[Path, tuple[int, int]] = {(): doc.position(("release", "images"))}

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                spot = {"repository": "registry", "tag": "tag", "source": "source"}.get(key) if not isinstance(value, dict) else None
                found[path + (key,)] = doc.position(("release", "images", spot)) if spot else found[path]
                walk(value, path + (key,))

    walk(data, ())
    return found


# --- the release table (`chartgen releases`, the README's table) ------------------------------------
def release_rows(releases: dict[str, Document]) -> list[dict[str, Any]]:
    """One row per release overlay, oldest first: what `chartgen releases` prints."""
    rows = []
    for name, doc in releases.items():
        header = doc.data.get("release", {}) if isinstance(doc.data.get("release"), dict) else {}
        scheme = scheme_of(header) if isinstance(header.get("images"), dict) else None
        rows.append({
            "release": name,
            "released": header.get("released", "?"),
            "slurp": bool(header.get("slurp", False)),
            "basedOn": header.get("basedOn", ""),
            "images": f"{scheme.repository('<image>')}:{scheme.tag}" if scheme else "",
            "imagesPublished": scheme.published if scheme else False,
            "description": header.get("description", ""),
            # its own `upgrade:` Jobs, in order (an overlay without one runs its base's: chartgen upgrade-path)
            "upgradeJobs": [f"{job.get('service')}-upgrade-{job.get('name')}" for job in _own_upgrade_jobs(doc)],
        })
    return sorted(rows, key=lambda row: row["released"])


def _own_upgrade_jobs(doc: Document) -> list[dict[str, Any]]:
    upgrade = doc.data.get("upgrade")
    jobs = upgrade.get("jobs", []) if isinstance(upgrade, dict) else []
    return [job for job in jobs if isinstance(job, dict)]


def _jobs_cell(jobs: list[str]) -> str:
    """The release table's summary of its upgrade Jobs: how many, and the services they belong to."""
    services = list(dict.fromkeys(job.split("-upgrade-", 1)[0] for job in jobs))
    return f"{len(jobs)}: {', '.join(services)}" if jobs else ""


def release_markdown(rows: list[dict[str, Any]]) -> str:
    """The README's release table, generated from the overlays (a test keeps the README equal)."""
    lines = ["| Release | Released | SLURP | Kolla images | Built on | What changed | Upgrade Jobs |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        images = f"`{row['images']}`" + ("" if row["imagesPublished"] else " (not published: no Kolla image shown to exist)")
        lines.append(f"| {row['release']} | {row['released']} | {'yes' if row['slurp'] else ''} | {images} | "
                     f"{row['basedOn']} | {row['description']} | {_jobs_cell(row['upgradeJobs'])} |")
    return "\n".join(lines) + "\n"
