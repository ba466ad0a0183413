"""Split Rum template source into text and ``<% ... %>`` tags, with positions.

Tags:

- ``<% code %>``: statements (``if``, ``for``, ``end``, assignments...);
- ``<%= expr %>``: output, HTML-escaped;
- ``<%- expr %>`` (or Rails' ``<%== expr %>``): raw output;
- ``<%# comment %>``: dropped;
- ``<%%``: a literal ``<%`` in the text.

A tag may end with ``-%>`` to drop the newline that follows it. ``%>`` inside a quoted string
in the code does not end the tag.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from rum_templates.errors import TemplateSyntaxError

TEXT, CODE, OUTPUT, RAW, COMMENT = "text", "code", "output", "raw", "comment"
_KINDS = {"=": OUTPUT, "-": RAW, "#": COMMENT}


class Positions:
    """Offset in the source -> (line, column), both 1-based."""

    def __init__(self, source: str) -> None:
        self.starts = [0]
        self.starts.extend(i + 1 for i, ch in enumerate(source) if ch == "\n")

    def __call__(self, offset: int) -> tuple[int, int]:
        """The (line, column) of ``offset``."""
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1


@dataclass
class Segment:
    """A run of text, or one tag.

    For tags, ``text`` is the code between the opening marker and ``%>``, ``start`` the offset
    of ``<%``, ``code_start`` the offset of the code and ``end`` the offset after ``%>``.
    """

    kind: str
    text: str
    start: int
    code_start: int
    end: int
    trim_newline: bool = False


def split(source: str, name: str, pos: Positions) -> list[Segment]:
    """Cut ``source`` into segments; raise :class:`TemplateSyntaxError` on an unclosed tag."""
    segments: list[Segment] = []
    text: list[str] = []
    text_start = 0
    i = 0
    n = len(source)
    while True:
        j = source.find("<%", i)
        if j < 0:
            text.append(source[i:])
            break
        if source.startswith("<%%", j):
            text.append(source[i:j] + "<%")
            i = j + 3
            continue
        text.append(source[i:j])
        if any(text):
            segments.append(Segment(TEXT, "".join(text), text_start, text_start, j))
        text = []
        k = j + 2
        kind = _KINDS.get(source[k:k + 1], CODE)
        if kind != CODE:
            k += 1
            if kind == OUTPUT and source.startswith("=", k):  # Rails' `<%==`: raw output
                kind = RAW
                k += 1
        close = _find_close(source, k, kind)
        if close < 0:
            line, col = pos(j)
            opener = source[j:k]
            raise TemplateSyntaxError(
                f"`{opener}` opened here is never closed: expected `%>`", name, line, col)
        code = source[k:close]
        trim = False
        if code.endswith("-") and kind != COMMENT:
            code, trim = code[:-1], True
        segments.append(Segment(kind, code, j, k, close + 2, trim))
        i = close + 2
        text_start = i
        if i >= n:
            break
    if any(text):
        segments.append(Segment(TEXT, "".join(text), text_start, text_start, n))
    return segments


def _find_close(source: str, start: int, kind: str) -> int:
    """Offset of the ``%>`` that ends the tag whose code starts at ``start`` (-1: none)."""
    if kind == COMMENT:
        return source.find("%>", start)
    quote = ""
    i = start
    n = len(source)
    while i < n:
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "%" and source.startswith("%>", i):
            return i
        elif ch == "<" and source.startswith("<%", i):
            return -1  # a new tag starts before this one was closed
        i += 1
    if quote:
        # An unbalanced quote: end at the first %> so the expression parser can point at the
        # unterminated string.
        return source.find("%>", start)
    return -1
