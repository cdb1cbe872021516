"""`python -m chartgen.docs`: regenerate docs/ from the code (diagnostic codes, semantic checks,
upgrade rules)."""

from __future__ import annotations

from chartgen import checks, upgrade_rules
from chartgen.config import find_root
from chartgen.diagnostics import codes_markdown

PAGES = {
    "docs/diagnostics.md": codes_markdown,
    "docs/checks.md": checks.markdown,
    "docs/upgrade-rules.md": upgrade_rules.markdown,
}


def main() -> None:
    root = find_root()
    for name, page in PAGES.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page(), encoding="utf-8")
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
