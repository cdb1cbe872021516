"""A WSGI script outside every directory its Apache virtual host grants.

Apache 2.4 denies every path not granted by a `<Directory>` block (Ubuntu's apache2.conf grants
only /usr/share and /var/www): a `WSGIScriptAlias` to a script elsewhere answers 403 to every
request. In a text config file, each `WSGIScriptAlias` must lie under a `<Directory>` that holds
`Require all granted` (directly or in a nested `<Files>`), at the top of the same file or inside
the same `<VirtualHost>`.

PASS::

    <VirtualHost *:5000>
      WSGIScriptAlias / /var/www/cgi-bin/keystone/main
      <Directory /var/www/cgi-bin/keystone>
        Require all granted
      </Directory>
    </VirtualHost>

FAIL::

    <VirtualHost *:5000>
      WSGIScriptAlias / /usr/bin/keystone-wsgi-public
    </VirtualHost>
"""

from __future__ import annotations

import re
from typing import Iterator

from chartgen.checks.context import Context, block_line
from chartgen.diagnostics import Diagnostic

CODE = "CG415"

_OPEN = re.compile(r"^\s*<(VirtualHost|Directory)\s+\"?([^\">]+?)\"?\s*>", re.I)
_CLOSE = re.compile(r"^\s*</(VirtualHost|Directory)\s*>", re.I)
_ALIAS = re.compile(r"^\s*WSGIScriptAlias\s+\S+\s+\"?([^\"\s]+)\"?", re.I)
_GRANTED = re.compile(r"^\s*Require\s+all\s+granted\b", re.I)


def check(context: Context) -> Iterator[Diagnostic]:
    for service, spec in sorted(context.catalog.items()):
        for name, config in sorted(spec.get("configFiles", {}).items()):
            content = config.get("content")
            if config.get("format") != "text" or not isinstance(content, str) or "WSGIScriptAlias" not in content:
                continue
            path = ("services", service, "configFiles", name, "content")
            for index, script, where in _ungranted(content.split("\n")):
                file, line, col = block_line(context, path, index)
                yield Diagnostic(file, line, col, CODE, f"{service}.configFiles.{name}: WSGI script {script} is in no <Directory> granted {where} (Apache answers 403)")


def _ungranted(lines: list[str]) -> Iterator[tuple[int, str, str]]:
    """(line index, script, scope) of each WSGIScriptAlias no granted Directory covers."""
    granted: dict[int | None, list[str]] = {None: []}  # granted directories by virtual host (None: top)
    aliases: list[tuple[int, str, int | None]] = []
    host: int | None = None
    directory: str | None = None
    for index, line in enumerate(lines):
        opened, closed = _OPEN.match(line), _CLOSE.match(line)
        if opened and opened.group(1).lower() == "virtualhost":
            host = index
            granted[host] = []
        elif opened:
            directory = opened.group(2).rstrip("/") or "/"
        elif closed and closed.group(1).lower() == "virtualhost":
            host = None
        elif closed:
            directory = None
        elif directory is not None and _GRANTED.match(line):
            granted[host].append(directory)
        elif _ALIAS.match(line):
            aliases.append((index, _ALIAS.match(line).group(1), host))
    for index, script, scope in aliases:
        directories = granted[None] + (granted[scope] if scope is not None else [])
        if not any(script == folder or script.startswith(folder.rstrip("/") + "/") for folder in directories):
            yield index, script, "in its virtual host" if scope is not None else "in this file"
