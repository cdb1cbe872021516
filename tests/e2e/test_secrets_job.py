"""Generated credentials are made once, in the cluster, by each service's secrets Job, never rendered:
`helm template | kubectl apply --server-side` twice (as Argo CD syncs) and `helm upgrade` with either
helm major keep every password and key; the Job's Role reaches its own Secret only.

kwok runs no container, so tests/e2e/secretsjob.py carries out each Job's own command as the Job's
ServiceAccount against the real API server (tests/realpods/test_secrets_job.py runs the Jobs on real pods).
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from controlplane import REPO, ControlPlane
from secretsjob import generated_secrets, run_job, run_secrets_jobs, secrets_jobs

pytestmark = pytest.mark.e2e

RELEASE = "queens"


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("chart")
    subprocess.run([str(REPO / ".venv" / "bin" / "chartgen"), "build", "--release", RELEASE, "--out", str(out), "--quiet"],
                   check=True, cwd=REPO)
    return out / "oaas"


def helm(cp: ControlPlane, major: int, *args: str, home: Path) -> str:
    env = dict(cp.env(), HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"), HELM_DATA_HOME=str(home / "data"))
    result = subprocess.run([str(REPO / ".tools" / "bin" / f"helm{major}"), *args], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, f"helm{major} {' '.join(args[:3])} failed:\n{result.stderr}"
    return result.stdout


def sync(cp: ControlPlane, manifest: str, namespace: str) -> None:
    """What Argo CD does with a rendered manifest: a server-side apply under its own field manager."""
    cp.kubectl("apply", "--server-side", "--field-manager", "argocd-controller", "-n", namespace, "-f", "-", input=manifest, timeout=600)


def identity_only(chart: Path) -> list[str]:
    """--set flags leaving the database, the bus, the cache and keystone (what the other services add
    is the same Job and Role with other names, and would only slow the apply down)."""
    from ruamel.yaml import YAML

    dependencies = YAML(typ="safe").load((chart / "Chart.yaml").read_text())["dependencies"]
    keep = {"galera", "rabbitmq", "memcached", "keystone"}
    return [flag for d in dependencies if "condition" in d and d["name"] not in keep for flag in ("--set", f"{d['name']}.enabled=false")]


def render(cp: ControlPlane, chart: Path, namespace: str, home: Path, *args: str, major: int = 4) -> str:
    return helm(cp, major, "template", "oaas", str(chart), "--namespace", namespace, *identity_only(chart), *args, home=home)


def secret_names(manifest: str) -> set[str]:
    """The Secrets the secrets Jobs of a manifest are to create (their SECRET_NAME)."""
    return {line.split('"')[1] for line in _after("- name: SECRET_NAME", manifest)}


def _after(marker: str, text: str) -> list[str]:
    lines = text.splitlines()
    return [lines[i + 1] for i, line in enumerate(lines) if line.strip() == marker]


def test_template_and_apply_twice_as_argo_cd_keeps_every_secret(control_plane: ControlPlane, namespace: str, chart: Path, tmp_path: Path) -> None:
    manifest = render(control_plane, chart, namespace, tmp_path)
    sync(control_plane, manifest, namespace)
    first_run = run_secrets_jobs(control_plane, namespace)
    assert first_run and all("created Secret" in output for output in first_run.values()), first_run
    created = generated_secrets(control_plane, namespace)
    assert set(created) == secret_names(manifest) >= {"oaas-galera", "oaas-keystone", "oaas-rabbitmq"}
    for data in created.values():
        assert data and all(len(base64.b64decode(value)) >= 32 for value in data.values()), data
    fernet = base64.b64decode(created["oaas-keystone"]["fernetKey0"])
    assert len(base64.urlsafe_b64decode(fernet)) == 32  # a valid Fernet key

    again = render(control_plane, chart, namespace, tmp_path)
    assert again == manifest  # same chart and values, same bytes: nothing for Argo CD to sync
    sync(control_plane, again, namespace)
    second_run = run_secrets_jobs(control_plane, namespace)
    assert second_run.keys() == first_run.keys()  # the same Jobs: unchanged, not re-created
    assert all("nothing to do" in output for output in second_run.values()), second_run
    assert generated_secrets(control_plane, namespace) == created


def test_a_secrets_job_reaches_only_its_own_secret(control_plane: ControlPlane, namespace: str, chart: Path, tmp_path: Path) -> None:
    sync(control_plane, render(control_plane, chart, namespace, tmp_path), namespace)
    run_secrets_jobs(control_plane, namespace)
    account = f"system:serviceaccount:{namespace}:oaas-keystone-secrets"

    def can(verb: str, what: str) -> bool:
        result = control_plane.kubectl("auth", "can-i", verb, what, "-n", namespace, "--as", account, check=False)
        return result.stdout.strip() == "yes"

    assert can("get", "secret/oaas-keystone") and can("patch", "secret/oaas-keystone")
    assert can("get", "secret/oaas-keystone-overrides")
    assert not can("get", "secret/oaas-galera") and not can("patch", "secret/oaas-galera")
    assert not can("list", "secrets") and not can("delete", "secret/oaas-keystone") and not can("update", "secret/oaas-keystone")
    assert not can("patch", "secret/oaas-keystone-overrides")
    # The real request, not only the authoriser's answer: keystone's Job pointed at galera's Secret is refused.
    keystone = next(job for job in secrets_jobs(control_plane, namespace) if job["metadata"]["name"].startswith("oaas-keystone-"))
    with pytest.raises(AssertionError, match="HTTP 403"):
        run_job(control_plane, namespace, keystone, env={"SECRET_NAME": "oaas-galera", "WAIT_SECONDS": "0"})


def test_an_override_replaces_one_key_and_nothing_else(control_plane: ControlPlane, namespace: str, chart: Path, tmp_path: Path) -> None:
    sync(control_plane, render(control_plane, chart, namespace, tmp_path), namespace)
    run_secrets_jobs(control_plane, namespace)
    before = generated_secrets(control_plane, namespace)
    overridden = render(control_plane, chart, namespace, tmp_path, "--set", "keystone.secrets.dbPassword=chosen-by-the-deployer")
    sync(control_plane, overridden, namespace)
    outputs = run_secrets_jobs(control_plane, namespace)
    assert any("patched Secret oaas-keystone: dbPassword" in output for output in outputs.values()), outputs
    after = generated_secrets(control_plane, namespace)
    assert base64.b64decode(after["oaas-keystone"]["dbPassword"]) == b"chosen-by-the-deployer"
    after["oaas-keystone"]["dbPassword"] = before["oaas-keystone"]["dbPassword"]
    assert after == before


def test_helm_upgrade_with_either_major_keeps_every_secret(control_plane: ControlPlane, namespace: str, chart: Path, tmp_path: Path) -> None:
    helm(control_plane, 3, "install", "oaas", str(chart), "--namespace", namespace, *identity_only(chart), home=tmp_path)
    run_secrets_jobs(control_plane, namespace)
    created = generated_secrets(control_plane, namespace)
    assert created
    for major in (4, 3):
        helm(control_plane, major, "upgrade", "oaas", str(chart), "--namespace", namespace, *identity_only(chart),
             "--set", f"keystone.conf.keystone.DEFAULT.debug={str(major == 4).lower()}", home=tmp_path)
        outputs = run_secrets_jobs(control_plane, namespace)
        assert all("nothing to do" in output for output in outputs.values()), outputs
        assert generated_secrets(control_plane, namespace) == created
    helm(control_plane, 4, "uninstall", "oaas", "--namespace", namespace, home=tmp_path)
    assert generated_secrets(control_plane, namespace) == created  # not Helm's: kept with the data they protect
