"""Build a release and render it with the real helm binaries (tools tier of the tests)."""

from __future__ import annotations

import copy
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from helpers import ROOT, run_chartgen

TOOLS = ROOT / ".tools" / "bin"


def helm(major: int = 4) -> str:
    path = TOOLS / f"helm{major}"
    if not path.exists():
        raise AssertionError(f"{path} is missing: run `make tools` (the tests use the real helm)")
    return str(path)


@lru_cache(maxsize=None)
def built(release: str, scratch: str) -> Path:
    out = Path(scratch) / release
    run_chartgen("build", "--release", release, "--out", str(out), "--quiet", check=True)
    return out / "oaas"


def template(chart: Path, *args: str, major: int = 4) -> subprocess.CompletedProcess:
    return subprocess.run([helm(major), "template", "oaas", str(chart), *args], capture_output=True, text=True)


def objects(chart: Path, *args: str, major: int = 4) -> list[dict[str, Any]]:
    """The documents `helm template` renders; a copy per caller (tests may change what they get)."""
    return copy.deepcopy(_rendered_objects(chart, args, major))


@lru_cache(maxsize=64)
def _rendered_objects(chart: Path, args: tuple[str, ...], major: int) -> list[dict[str, Any]]:
    # Charts are built once per session (built() above): the same chart and arguments render the
    # same bytes, which test_same_chart_and_values_render_the_same_bytes proves with its own calls.
    result = template(chart, *args, major=major)
    assert result.returncode == 0, result.stderr
    return [doc for doc in YAML(typ="safe").load_all(result.stdout) if doc]  # the C loader: 5x the pure one


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in {[(d['kind'], d['metadata']['name']) for d in docs]}")


def config_file(docs: list[dict[str, Any]], service: str, file_name: str) -> str:
    return find(docs, "ConfigMap", f"oaas-{service}-config")["data"][file_name]
