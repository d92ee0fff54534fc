"""Part of render: formulas in prose, ``$...$`` inline and ``$$...$$`` displayed, drawn at build
time as MathML (latex2mathml, pure Python, pinned), which browsers draw natively: no script, no
font download, nothing from the network.

Where a formula starts follows pandoc's rule, so that prices stay text: an opening ``$`` is not
followed by a space, a closing ``$`` is not preceded by a space nor followed by a digit ("$5 and
$10" is no formula), and ``\\$`` is a dollar sign. Validation finds formulas with the same
pattern (code spans and fences blanked first), draws each and reports one that cannot be drawn,
or that would draw something other than plain MathML (``\\href``, ``\\style``, HTML in
``\\text{}``), with its line; the prose allow-list keeps only the MathML elements and attributes
listed here, so nothing else survives even so.
"""
from __future__ import annotations

import xml.etree.ElementTree as etree
from functools import lru_cache

import re

from .core import finditer_at

# Display first: "$$x$$" must not read as an empty inline formula. Inline formulas stay on one line.
# The pattern starts with the literal '$' (the character before it, not '\' nor '$', is looked
# behind after it), so that the regex engine skips to each '$' instead of trying every position:
# an article of 2,000 words was scanned in 1.4 ms, most of validating it.
PATTERN = (r"\$(?<![\\$]\$)(?:\$(?P<display>[^$]+?)(?<!\\)\$\$"
           r"|(?![\s$])(?P<inline>(?:[^$\\\n]|\\[^\n])*?[^\s\\$])\$(?!\d))")
FORMULA = re.compile(PATTERN)
MAX_LENGTH = 2000  # characters of one formula
MAX_DEPTH = 40  # nested groups of one formula (the converter recurses)

_NS = "{http://www.w3.org/1998/Math/MathML}"
TAGS = frozenset({"math", "mrow", "mi", "mn", "mo", "ms", "mspace", "mtext", "mfrac", "msqrt", "mroot",
                  "mstyle", "merror", "mpadded", "mphantom", "msub", "msup", "msubsup", "munder", "mover",
                  "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr", "mtd", "menclose",
                  "semantics", "annotation"})
ATTRIBUTES = frozenset({"display", "xmlns", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
                        "minsize", "maxsize", "movablelimits", "accent", "accentunder", "linethickness",
                        "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines",
                        "frame", "framespacing", "width", "height", "depth", "mathcolor", "mathbackground",
                        "mathsize", "scriptlevel", "displaystyle", "notation", "rowspan", "columnspan",
                        "symmetric", "largeop", "form", "voffset", "encoding", "linebreak"})


# A space or box (\rule, \kern, \hspace) could cover the page or pull text over other text.
MAX_SPACE = 10  # em
_SPACES = frozenset({"mspace", "mpadded"})
_SIZE = re.compile(r"^\s*\+?(-?[\d.]+)\s*(em|ex|px|pt|mu|%)?\s*$")
_EMS = {"px": 1 / 16, "pt": 1 / 12, "ex": 0.5, "mu": 1 / 18, "%": 0.01}


class FormulaError(ValueError):
    """A formula that cannot be drawn; the message says why, for the editor."""


def find(text: str):
    """(start, end, TeX, displayed) of each formula in ``text`` (code already blanked out)."""
    for match in finditer_at(FORMULA, text, "$"):
        display = match.group("display") is not None
        yield match.start(), match.end(), match.group("display" if display else "inline"), display


@lru_cache(maxsize=4096)
def mathml(tex: str, display: bool = False) -> str:
    """The formula as one ``<math>`` element; FormulaError when it cannot be drawn safely."""
    if len(tex) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(tex):,} characters long; at most {MAX_LENGTH:,}")
    depth = deepest = 0
    for character in tex:
        depth += (character == "{") - (character == "}")
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise FormulaError(f"the formula nests {deepest} groups deep; at most {MAX_DEPTH}")
    from latex2mathml.converter import convert

    try:
        result = convert(tex.strip(), display="block" if display else "inline")
        tree = etree.fromstring(result)
    except RecursionError:
        raise FormulaError("the formula nests too deeply to draw") from None
    except Exception as exc:  # the converter's own errors are of many types
        reason = f": {exc}" if str(exc) else ""
        raise FormulaError(f"the formula cannot be read ({type(exc).__name__}{reason})") from None
    for element in tree.iter():
        tag = element.tag.removeprefix(_NS)
        if tag in ("mi", "mo") and (element.text or "").startswith("\\"):
            raise FormulaError(f"unknown command {element.text}")
        if tag not in TAGS:
            raise FormulaError(f"the formula would draw <{tag}>: formulas hold mathematics only, no HTML")
        for name in ("width", "height", "depth", "lspace", "rspace", "voffset") if tag in _SPACES else ():
            size = _SIZE.match(element.attrib.get(name, "0"))
            if size is not None and (float(size.group(1)) < 0
                                     or float(size.group(1)) * _EMS.get(size.group(2), 1) > MAX_SPACE):
                raise FormulaError(f"the formula would draw a space or box of {name} "
                                   f"{element.attrib.get(name)!r}: at most {MAX_SPACE} em, and not negative")
        for name in element.attrib:
            if name == "href":
                raise FormulaError("a formula cannot hold a link (\\href): put the link in the text")
            if name not in ATTRIBUTES:
                raise FormulaError(f"the formula would set '{name}' (\\{name}?), which formulas may not use")
    return result
