"""What a page tells the world beyond its reader: link previews, the canonical URL and
structured data.

- **Descriptions** (`describe`) are the first lines of what was said, cut at a word
  near 160 characters: what KakaoTalk, social sites and search engines show under a
  title. A session without a transcript is described by its speakers and length.
- **Link previews** (`head_tags`): Open Graph and Twitter card tags, a `description`
  and, with a public base URL, the canonical link.
- **Structured data** (`video_object`): schema.org `VideoObject` with a `SeekToAction`
  on session pages, so search engines can offer key moments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from pipeline.archive.pages.document import embedded_json
from pipeline.results import Segment

DESCRIPTION_CHARS = 160  # what search engines and link previews show before cutting


def describe(segments: Sequence[Segment], limit: int = DESCRIPTION_CHARS) -> str:
    """The opening lines of a transcript, at most `limit` characters, cut at a space
    and ended with `…` when cut; "" without speech."""
    return describe_text(" ".join(seg.text for seg in segments if seg.text.strip()), limit)


def describe_text(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """`text` on one line, cut as `describe` cuts."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.") + "…"


@dataclass(frozen=True)
class PageMeta:
    """What a page says of itself to link previews and search engines.

    `url` is the page's canonical, absolute URL: known only when the archive has a
    public base URL (`storage.public_base_url`); without one there is no canonical
    link and no `og:url`. `image` is absolute when the base is known, else relative to
    the page: KakaoTalk and social sites then show the title and description alone.
    """

    title: str
    description: str
    site_name: str
    url: str | None = None
    image: str | None = None
    kind: str = "website"  # og:type: website, or video.other for a session
    locale: str = "ko_KR"


LOCALES = {"ko": "ko_KR", "en": "en_US"}


def head_tags(meta: PageMeta) -> str:
    """The <head> lines: description, canonical link, Open Graph and Twitter card."""
    properties = [("og:type", meta.kind), ("og:site_name", meta.site_name),
                  ("og:title", meta.title), ("og:locale", meta.locale)]
    if meta.description:
        properties.append(("og:description", meta.description))
    if meta.url:
        properties.append(("og:url", meta.url))
    if meta.image:
        properties.append(("og:image", meta.image))
    cards = [("twitter:card", "summary_large_image" if meta.image else "summary"),
             ("twitter:title", meta.title)]
    if meta.description:
        cards.append(("twitter:description", meta.description))
    if meta.image:
        cards.append(("twitter:image", meta.image))
    lines = ([f'<meta name="description" content="{escape(meta.description)}">']
             if meta.description else [])
    if meta.url:
        lines.append(f'<link rel="canonical" href="{escape(meta.url)}">')
    lines += [f'<meta property="{name}" content="{escape(value)}">'
              for name, value in properties]
    lines += [f'<meta name="{name}" content="{escape(value)}">' for name, value in cards]
    return "\n".join(lines) + "\n"


def iso_duration(seconds: float) -> str:
    """schema.org durations are ISO 8601: 1 h 2 min 3 s is `PT1H2M3S`."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + \
        f"{secs}S"


@dataclass(frozen=True)
class VideoFacts:
    """The facts of a session's video that structured data states; links as in
    `PageMeta` (absolute with a public base URL, else relative to the page)."""

    name: str
    description: str
    upload_date: str  # the forum's date, YYYY-MM-DD
    duration: float
    content_url: str
    page_url: str | None
    thumbnail: str | None
    language: str


def video_object(video: VideoFacts) -> str:
    """schema.org `VideoObject` JSON-LD for a session page, with a `SeekToAction`: the
    page's `#t=SECONDS` links, so a search engine can show and open key moments.

    A JSON-LD block is data, not script: no Content-Security-Policy is needed for it,
    and `embedded_json` keeps its text from ending the element.
    """
    data: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "VideoObject",
        "name": video.name, "description": video.description or video.name,
        "uploadDate": video.upload_date, "duration": iso_duration(video.duration),
        "contentUrl": video.content_url, "inLanguage": video.language,
    }
    if video.thumbnail:
        data["thumbnailUrl"] = video.thumbnail
    if video.page_url:
        data["url"] = video.page_url
        data["potentialAction"] = {
            "@type": "SeekToAction",
            "target": f"{video.page_url}#t={{seek_to_second_number}}",
            "startOffset-input": "required name=seek_to_second_number",
        }
    return f'<script type="application/ld+json">{embedded_json(data)}</script>\n'
