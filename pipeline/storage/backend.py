"""Storage backends for publish and verify: a local folder (the embedded default) or S3.

Both hold the same keys. Each object carries its sha256 (S3 user metadata
`sha256`, or the file itself locally) so that an identical object is never
written twice: a re-run uploads only what changed. The S3 backend lives in
`pipeline.storage.s3`, the local folder in `pipeline.storage.local`, and the one
a forum config names is opened by `pipeline.storage.forum`; this module has what
they share.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from pipeline.errors import PublishError
from pipeline.files import sha256_file
from pipeline.storage.keys import check_key

# Pages and manifests change in place under the same key: caches must ask every time
# (a 304 costs one round trip). Everything else is linked with `?v=<sha12>`, so a
# changed clip gets a new URL and the old one can be kept for a year.
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
# Media, pages and manifests; the transcript formats' own types are given by whoever
# lists them (`file_item`'s `media_type`).
_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".zip": "application/zip",
}
_SECRET_QUERY = re.compile(
    r"((?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential|Signature|AWSAccessKeyId)=)"
    r"[^&\s\"'<>]+", re.IGNORECASE)
_USERINFO = re.compile(r"(\w+://)[^/@\s]+@")


def content_type(name: str) -> str:
    """The Content-Type a browser needs to play or show a file with this name."""
    suffix = Path(name).suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def redact(text: str) -> str:
    """`text` without presigned signatures, session tokens or passwords in URLs."""
    return _USERINFO.sub(r"\1[redacted]@", _SECRET_QUERY.sub(r"\1[redacted]", text))


def without_query(url: str) -> str:
    """Where a link points, for logs and summaries: a presigned link is a bearer secret."""
    return url.split("?", 1)[0]


@dataclass(frozen=True)
class StoredItem:
    key: str
    content_type: str
    size: int
    sha256: str
    cache_control: str
    path: Path | None = None  # a file made by an earlier stage
    data: bytes | None = None  # a page or manifest made here

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")


@dataclass(frozen=True)
class ObjectInfo:
    """What storage says about one object, without reading it."""

    size: int
    sha256: str | None  # S3 metadata; None locally, where only reading the file tells
    content_type: str | None = None
    cache_control: str | None = None


def file_item(key: str, path: Path, what: str,
              checksum: Callable[[Path], str] = sha256_file,
              media_type: str | None = None) -> StoredItem:
    """`checksum` lets the runner hand in its cached sha256s instead of re-reading clips;
    `media_type`, the Content-Type, is the one of the key's suffix unless given."""
    try:
        digest = checksum(path)
        size = path.stat().st_size
    except OSError as exc:
        raise PublishError(f"cannot read {what} {path}: {exc.strerror or exc}",
                           "run the earlier stages again to recreate it, "
                           "or fix the path in the forum config") from exc
    return StoredItem(check_key(key), media_type or content_type(key), size, digest, IMMUTABLE,
                      path=path)


def data_item(key: str, text: str) -> StoredItem:
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    return StoredItem(check_key(key), content_type(key), len(data), digest, REVALIDATE,
                      data=data)


class Backend(Protocol):
    where: str

    def check(self) -> None: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def is_current(self, item: StoredItem) -> bool: ...

    def put(self, item: StoredItem, advance: Callable[[int], None]) -> None: ...

    def read(self, key: str) -> bytes | None: ...

    def digest(self, key: str, advance: Callable[[int], None]) -> str | None: ...

    def list(self, prefix: str) -> tuple[str, ...]:
        """The keys of every object under `prefix` (`a/b/`, or "" for all), in key order."""
        ...

    def link(self, key: str, sha256: str | None = None) -> str: ...

    def sweep(self, root: str) -> int: ...
