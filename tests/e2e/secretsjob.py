"""What the secrets Jobs' containers would do, done on kwok, where no container runs.

kwok marks a Job's pod complete without running it, so each secrets Job is carried out here: its
own container command (the script of chartgen/shared/secret-gen.py as the chart renders it) with
its own environment, run by this machine's python3, authenticated as the Job's own ServiceAccount
(a token from `kubectl create token`) against the control plane's API server. What it may do is
therefore exactly what the chart's Role grants; nothing here knows a Secret's keys.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SECRETS_SELECTOR = "app.kubernetes.io/component=secrets"


def secrets_jobs(cp, namespace: str) -> list[dict]:
    """The chart's secrets Jobs in NAMESPACE (one per service with generated credentials)."""
    jobs = cp.kubectl_json("get", "jobs", "-n", namespace, "-l", SECRETS_SELECTOR)["items"]
    return [job for job in jobs if not job["metadata"].get("deletionTimestamp")]


def run_job(cp, namespace: str, job: dict, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Run one secrets Job's container command here, as its ServiceAccount (ENV replaces some of its
    variables); its output."""
    spec = job["spec"]["template"]["spec"]
    container = spec["containers"][0]
    command = container["command"]
    assert command[:2] == ["/bin/sh", "-c"] and len(command) == 4, command  # sh -c 'exec python -c "$0"' SCRIPT
    script = command[3]
    token = cp.kubectl("create", "token", spec["serviceAccountName"], "-n", namespace, "--duration", "10m").stdout.strip()
    variables = {item["name"]: item["value"] for item in container.get("env", [])}
    with tempfile.TemporaryDirectory(prefix="secrets-job-") as folder:
        account = Path(folder)
        (account / "token").write_text(token)
        (account / "namespace").write_text(namespace)
        (account / "ca.crt").write_bytes(Path(cp.kubeconfig).parent.joinpath("pki", "ca.crt").read_bytes())
        variables.update(KUBERNETES_API=cp.server, SERVICEACCOUNT_DIR=str(account), WAIT_SECONDS="20", PATH="/usr/bin:/bin")
        variables.update(env or {})
        result = subprocess.run([sys.executable, "-c", script], env=variables, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"secrets Job {job['metadata']['name']} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def run_secrets_jobs(cp, namespace: str) -> dict[str, str]:
    """Run every secrets Job of NAMESPACE once: Job name -> what it printed."""
    return {job["metadata"]["name"]: run_job(cp, namespace, job) for job in secrets_jobs(cp, namespace)}


def generated_secrets(cp, namespace: str) -> dict[str, dict[str, str]]:
    """The data of every Secret the secrets Jobs created (not the Helm-rendered overrides)."""
    items = cp.kubectl_json("get", "secrets", "-n", namespace, "-l", SECRETS_SELECTOR)["items"]
    return {s["metadata"]["name"]: s.get("data", {}) for s in items if "app.kubernetes.io/instance" not in s["metadata"].get("labels", {})}
