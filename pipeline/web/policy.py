"""What the web app lets out to browsers: the archive's headers, and errors without paths.

No web framework here (plain functions over strings), so the rules are easy to
read and to test; `app` applies them. Why each policy is what it is: `app`'s
docstring, "The archive's files".
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from pipeline.archive.pages import feed as feed_page
from pipeline.archive.pages.document import page_script_hash
from pipeline.archive.pages.home import HOME_SCRIPT
from pipeline.archive.pages.player import PLAYER_JS
from pipeline.archive.pages.search import INDEX_NAME as SEARCH_INDEX_NAME
from pipeline.archive.pages.search import PAGE_NAME as SEARCH_PAGE_NAME
from pipeline.archive.pages.search import SEARCH_JS

NOSNIFF = {"X-Content-Type-Options": "nosniff"}
# The inline scripts of this version's pages (document.document puts the player's
# script between newlines): pages published by another version with another script show
# their video, subtitles and transcript but do not seek until published again.
SEARCH_SCRIPT = page_script_hash(SEARCH_JS)
PLAYER_SCRIPT = page_script_hash(PLAYER_JS)

# Anything in the archive that is not one of our viewer pages: shown (a PDF in the
# browser's viewer, an image, text) but in an opaque origin where nothing runs.
STRICT_POLICY = "default-src 'none'; sandbox"
# A video or audio file opened on its own: the browser's player document fetches the
# file again as media, which an opaque origin would turn into a CORS request that
# fails; with nosniff the type is trusted, and a media file runs no script.
MEDIA_POLICY = "default-src 'none'; media-src 'self'; sandbox allow-same-origin"

_COMMON = "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# The forum page: inline style and links, no script; downloads (materials.zip and
# the materials, which may be attachments) are started from it.
FORUM_POLICY = (f"default-src 'none'; style-src 'unsafe-inline'; {_COMMON}; "
                "sandbox allow-downloads")
# search.html: its own script (the one its meta policy names) in an opaque origin;
# allow-forms so that its form's submit event fires (the script cancels the send).
SEARCH_POLICY = (f"default-src 'none'; script-src {SEARCH_SCRIPT}; "
                 f"style-src 'unsafe-inline'; {_COMMON}; sandbox allow-scripts allow-forms")
# A session page: its player's script; the video, poster and subtitles beside it. Not an
# opaque origin: a <track> without a crossorigin attribute loads only from the page's
# own origin (Chromium refuses it otherwise), hence allow-same-origin; the hash still
# lets no other script run, and default-src 'none' lets none fetch anything.
SESSION_POLICY = (f"default-src 'none'; script-src {PLAYER_SCRIPT}; "
                  f"style-src 'unsafe-inline'; media-src 'self'; img-src 'self'; {_COMMON}; "
                  "sandbox allow-scripts allow-same-origin allow-downloads")

# The series home page at the archive root: its script (by hash) fetches the forums'
# search-index.json from this origin when a search runs, hence connect-src 'self' and
# allow-same-origin (from an opaque origin the fetch would be a CORS request that
# fails); the posters it shows are 'self' too. As on a session page, the hash is what
# keeps any other script from running.
HOME_POLICY = (f"default-src 'none'; script-src {HOME_SCRIPT}; style-src 'unsafe-inline'; "
               f"img-src 'self'; connect-src 'self'; {_COMMON}; "
               "sandbox allow-scripts allow-forms allow-same-origin")

# Where publish writes our pages, by the rules of pipeline.storage.keys (a local
# archive has no prefix): judged by place, never by name, since a material may be
# called index.html but lives under {forum}/materials/.
_FORUM_ID = r"[a-z0-9][a-z0-9-]*"
_SESSION_SLUG = r"[0-9]{2,}-[a-z0-9][a-z0-9-]*"
_PAGES = (
    (re.compile(r"index\.html"), HOME_POLICY),
    (re.compile(rf"{_FORUM_ID}/index\.html"), FORUM_POLICY),
    (re.compile(rf"{_FORUM_ID}/{re.escape(SEARCH_PAGE_NAME)}"), SEARCH_POLICY),
    (re.compile(rf"{_FORUM_ID}/sessions/{_SESSION_SLUG}/index\.html"), SESSION_POLICY),
)

# Our data files, by place too, with their types: the feed and sitemap publish writes
# at the root are shown as XML (escaped by us, and under the strict policy), not saved
# as a material's XML would be; a forum's search index is plain JSON.
_DATA = (
    (re.compile(re.escape(feed_page.FEED_NAME)), feed_page.FEED_TYPE),
    (re.compile(re.escape(feed_page.SITEMAP_NAME)), feed_page.SITEMAP_TYPE),
    (re.compile(rf"{_FORUM_ID}/{re.escape(SEARCH_INDEX_NAME)}"), "application/json"),
)

# Files a browser would render as a document that can run script: never shown inline.
MARKUP_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml",
                          "application/xml", "text/xsl", "application/xslt+xml",
                          "multipart/related", "message/rfc822"})
MARKUP_SUFFIXES = frozenset({".html", ".htm", ".shtml", ".xhtml", ".xht", ".xml", ".svg",
                             ".svgz", ".xsl", ".xslt", ".mht", ".mhtml"})


def page_policy(relative: str) -> str | None:
    """The policy of our generated page at `relative` (a /-separated path inside the
    archive folder), or None when no page of ours is there."""
    return next((policy for pattern, policy in _PAGES if pattern.fullmatch(relative)), None)


def data_type(relative: str) -> str | None:
    """The Content-Type of our data file at `relative`, or None when none of ours is there."""
    return next((kind for pattern, kind in _DATA if pattern.fullmatch(relative)), None)


def archive_type(relative: str, media_type: str) -> str:
    """The Content-Type to serve the archive's file at `relative` with: ours for our data
    files, else `media_type` (what publish would have set)."""
    return data_type(relative) or media_type


def is_markup(name: str, media_type: str) -> bool:
    base = media_type.split(";", 1)[0].strip().lower()
    return base in MARKUP_TYPES or PurePosixPath(name).suffix.lower() in MARKUP_SUFFIXES


def attachment(name: str) -> str:
    """Content-Disposition: attachment, with the name (RFC 6266, as Starlette writes it)."""
    quoted = quote(name)
    if quoted != name:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{name}"'


def archive_headers(relative: str, media_type: str) -> dict[str, str]:
    """The headers for the archive's file at `relative`, served as `media_type`."""
    policy = page_policy(relative)
    if policy is not None:
        return {"Content-Security-Policy": policy, **NOSNIFF}
    if data_type(relative) is not None:
        return {"Content-Security-Policy": STRICT_POLICY, **NOSNIFF}
    base = media_type.split(";", 1)[0].strip().lower()
    if base.startswith(("video/", "audio/")):
        return {"Content-Security-Policy": MEDIA_POLICY, **NOSNIFF}
    headers = {"Content-Security-Policy": STRICT_POLICY, **NOSNIFF}
    if is_markup(relative, media_type):
        headers["Content-Disposition"] = attachment(PurePosixPath(relative).name)
    return headers


# ----- error messages without server paths -----

CATALOGUE_NAME = "the catalogue"
_ELSEWHERE = "a path on the server"
_WORD = r"[^\s;,'\"`)]"  # a path runs to the next space, ';', ',', quote or ')'
# Any other absolute or home-relative path left in a message, with the words after a
# space that go on with a '/' (a folder named with spaces): it is withheld too.
_ANY_PATH = re.compile(rf"(?<![\w/.~-])(?:~|[A-Za-z]:)?[/\\]{_WORD}+"
                       rf"(?: [^\s;,'\"`)/\\]*[/\\]{_WORD}*)*")


def path_forms(path: Path) -> list[str]:
    """The ways a message may spell `path`: as given, absolute, resolved, as a URI."""
    forms = {str(path), str(path.absolute())}
    try:
        resolved = path.resolve()
        forms |= {str(resolved), resolved.as_uri()}
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a relative URI
        pass
    # Not ".", "/" or "C:\\" (the folder of a catalogue at the root): replacing them
    # would mangle every message.
    kept = (form for form in forms if len(form.removeprefix("file://").strip("/\\.:")) > 1)
    return sorted(kept, key=len, reverse=True)


def public_message(message: str, catalogue: Path) -> str:
    """`message` as a web client may see it: the catalogue's path said as "the
    catalogue", its folder as "the catalogue's folder" (the server's log keeps the
    whole message), and any other path withheld."""
    for form in path_forms(catalogue):
        spelled = re.escape(form) + rf"(?:[/\\]{_WORD}*)?"  # and anything below it
        message = re.sub(rf"\bthe catalogue {spelled}", CATALOGUE_NAME, message)
        message = re.sub(rf"\bat {spelled}", "at the server's catalogue path", message)
        message = re.sub(spelled, CATALOGUE_NAME, message)
    for form in path_forms(catalogue.parent):
        message = re.sub(rf"\bthe catalogue folder {re.escape(form)}", "the catalogue's folder",
                         message)
        message = message.replace(form, "the catalogue's folder")
    return _ANY_PATH.sub(_ELSEWHERE, message)
