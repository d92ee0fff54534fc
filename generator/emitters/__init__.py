"""The page types of the site, one emitter each, listed in one table.

An emitter is a plain function from the finished view of the base (``present.Base``) to pages:
``each`` emitters make the pages of one record (called for every record, and in two
processes for a large base), the others the pages about the whole base; such an emitter may
make them in ``parts`` (the index and the dashboard: a part per page of a long list,
``present.Chunk``), each part's pages a function of the base and the part, so that kb serve makes
again only the parts an edit changed (generator/incremental.py). A part is a hashable value that
holds all its pages need besides what they read through the base: ``parts`` runs on every
build, untracked, and a part that differs from every part before is made anew.
Adding a page type is adding a module here and a line in ``EMITTERS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import backlinks, dashboard, home, index, maps, record, search, tags, topic


@dataclass(frozen=True)
class Emitter:
    name: str
    pages: Callable  # (Base, Entry) -> list[Page] when `each`; (Base, part) with `parts`; else (Base)
    each: bool = False
    parts: Callable | None = None  # (Base) -> the parts (hashable) it makes its pages in


EMITTERS: tuple[Emitter, ...] = (
    Emitter("record", record.pages, each=True),
    Emitter("topic", topic.pages, each=True),
    Emitter("backlinks", backlinks.pages, each=True),
    Emitter("index", index.part_pages, parts=index.parts),
    Emitter("tags", tags.pages),
    Emitter("dashboard", dashboard.part_pages, parts=dashboard.parts),
    Emitter("maps", maps.pages),
    Emitter("home", home.pages),
    Emitter("search", search.pages),
)
