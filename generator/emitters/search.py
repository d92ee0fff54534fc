"""The search page: Pagefind's interface, filled in by kb.js (the index is built after the site)."""
from __future__ import annotations

from ..present import Base, Page, template


def pages(base: Base) -> list[Page]:
    return [Page("search.md", template("search.md.j2").render())]
