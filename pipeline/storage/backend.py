"""Storage backends for publish and verify: a local folder (the embedded default) or S3.

Both hold the same keys. Each object carries its sha256 (S3 user metadata
`sha256`, or the file itself locally) so that an identical object is never
written twice: a re-run uploads only what changed. The S3 backend lives in
`pipeline.storage.s3`; this module has what both share and the local folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import mimetypes
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from pipeline.config.forum import Storage
from pipeline.errors import DiskFullError, PublishError
from pipeline.manifest import sha256_file
from pipeline.storage.keys import check_key

CHUNK = 1024 * 1024
# Pages and manifests change in place under the same key: caches must ask every time
# (a 304 costs one round trip). Everything else is linked with `?v=<sha12>`, so a
# changed clip gets a new URL and the old one can be kept for a year.
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".zip": "application/zip",
}
_LOCAL_HINT = "fix the folder's permissions or set storage.local in the forum config elsewhere"
_TEMP = re.compile(r"^\..+\.[0-9a-f]{8}\.part$")
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
              checksum: Callable[[Path], str] = sha256_file) -> StoredItem:
    """`checksum` lets the runner hand in its cached sha256s instead of re-reading clips."""
    try:
        digest = checksum(path)
        size = path.stat().st_size
    except OSError as exc:
        raise PublishError(f"cannot read {what} {path}: {exc.strerror or exc}",
                           "run the earlier stages again to recreate it, "
                           "or fix the path in the forum config") from exc
    return StoredItem(check_key(key), content_type(key), size, digest, IMMUTABLE, path=path)


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

    def link(self, key: str, sha256: str | None = None) -> str: ...

    def sweep(self, root: str) -> int: ...


class LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.where = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise PublishError(f"archive folder {self.root} exists but is not a folder",
                               "move that file away, or set storage.local in the forum "
                               "config to a folder") from None
        except OSError as exc:
            raise _local_error(exc, self.root, "cannot create the archive folder") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PublishError(f"archive folder {self.root} is not writable", _LOCAL_HINT)

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            return ObjectInfo(path.stat().st_size, None) if path.is_file() else None
        except OSError:
            return None

    def is_current(self, item: StoredItem) -> bool:
        path = self._path(item.key)
        try:
            if path.stat().st_size != item.size:
                return False
            with path.open("rb") as existing:
                return hashlib.file_digest(existing, "sha256").hexdigest() == item.sha256
        except OSError:
            return False  # absent or unreadable: writing it anew says what is wrong, if anything

    def put(self, item: StoredItem, advance: Callable[[int], None]) -> None:
        target = self._path(item.key)
        # The temporary file sits beside the target so os.replace is an atomic
        # rename: readers see the old file or the new one, never half of one.
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # os.open with 0o666 honours the umask; tempfile would leave 0600
            # files that a web server in front of the folder could not read.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with item.open() as source, os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    advance(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            raise _local_error(exc, target, "cannot write") from exc

    def read(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _local_error(exc, path, "cannot read") from exc

    def digest(self, key: str, advance: Callable[[int], None]) -> str | None:
        path = self._path(key)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as source:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    advance(len(chunk))
        except (FileNotFoundError, IsADirectoryError):
            return None
        except OSError as exc:
            raise _local_error(exc, path, "cannot read") from exc
        return digest.hexdigest()

    def link(self, key: str, sha256: str | None = None) -> str:
        return self._path(key).as_uri()  # no caches between a browser and a file

    def sweep(self, root: str) -> int:
        """Remove the temporary files a killed run left under `root`."""
        removed = 0
        for path in self._path(root).rglob(".*.part"):
            if _TEMP.match(path.name):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed


def _local_error(exc: OSError, path: Path, action: str) -> PublishError | DiskFullError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"no space left on the device holding {path}",
                             "free some space and run again; the files already written are kept")
    return PublishError(f"{action} {path}: {exc.strerror or exc}", _LOCAL_HINT)


def open_backend(storage: Storage) -> Backend:
    if storage.s3 is not None:
        from pipeline.storage.s3 import S3Backend

        return S3Backend(storage.s3)
    assert storage.local is not None  # Storage's validator demands exactly one
    return LocalBackend(storage.local)
