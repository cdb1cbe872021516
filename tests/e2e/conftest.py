"""Fixtures for the end-to-end tests against a real control plane.

The control plane is expensive to start (several seconds), so one instance
serves the whole session; tests isolate themselves with their own namespace.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

# Import controlplane.py by path, whatever pytest's rootdir/import mode is.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from controlplane import E2E_REPORT, REPO, ControlPlane  # noqa: E402

BUILD_SCRIPT = REPO / "tools" / "build-control-plane.sh"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end test against a real Kubernetes control plane")


def build_control_plane() -> None:
    """Build (or confirm cached) the binaries; never skip: fail loudly.

    The script is a sub-second no-op when its stamps match, so it always runs:
    that also catches binaries that are stale for the pinned versions.
    """
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        pytest.fail(f"{BUILD_SCRIPT.relative_to(REPO)} failed ({result.returncode}):\n{tail}", pytrace=False)
    print(result.stdout, end="")


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest):
    build_control_plane()
    with ControlPlane() as cp:
        print(f"\ncontrol plane up in {cp.startup_seconds:.1f}s {cp.timings}")
        yield cp
        # A failed test does not reach this `with` as an exception, so keep
        # the component logs explicitly; they usually explain the failure.
        if request.session.testsfailed:
            cp.save_logs()


@pytest.fixture
def namespace(control_plane: ControlPlane, request: pytest.FixtureRequest):
    """A fresh namespace per test, deleted afterwards (without waiting)."""
    base = request.node.name.replace("_", "-").lower()[:40].strip("-")
    name = f"{base}-{uuid.uuid4().hex[:6]}"
    control_plane.kubectl("create", "namespace", name)
    # Pods are refused until the namespace has its default ServiceAccount.
    control_plane.wait_for(
        f"ServiceAccount {name}/default",
        lambda: control_plane.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
        timeout=60,
    )
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


_REPORTED = [0]  # how many lines of this process's E2E_REPORT went out with a test's report


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201 - a hook wrapper
    """E2E_REPORT's new lines ride on the test's teardown report: under xdist a report travels
    from the worker to the controller, this process's list does not (tests/conftest.py prints them)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" and len(E2E_REPORT) > _REPORTED[0]:
        report.user_properties.append(("e2e_report", E2E_REPORT[_REPORTED[0]:]))
        _REPORTED[0] = len(E2E_REPORT)
