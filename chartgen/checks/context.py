"""What every check sees: the merged blueprints (with provenance) and the resolved model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from chartgen.diagnostics import Diagnostic
from chartgen.load import Path
from chartgen.merge import Merged
from chartgen.model import Umbrella


@dataclass(frozen=True, slots=True)
class Context:
    umbrella: Umbrella
    merged: Merged

    @property
    def catalog(self) -> dict[str, dict[str, Any]]:
        return self.merged.tree.get("services", {})

    def diagnostic(self, path: Path, code: str, message: str, *, key: bool = False) -> Diagnostic:
        """A diagnostic where `path` was last set (at its key when `key` and it is a map entry)."""
        return Diagnostic(*self.merged.where(path, key), code, message)

    def components(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for service, spec in sorted(self.catalog.items()):
            for key, component in sorted(spec.get("components", {}).items()):
                yield service, key, component
