"""Fixtures shared by the tests outside e2e/, and the e2e summary (the one conftest an xdist
controller loads: it collects no test)."""

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


_E2E_SECONDS: list[float] = []
_E2E_LINES: list[str] = []  # tests/e2e/conftest.py sends them with each e2e test's teardown report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "e2e" in report.keywords:
        _E2E_SECONDS.append(report.duration)
    if report.when == "teardown":
        _E2E_LINES.extend(line for key, lines in report.user_properties if key == "e2e_report" for line in lines)


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's own type
    """What the e2e tests measured, and the total time of the e2e stage (setup, calls and teardown
    of every e2e test)."""
    for line in _E2E_LINES:
        terminalreporter.write_line(line)
    if _E2E_SECONDS:
        terminalreporter.write_line(f"e2e stage: {sum(_E2E_SECONDS):.0f}s over {len(_E2E_SECONDS) // 3} tests")
