"""Images without a registry: OCI-layout archives imported into containerd.

`ctr images import` names what it imports after each manifest's
`org.opencontainers.image.ref.name` (`import-<date>:<tag>` without a base
name). Such a name cannot be removed afterwards: the CRI keeps resolving the
image through the first name it saw and fails with "image ... not found" once
it is gone (until containerd restarts). So the archive is streamed to ctr with
its index.json rewritten: the one manifest carries only
`io.containerd.image.name`, the fully qualified name pods use, and that is
the only name created.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import tarfile
import tempfile
from pathlib import Path

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


class ImageError(RuntimeError):
    """An archive that is not one OCI image, or a failed import (the message says which)."""


def qualified_image_name(name: str) -> str:
    """The name the CRI looks up for `name`: docker's normalisation.

    `local/x:1` -> `docker.io/local/x:1`, `x` -> `docker.io/library/x:latest`.
    An image stored under a short name is never found by a pod.
    """
    path, _, digest = name.partition("@")
    first = path.split("/", 1)[0]
    if "/" not in path:
        path = f"docker.io/library/{path}"
    elif "." not in first and ":" not in first and first != "localhost":
        path = f"docker.io/{path}"
    if not digest and ":" not in path.rsplit("/", 1)[1]:
        path += ":latest"
    return f"{path}@{digest}" if digest else path


def _member_name(member: tarfile.TarInfo) -> str:
    return member.name.removeprefix("./")


def read_index(oci_tar: Path) -> dict:
    """index.json of an OCI-layout archive; ImageError if it is not one."""
    try:
        with tarfile.open(oci_tar) as archive:
            members = {_member_name(m): m for m in archive.getmembers()}
            if "oci-layout" not in members or "index.json" not in members:
                raise ImageError(f"{oci_tar} is not an OCI image layout archive (no oci-layout or index.json)")
            return json.load(archive.extractfile(members["index.json"]))
    except (tarfile.TarError, ValueError, OSError) as err:
        raise ImageError(f"{oci_tar} is not a readable OCI image layout archive: {err}") from None


def pick_manifest(index: dict, ref: str, oci_tar: Path) -> dict:
    """The archive's one manifest, or the one whose ref name is `ref`'s tag."""
    manifests = index.get("manifests") or []
    if len(manifests) == 1:
        return manifests[0]
    tag = ref.rsplit(":", 1)[-1]
    matching = [m for m in manifests if (m.get("annotations") or {}).get(REF_NAME) in (tag, ref)]
    if len(matching) != 1:
        raise ImageError(f"{oci_tar} holds {len(manifests)} manifests and {len(matching)} are named {tag!r}: "
                         "expected one image")
    return matching[0]


def renamed_index(index: dict, manifest: dict, ref: str) -> bytes:
    """index.json with only `manifest`, named `ref` for containerd (and nothing else)."""
    named = {**manifest, "annotations": {CONTAINERD_NAME: ref}}
    return json.dumps({**index, "manifests": [named]}).encode()


def import_archive(ctr: list[str], oci_tar: Path, name: str, timeout: float = 600) -> str:
    """Import the image of `oci_tar` as the qualified `name` with `ctr` (a command prefix); return it."""
    oci_tar = Path(oci_tar)
    if not oci_tar.is_file():
        raise ImageError(f"image archive {oci_tar} does not exist")
    ref = qualified_image_name(name)
    index = read_index(oci_tar)
    new_index = renamed_index(index, pick_manifest(index, ref, oci_tar), ref)
    command = [*ctr, "images", "import", "-"]
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=output, stderr=output)
        try:
            _stream_with_index(oci_tar, new_index, process.stdin)
        except BrokenPipeError:
            pass  # ctr gave up; its exit code and output say why
        finally:
            process.stdin.close()
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise ImageError(f"`{shlex.join(command)}` of {oci_tar} did not finish within {timeout:.0f}s") from None
        output.seek(0)
        text = output.read().decode(errors="replace").strip()
    if code != 0:
        raise ImageError(f"`{shlex.join(command)}` of {oci_tar} failed ({code}): {text}")
    return ref


def _stream_with_index(oci_tar: Path, new_index: bytes, sink) -> None:  # noqa: ANN001 - a binary pipe
    with tarfile.open(oci_tar) as source, tarfile.open(fileobj=sink, mode="w|") as target:
        for member in source:
            if _member_name(member) == "index.json":
                member.size = len(new_index)
                target.addfile(member, io.BytesIO(new_index))
            elif member.isfile():
                target.addfile(member, source.extractfile(member))
            else:
                target.addfile(member)


def standin_archives(release: str, names: tuple[str, ...]) -> list[tuple[Path, str]]:
    """(archive, image name) of each named stand-in image as the last build left it
    (tools/build_images.py, driven by make images); ImageError names what is not built."""
    index_file = Path.home() / ".cache" / "chartgen" / "images" / f"index-{release}.json"
    if not index_file.is_file():
        raise ImageError(f"no stand-in images ({index_file} is missing): run make images")
    index = json.loads(index_file.read_text())
    found = []
    for name in names:
        entry = index.get(name)
        if entry is None or not Path(entry["tar"]).is_file():
            raise ImageError(f"the stand-in image {name} is not built: run make images")
        found.append((Path(entry["tar"]), entry["image"]))
    return found
