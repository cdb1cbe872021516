"""Helpers shared by the test modules (imported by name: a module, not a conftest, so the e2e
folder's own conftest cannot shadow it)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ("newton", "ocata", "pike", "queens", "2025.1")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def run_chartgen(*args: str, cwd: Path = ROOT, check: bool = False) -> Run:
    """`python -m chartgen ARGS` in a real subprocess, as a user runs it."""
    env = dict(os.environ, COLUMNS="200")
    result = subprocess.run([sys.executable, "-m", "chartgen", *args], cwd=cwd, capture_output=True, text=True, env=env)
    run = Run(result.returncode, result.stdout, result.stderr)
    if check and run.code != 0:
        raise AssertionError(f"chartgen {' '.join(args)} exited {run.code}:\n{run.stdout}\n{run.stderr}")
    return run


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
