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


def pytest_collection_modifyitems(config, items):
    """The `images` tests need root and the images of `make images` (tens of minutes cold): they
    run only when the -m expression names them (`make images-test`); otherwise they are
    deselected, which pytest reports."""
    if "images" in (config.getoption("markexpr") or ""):
        return
    deselected = [item for item in items if item.get_closest_marker("images")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("images")]
