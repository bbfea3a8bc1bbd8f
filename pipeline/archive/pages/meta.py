"""What a page tells the world beyond its reader: link previews, the canonical URL and
structured data.

- **Descriptions** (`describe`) are the first lines of what was said, cut at a word
  near 160 characters: what KakaoTalk, social sites and search engines show under a
  title. A session without a transcript is described by its speakers and length.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.results import Segment

DESCRIPTION_CHARS = 160  # what search engines and link previews show before cutting


def describe(segments: Sequence[Segment], limit: int = DESCRIPTION_CHARS) -> str:
    """The opening lines of a transcript, at most `limit` characters, cut at a space
    and ended with `…` when cut; "" without speech."""
    text = " ".join(" ".join(seg.text.split()) for seg in segments if seg.text.strip())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.") + "…"
