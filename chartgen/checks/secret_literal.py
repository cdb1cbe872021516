"""Password-like settings may not hold literal values: use a generated secret and a $(NAME) placeholder.

Applies to config file options and environment variables whose name says password, secret,
token, cookie, credential or key.

PASS::

    configFiles: {keystone: {options: {database: {connection: "mysql+pymysql://keystone:$(DB_PASSWORD)@..."}}}}
    env: {ADMIN_PASSWORD_FILE: /run/secrets/admin}        # a path, not a password

FAIL::

    configFiles: {heat: {options: {DEFAULT: {stack_domain_admin_password: passw0rd}}}}
"""

import re
from typing import Any, Iterator

from chartgen.checks.context import Context
from chartgen.diagnostics import Diagnostic
from chartgen.load import Path

CODE = "CG410"
_SECRET_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|cookie|credential)(_?(s|[0-9]+))?$|(^|_)key$")
_URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]+:([^@\s/]+)@")


def _literal_secret(name: str, value: Any) -> bool:
    if not isinstance(value, str) or not value or "$(" in value or "${" in value:
        return False
    return bool(_SECRET_NAME.search(name)) and not value.startswith("/")


def _walk(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))
    else:
        yield path, value


def check(context: Context) -> Iterator[Diagnostic]:
    for service, spec in sorted(context.catalog.items()):
        base = ("services", service)
        for path, value in _walk(spec.get("configFiles", {}), base + ("configFiles",)):
            name = str(path[-1])
            url = _URL_WITH_PASSWORD.search(value) if isinstance(value, str) else None
            if _literal_secret(name, value) or (url and "$(" not in url.group(1) and "${" not in url.group(1)):
                yield context.diagnostic(path, CODE, f"{'.'.join(map(str, path[1:]))} holds a literal secret; declare a secret and use $(NAME)")
        for section in ("components", "jobs", "tests"):
            for key, workload in sorted(spec.get(section, {}).items()):
                for name, value in sorted(workload.get("env", {}).items()):
                    if _literal_secret(name, value):
                        yield context.diagnostic(base + (section, key, "env", name), CODE, f"{service}.{key}: env {name} holds a literal secret; use secretEnv")
