"""docs/package-format.md as a portal page, so a refusal can link to the rule it broke: every
heading gets its GitHub-style id and every row of the Refusals table gets ``refusal-<code>``."""

import re
from functools import cache
from pathlib import Path

from django.conf import settings
from markdown_it import MarkdownIt

PACKAGE_FORMAT = Path(settings.BASE_DIR) / "docs" / "package-format.md"


def slug(text: str) -> str:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", text.lower()).strip().replace(" ", "-")


def _add_anchors(tokens) -> None:
    section = ""
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            section = slug(tokens[i + 1].content)
            token.attrSet("id", section)
        elif section == "refusals" and token.type == "tr_open" and tokens[i + 1].type == "td_open":
            first = tokens[i + 2].content
            match = re.fullmatch(r"`([a-z0-9_]+)`", first)
            if match:
                token.attrSet("id", f"refusal-{match.group(1)}")


@cache
def page_anchors(path: Path) -> frozenset[str]:
    """The ids the page of ``path`` has (its headings', its Refusals rows')."""
    return frozenset(re.findall(r'id="([^"]+)"', render_markdown(path)))


@cache
def render_markdown(path: Path) -> str:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(path.read_text(encoding="utf-8"))
    _add_anchors(tokens)
    return md.renderer.render(tokens, md.options, {})
