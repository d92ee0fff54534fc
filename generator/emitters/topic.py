"""A page with an article (a topic): the record's page, with the article the score stage built
between its infobox and what links it to the rest of the base."""
from __future__ import annotations

from ..core import Entry
from ..present import Base, Page, page_path, template
from . import record


def pages(base: Base, entry: Entry) -> list[Page]:
    if entry.prose is None:
        return []
    return [Page(page_path(entry), template("topic.md.j2").render(**record.context(base, entry)))]
