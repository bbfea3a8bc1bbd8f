"""Snippets: a hit's text around its first match, with every match wrapped in [ ].

Plain text, no HTML: the command line prints it as it is, and a web page
escapes it before turning the brackets into marks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SNIPPET_BEFORE = 30  # characters of context kept before the first match
SNIPPET_MAX = 120  # longest snippet, markers excluded


def substring_spans(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """Where each (folded, space-free) word occurs in `text`, in any case and spacing."""
    spans: list[tuple[int, int]] = []
    for word in words:
        pattern = r"\s*".join(re.escape(ch) for ch in word)
        spans += [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)
                  if m.end() > m.start()]
    return spans


def merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping or touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def make_snippet(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` around the first span, each span wrapped in [ ]; long text is cut with …."""
    merged = merge(spans)
    left = max(0, merged[0][0] - SNIPPET_BEFORE) if merged else 0
    right = min(len(text), left + SNIPPET_MAX)
    pieces = ["…" if left else ""]
    cursor = left
    for start, end in merged:
        if start >= right:
            break
        pieces += [text[cursor:start], "[", text[start:end], "]"]
        cursor = end
    right = max(right, cursor)  # a match that crosses the limit is kept whole
    pieces += [text[cursor:right], "…" if right < len(text) else ""]
    return "".join(pieces)
