"""A request's query string as a `SearchQuery`, and a hit's link as a browser can open it.

No web framework here: the rules are plain functions over a mapping of strings,
so the page, the JSON API and the tests share them.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from pipeline.catalogue import SearchQuery
from pipeline.catalogue.search import MAX_LIMIT, MAX_OFFSET, MAX_QUERY, clean_query

DEFAULT_LIMIT = 20  # as `sort-archive search`
ARCHIVE_PATH = "archive"  # where `--archive DIR` is served, relative to the app's root
FIELDS = ("q", "forum", "speaker", "since", "limit", "offset")


class BadRequest(ValueError):
    """A query string that cannot be searched; its message is one line for the user."""


@dataclass(frozen=True)
class Form:
    """The query string's fields as given (stripped), to fill the form in again."""

    q: str = ""
    forum: str = ""
    speaker: str = ""
    since: str = ""
    limit: str = ""
    offset: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Form:
        # Control characters (a NUL in ?q=) mean nothing in any field: they become spaces.
        return cls(**{name: clean_query(params.get(name) or "") for name in FIELDS})

    def with_offset(self, offset: int) -> str:
        """This search's query string at another offset (empty fields left out)."""
        values = {name: getattr(self, name) for name in FIELDS}
        values["offset"] = str(offset) if offset else ""
        return "?" + urlencode({name: value for name, value in values.items() if value})


def _number(text: str, name: str, default: int, low: int, high: int) -> int:
    if not text:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


def search_query(form: Form) -> SearchQuery | None:
    """The search the form asks for; None without words (an empty form). Raises BadRequest."""
    if not form.q:
        return None
    if len(form.q) > MAX_QUERY:
        raise BadRequest(f"the query is {len(form.q)} characters long; give at most "
                         f"{MAX_QUERY}")
    since = None
    if form.since:
        try:
            since = datetime.date.fromisoformat(form.since)
        except ValueError:
            raise BadRequest(f"not a date: {form.since!r} (use YYYY-MM-DD)") from None
    return SearchQuery(
        form.q, forum_id=form.forum or None, speaker=form.speaker or None, since=since,
        limit=_number(form.limit, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_number(form.offset, "offset", 0, 0, MAX_OFFSET))


def browser_link(url: str | None, archive: Path | None) -> str | None:
    """Where a hit's link can take a browser that reached this app over HTTP.

    http(s) links are kept as they are. A file:// link inside the served archive
    folder becomes a link to it under `archive/`, relative to the app's root (so the
    app works behind a proxy under any path). Anything else (a file elsewhere, a
    scheme a tampered catalogue might hold, such as javascript:) is not a link: None.
    """
    if not url:
        return None
    if url.startswith(("https://", "http://")):
        return url
    if archive is not None:
        base = archive.resolve().as_uri().rstrip("/") + "/"
        if url.startswith(base):
            return f"{ARCHIVE_PATH}/{url[len(base):]}"
    return None
