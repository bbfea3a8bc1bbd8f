"""The archive's feed and sitemap: `[prefix/]feed.xml` (Atom) and `[prefix/]sitemap.xml`.

Pure functions of what they are handed (built from the forums' forum.json by
`pipeline.archive.root`).

- **feed.xml** (Atom, RFC 4287): one entry per session, newest forum first. Ids are
  `tag:` URIs (RFC 4151) made of the forum id and the session slug, so they need no
  base URL and stay the same wherever the archive is served; links are relative,
  which a feed reader resolves against the feed's own URL. `updated` is the forum's
  date (midnight, Korean time): the feed announces forums and their sessions, and a
  corrected transcript is not news. The summary is the session's description
  (forum.json: the transcript's opening lines).
- **sitemap.xml** (sitemaps.org 0.9) must list absolute URLs, so it is written only
  when the archive's public base URL is known (the caller decides).

Text is escaped for XML, and characters XML 1.0 cannot carry at all (most control
characters) are dropped, so a transcript can never make the file unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

FEED_NAME = "feed.xml"
SITEMAP_NAME = "sitemap.xml"
FEED_TYPE = "application/atom+xml"
SITEMAP_TYPE = "application/xml"
TAG_AUTHORITY = "tag:sort-archive,2021:"  # RFC 4151: an authority name and a date
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_TIME_ZONE = "+09:00"  # the forums are held in Korea


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("", value))


def day_time(date: str) -> str:
    """A forum's `YYYY-MM-DD` as an RFC 3339 date-time (midnight in Korea)."""
    return f"{date}T00:00:00{_TIME_ZONE}"


def tag_id(*parts: str) -> str:
    """A `tag:` URI under the archive's authority: `tag:sort-archive,2021:a/b`."""
    return TAG_AUTHORITY + "/".join(parts)


@dataclass(frozen=True)
class FeedEntry:
    id: str  # a tag: URI
    title: str
    updated: str  # RFC 3339
    href: str  # relative to the feed
    summary: str
    author: str


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    updated: str
    authors: tuple[str, ...]
    entries: tuple[FeedEntry, ...]
    home_href: str = "index.html"
    self_href: str = FEED_NAME


def _entry(entry: FeedEntry) -> str:
    summary = (f'<summary type="text">{_text(entry.summary)}</summary>\n'
               if entry.summary else "")
    return (
        "<entry>\n"
        f"<id>{_text(entry.id)}</id>\n"
        f'<title type="text">{_text(entry.title)}</title>\n'
        f"<updated>{_text(entry.updated)}</updated>\n"
        f'<link rel="alternate" type="text/html" href={_attr(entry.href)}/>\n'
        f"<author><name>{_text(entry.author)}</name></author>\n"
        f"{summary}"
        "</entry>"
    )


def atom_feed(feed: Feed, language: str = "ko") -> str:
    """feed.xml: the feed's own facts, then its entries in the order given."""
    authors = "".join(f"<author><name>{_text(name)}</name></author>\n"
                      for name in feed.authors)
    entries = "".join(f"{_entry(entry)}\n" for entry in feed.entries)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={_attr(language)}>\n'
        f"<id>{_text(feed.id)}</id>\n"
        f'<title type="text">{_text(feed.title)}</title>\n'
        f"<updated>{_text(feed.updated)}</updated>\n"
        f"{authors}"
        f'<link rel="self" type="{FEED_TYPE}" href={_attr(feed.self_href)}/>\n'
        f'<link rel="alternate" type="text/html" href={_attr(feed.home_href)}/>\n'
        f"{entries}"
        "</feed>\n"
    )


def sitemap(urls: Sequence[str]) -> str:
    """sitemap.xml: each absolute URL once, in the order given."""
    seen = dict.fromkeys(urls)
    locations = "".join(f"<url><loc>{_text(url)}</loc></url>\n" for url in seen)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{locations}"
        "</urlset>\n"
    )
