"""The parts of a scheduled job (blueprint `schedule:`, a CronJob) beyond a plain Job's (resolve stage):
its cron schedule, its deploy-time settings, the member claim it mounts and its on-demand Job.

Every value a deployer may change at install has a schema in values.schema.json; the compiled
defaults (blueprint < release overlay < site overlays) are checked here against the same rules, so
a bad default fails the build at the position that set it (exit 2), not at `helm install`.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from jsonschema import Draft202012Validator

from chartgen.load import Path
from chartgen.model import CRON_PATTERN, OnDemand, PeerClaim, Setting, ValuesKey, kebab

Compile = Callable[[Any, Path], str]  # a blueprint string -> its Go template expression
Reporter = Callable[[Path, str], Callable[[str], None]]  # (where, code) -> report(message): the resolver's `at`


class ScheduledParts:
    """Resolves the scheduled parts of one job; problems go to the resolver's positioned reporter."""

    def __init__(self, at: Reporter):
        self.at = at

    def fields(self, spec: dict[str, Any], components: dict[str, Any], path: Path, compile_text: Compile) -> dict[str, Any]:
        """The Workload fields of a job (enabled; for a scheduled one its schedule and the rest)."""
        found: dict[str, Any] = {"enabled": spec.get("enabled", True)}
        if "schedule" not in spec:
            return found
        found.update(
            kind="CronJob",
            schedule=self.schedule(spec["schedule"], path + ("schedule",)),
            settings=self.settings(spec.get("settings", {}), path + ("settings",)),
            peer_claim=self.peer_claim(spec.get("peerClaim"), components, path + ("peerClaim",)),
            on_demand=self.on_demand(spec.get("onDemand"), path + ("onDemand",), compile_text),
        )
        return found

    def schedule(self, text: str, path: Path) -> str:
        if not re.match(CRON_PATTERN, text):
            self.at(path, "CG419")(f"schedule {text!r} is not a cron schedule: five fields (minute 0-59, hour 0-23, "
                                   "day of month 1-31, month 1-12 or JAN-DEC, day of week 0-7 or SUN-SAT), each *, "
                                   "a value, a range, a list, with an optional /step; or @hourly, @daily, @weekly, @monthly, @yearly")
        return text

    def settings(self, specs: dict[str, Any], path: Path) -> tuple[Setting, ...]:
        return tuple(self.setting(key, spec, path + (key,)) for key, spec in sorted(specs.items()))

    def setting(self, key: str, spec: dict[str, Any], path: Path) -> Setting:
        reference = spec.get("secretKeyRef", False)
        schema = secret_key_ref_schema() if reference else dict(spec.get("schema", {}))
        value = spec["value"]
        for error in sorted(Draft202012Validator(schema).iter_errors(value), key=lambda error: list(error.absolute_path)):
            where = path + ("value",) + tuple(error.absolute_path)
            self.at(where, "CG420")(f"setting {key!r}: {_refusal(error, value)}")
        return Setting(ValuesKey(key), spec["env"], value, schema, spec["description"], reference)

    def peer_claim(self, spec: dict[str, Any] | None, components: dict[str, Any], path: Path) -> PeerClaim | None:
        if spec is None:
            return None
        component = components.get(spec["component"])
        if component is None or component["kind"] != "StatefulSet" or "persistence" not in component:
            statefulsets = sorted(key for key, value in components.items() if value["kind"] == "StatefulSet" and "persistence" in value)
            self.at(path + ("component",), "CG407")(f"peerClaim: {spec['component']!r} is not a StatefulSet component with persistence "
                                                    f"of this service (has: {', '.join(statefulsets) or 'none'})")
        return PeerClaim(kebab(spec["component"]), spec["mountPath"], spec.get("readOnly", True), spec["env"])

    def on_demand(self, spec: dict[str, Any] | None, path: Path, compile_text: Compile) -> OnDemand | None:
        if spec is None:
            return None
        command = tuple(compile_text(item, path + ("command", index)) for index, item in enumerate(spec["command"]))
        return OnDemand(ValuesKey(spec["key"]), spec["description"], command, self.settings(spec.get("settings", {}), path + ("settings",)))


def secret_key_ref_schema() -> dict[str, Any]:
    """A reference to a key of the deployer's Secret: both named whenever it is enabled."""
    named = {"type": "string", "minLength": 1}
    return {"type": "object", "additionalProperties": False, "required": ["enabled", "secretName", "key"],
            "properties": {"enabled": {"type": "boolean", "description": "Read the variable from the Secret."},
                           "secretName": {"type": "string", "description": "Name of a Secret in the release's namespace."},
                           "key": {"type": "string", "description": "Key of that Secret."}},
            "if": {"properties": {"enabled": {"const": True}}},
            "then": {"properties": {"secretName": named, "key": named}}}


def _refusal(error: Any, value: Any) -> str:
    """jsonschema's message, said the chartgen way for the refusals a deployer meets most."""
    if error.validator == "minLength" and error.instance == "":
        return f"{'.'.join(str(part) for part in error.absolute_path) or 'value'} is empty while enabled is true: name the Secret and its key"
    if error.validator == "minimum":
        return f"{value!r} is less than the minimum {error.validator_value}"
    return error.message
