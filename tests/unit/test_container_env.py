"""Resolve stage: which of a workload's variables reach which of its containers."""

from __future__ import annotations

from typing import Any

from chartgen.container_env import container_envs
from chartgen.model import EnvVar


def secret(name: str) -> EnvVar:
    return EnvVar(name, secret_name="(secret)", secret_key=name.lower())


ENV = (EnvVar("POD_NAME", field="metadata.name"), secret("DB_PASSWORD"), secret("MQ_PASSWORD"), secret("ROOT_PASSWORD"),
       EnvVar("DB_URL", value='"x"'), EnvVar("HOST", value='"h"'))


def names(env: tuple[EnvVar, ...]) -> list[str]:
    return [var.name for var in env]


def envs(spec: dict[str, Any], files: dict[str, str] | None = None, placeholders: tuple[str, ...] = ()) -> Any:
    spec = {"env": {"DB_URL": "mysql://u@db", "HOST": "h"}, **spec}
    return container_envs(ENV, spec, {path: (lambda text=text: text) for path, text in (files or {}).items()}, placeholders)


def test_plain_and_field_variables_reach_every_program_container_secrets_only_where_mentioned() -> None:
    result = envs({"command": ["sh", "-c", "exec app --password \"$DB_PASSWORD\""], "steps": [{"name": "a", "command": ["true"]}]})
    assert names(result.shared) == ["POD_NAME", "DB_URL", "HOST"]
    assert names(result.main) == ["DB_PASSWORD"]
    assert result.steps == ((),)


def test_a_name_counts_only_as_a_whole_word() -> None:
    assert envs({"command": ["echo", "$DB_PASSWORD_FILE", "MY_MQ_PASSWORD"]}).main == ()


def test_a_file_the_container_runs_and_the_files_that_file_runs_count() -> None:
    files = {"/s/start.sh": "exec /s/inner.py", "/s/inner.py": 'password = env["ROOT_PASSWORD"]', "/s/other.py": "MQ_PASSWORD"}
    result = envs({"command": ["sh", "/s/start.sh"], "steps": [{"name": "b", "command": ["python", "/s/other.py"]}]}, files)
    assert names(result.main) == ["ROOT_PASSWORD"]
    assert [names(step) for step in result.steps] == [["MQ_PASSWORD"]]


def test_placeholders_are_render_configs_and_a_plain_value_brings_what_it_refers_to() -> None:
    spec = {"env": {"DB_URL": "mysql://u:$(DB_PASSWORD)@db", "HOST": "h"}}
    result = container_envs(ENV, spec, {}, ("HOST", "MQ_PASSWORD"))
    assert names(result.render) == ["MQ_PASSWORD", "HOST"]
    assert names(result.main) == ["DB_PASSWORD"]  # DB_URL is in every program container: Kubernetes expands its $(DB_PASSWORD)
    assert names(container_envs(ENV, spec, {}, ("DB_URL",)).render) == ["DB_PASSWORD", "DB_URL"]


def test_probes_and_reads_secret_env_count_for_the_main_container_and_a_step() -> None:
    spec = {"probes": {"readiness": {"exec": ["sh", "-c", "check $MQ_PASSWORD"]}, "liveness": {"tcpSocket": "x"}},
            "readsSecretEnv": ["ROOT_PASSWORD"], "steps": [{"name": "c", "command": ["tool"], "readsSecretEnv": ["DB_PASSWORD"]}]}
    result = envs(spec)
    assert names(result.main) == ["MQ_PASSWORD", "ROOT_PASSWORD"]
    assert [names(step) for step in result.steps] == [["DB_PASSWORD"]]
