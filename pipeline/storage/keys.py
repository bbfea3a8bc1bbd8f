"""Object keys: built from validated parts only, so that none can leave the archive's prefix.

A key is `/`-separated segments. Every segment is checked where the key is
built (`segment`) and every key again where storage uses it (`check_key`):
no empty, `.` or `..` segment, no backslash (browsers read it as `/`), no
control character, nothing longer than a file system or S3 allows. Names are
NFC-normalised first, because macOS hands out decomposed Hangul file names
that look identical to the composed ones but make other keys and URLs.
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.errors import PublishError

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # the forum config's id rule
_SESSION_SLUG = re.compile(r"^[0-9]{2,}-[a-z0-9][a-z0-9-]*$")  # {nn}-{id}
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\/]")
_MAX_SEGMENT_BYTES = 255  # a file name on ext4, xfs, NTFS
_MAX_KEY_BYTES = 1024  # S3's limit


def _problem(segment: str) -> str | None:
    if segment in ("", ".", ".."):
        return "is empty, '.' or '..'"
    if _FORBIDDEN.search(segment):
        return "contains '/', '\\' or a control character"
    if len(segment.encode("utf-8")) > _MAX_SEGMENT_BYTES:
        return f"is longer than {_MAX_SEGMENT_BYTES} bytes"
    return None


def segment(name: str, what: str) -> str:
    """`name` (NFC) as one key segment; `PublishError` naming `what` if it is unusable."""
    name = unicodedata.normalize("NFC", name)
    problem = _problem(name)
    if problem is not None:
        raise PublishError(f"the {what} name {name!r} cannot be used in an object key: it "
                           f"{problem}", "rename the file to a plain file name")
    return name


def check_key(key: str) -> str:
    """`key` itself if every segment is safe; storage calls this before any read or write."""
    if len(key.encode("utf-8")) > _MAX_KEY_BYTES:
        raise PublishError(f"object key {key[:80]!r}... is longer than {_MAX_KEY_BYTES} bytes",
                           "shorten storage.s3.prefix or the file names")
    for part in key.split("/"):
        problem = _problem(part)
        if problem is not None or unicodedata.normalize("NFC", part) != part:
            why = problem or "is not NFC-normalised"
            raise PublishError(f"object key {key!r} is refused: a segment {why}",
                               "this is a bug; please report it with the output of -v")
    return key


def forum_root(prefix: str, forum_id: str) -> str:
    """`[prefix/]{forum}`: the folder of one forum's archive."""
    if not _SLUG.match(forum_id):
        raise PublishError(f"forum id {forum_id!r} is not an ASCII slug",
                           "fix the id in the forum config (lower-case letters, digits, '-')")
    parts = [unicodedata.normalize("NFC", part) for part in prefix.split("/") if part]
    for part in parts:
        problem = _problem(part)
        if problem is not None:
            raise PublishError(f"storage.s3.prefix {prefix!r} is refused: a segment {problem}",
                               "fix storage.s3.prefix in the forum config")
    return check_key("/".join([*parts, forum_id]))


def session_folder(root: str, slug: str) -> str:
    if not _SESSION_SLUG.match(slug):
        raise PublishError(f"session slug {slug!r} is not '{{nn}}-{{id}}'",
                           "fix the session id in the forum config")
    return f"{root}/sessions/{slug}"


def join(*parts: str) -> str:
    return check_key("/".join(parts))
