"""A config feature the image's software version does not have.

`chartgen/checks/features.yaml` lists config features with the first version of the software that
understands them (`since`) or the first that no longer does (`until`), each with its source. A
rule applies to what a workload gives its image: its text config files line by line, its ini
options as `key = value`, its environment, command and probes, when the image's facts
(`images.<name>.facts.versions`) record a version of that software. Images without a recorded
version are not checked.

PASS::

    # values/queens.yaml: galera.images.haproxy.facts.versions: {haproxy: "1.6.3"}
    # blueprints/galera.yaml, configFiles.haproxy.content:
    global
      maxconn 4096

FAIL::

    global
      log stdout format raw local0 info      # HAProxy 1.9 and later
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources
from typing import Any, Callable, Iterator

from ruamel.yaml import YAML

from chartgen.checks.context import Context, block_line, image_of, workloads
from chartgen.diagnostics import Diagnostic
from chartgen.load import Path
from chartgen.model import Image

CODE = "CG412"


@dataclass(frozen=True, slots=True)
class Rule:
    feature: str
    software: str
    pattern: re.Pattern[str]
    since: str | None
    until: str | None
    source: str

    def refuses(self, version: str) -> str | None:
        """Why `version` cannot read the feature, or None when it can."""
        if self.since and _key(version) < _key(self.since):
            return f"{self.software} {version} lacks it (since {self.since})"
        if self.until and _key(version) >= _key(self.until):
            return f"{self.software} {version} no longer has it (removed in {self.until})"
        return None


@cache
def rules() -> tuple[Rule, ...]:
    text = resources.files("chartgen.checks").joinpath("features.yaml").read_text(encoding="utf-8")
    return tuple(Rule(item["feature"], item["software"], re.compile(item["pattern"]), item.get("since"), item.get("until"),
                      item["source"]) for item in YAML(typ="safe").load(text))


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check(context: Context) -> Iterator[Diagnostic]:
    for service, section, key, spec in workloads(context):
        image = image_of(context, service, spec.get("image", ""))
        if image is None or image.facts is None:
            continue
        base: Path = ("services", service, section, key)
        versions = dict(image.facts.versions)
        # Only the rules this image could break: those of software whose version it records, and
        # which refuse that version (most lines then meet no rule at all).
        refusing = [(rule, reason) for rule in rules() if rule.software in versions
                    for reason in [rule.refuses(versions[rule.software])] if reason]
        if not refusing:
            continue
        for where, text in _texts(context, service, base, spec):
            yield from _matches(image, f"{service}.{key}", refusing, where, text)


def _matches(image: Image, owner: str, refusing: list[tuple[Rule, str]], where: Callable[[], tuple[str, int, int]], text: str) -> Iterator[Diagnostic]:
    for rule, reason in refusing:
        if rule.pattern.search(text):
            file, line, col = where()
            yield Diagnostic(file, line, col, CODE, f"{owner}: {rule.feature}: {reason} in {image.reference} ({rule.source})")


def _texts(context: Context, service: str, base: Path, spec: dict[str, Any]) -> Iterator[tuple[Callable[[], tuple[str, int, int]], str]]:
    """(where, text) of every line the workload hands its image; `where()` finds its position
    (only needed for a diagnostic: looking positions up for every line costs more than the check)."""
    files = context.catalog[service].get("configFiles", {})
    for name in sorted(spec.get("configFiles", {})):
        config = files.get(name, {})
        path: Path = ("services", service, "configFiles", name)
        if config.get("format") == "text" and isinstance(config.get("content"), str):
            for index, line in enumerate(config["content"].split("\n")):
                yield partial(block_line, context, path + ("content",), index), line
        elif config.get("format") == "ini" and isinstance(config.get("options"), dict):
            for section, options in config["options"].items():
                for option, value in (options.items() if isinstance(options, dict) else ()):
                    yield partial(context.merged.where, path + ("options", section, option), True), f"{option} = {value}"
        elif "options" in config:
            yield partial(context.merged.where, path + ("options",)), str(config["options"])
    for name, value in sorted(spec.get("env", {}).items()):
        yield partial(context.merged.where, base + ("env", name)), str(value)
    for field in ("command", "args"):
        if spec.get(field):
            yield partial(context.merged.where, base + (field,)), " ".join(map(str, spec[field]))
    for name, probe in sorted(spec.get("probes", {}).items()):
        if "exec" in probe:
            yield partial(context.merged.where, base + ("probes", name, "exec")), " ".join(map(str, probe["exec"]))
