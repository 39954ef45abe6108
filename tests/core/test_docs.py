"""The project's docs stay true: the options table is the generated one, and every `docs/…` reference
in the code names a file (and section) that exists."""

from __future__ import annotations

import re
from pathlib import Path

from unibind_core.core.options import options_markdown
from unibind_core.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_architecture_lists_every_option_as_declared():
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("<!-- options:begin -->\n", 1)[1].split("<!-- options:end -->", 1)[0]
    assert block.strip() == options_markdown(Settings).strip()


def test_code_references_to_docs_resolve():
    refs = set()
    for folder in ("unibind_core", "assets", "pipelines", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            refs |= {
                (path.name, m.group(1), m.group(2))
                for m in re.finditer(r"docs/(\w+\.md)(?: §(\d+))?", path.read_text())
            }
    assert refs
    for source, doc, section in refs:
        text = (ROOT / "docs" / doc).read_text()
        if section:
            assert re.search(rf"^## {section}\. ", text, re.M), f"{source} cites {doc} §{section}"
