"""Helpers shared by the test modules (imported by name: a module, not a conftest, so the e2e
folder's own conftest cannot shadow it)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ("newton", "ocata", "pike", "queens", "rocky", "stein", "train", "ussuri", "victoria", "wallaby", "xena",
            "yoga", "zed", "2023.1", "2023.2", "2024.1", "2024.2", "2025.1", "2025.2", "2026.1", "2026.2")
# One release per layout the overlays have (image scheme, base OS and Python, WSGI server): the tests
# that run every external program on a release's whole rendering (lint, config programs) take these
# in `make test`; `make lint` (chartgen lint --all-releases) runs them on every release. Newton: the
# oldest, py2 binary images; queens: the default; stein: placement on its own, py3; victoria: focal;
# xena: quay source images; zed: names without prefix, jammy; 2025.1: noble, RabbitMQ 4; 2026.1: uWSGI.
LAYOUT_RELEASES = ("newton", "queens", "stein", "victoria", "xena", "zed", "2025.1", "2026.1")


def supported_hops(slurp: bool = True) -> list[tuple[str, str]]:
    """Every (from, to) one `helm upgrade` may take, as `chartgen upgrade-path` plans them (N to
    N+1 by each overlay's release.previous, SLURP skips when `slurp`)."""
    from chartgen.upgradepath import edges, headers

    return [(before, after) for before, targets in edges(headers(ROOT), slurp).items() for after, _ in targets]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def scratch_folder(prefix: str) -> Path:
    """A temporary folder that lives as long as this test process (charts built once and
    shared by many tests, which a tmp_path cannot outlive), removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def run_chartgen(*args: str, cwd: Path = ROOT, check: bool = False, timeout: float | None = None) -> Run:
    """`python -m chartgen ARGS` in a real subprocess, as a user runs it (killed after `timeout` s)."""
    env = dict(os.environ, COLUMNS="200")
    try:
        result = subprocess.run([sys.executable, "-m", "chartgen", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"chartgen {' '.join(args)} still running after {timeout} s: a hang") from None
    run = Run(result.returncode, result.stdout, result.stderr)
    if check and run.code != 0:
        raise AssertionError(f"chartgen {' '.join(args)} exited {run.code}:\n{run.stdout}\n{run.stderr}")
    return run


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """Nine levels of ten YAML aliases: under 500 bytes that expand to a billion strings."""
    lines = ['a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"
