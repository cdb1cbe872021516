"""Fixtures shared by the tests outside e2e/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import ROOT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's inputs (blueprints/, values/) to change freely."""
    for folder in ("blueprints", "values"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path
