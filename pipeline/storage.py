"""Storage backends for publish: a local folder (the embedded default) or any S3 endpoint.

Both hold the same keys. Each object carries its sha256 (S3 user metadata
`sha256`, or the file itself locally) so that an identical object is never
written twice: a re-run uploads only what changed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import mimetypes
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote, urlsplit

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from pipeline.config import S3Storage, Storage
from pipeline.errors import DiskFullError, PublishError
from pipeline.state import sha256_file

_CHUNK = 1024 * 1024
_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
}
_LOCAL_HINT = "fix the folder's permissions or set storage.local in the forum config elsewhere"
_TRANSFER = TransferConfig(multipart_threshold=16 * _CHUNK, multipart_chunksize=16 * _CHUNK)


def content_type(name: str) -> str:
    """The Content-Type a browser needs to play or show a file with this name."""
    suffix = Path(name).suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class StoredItem:
    key: str
    content_type: str
    size: int
    sha256: str
    path: Path | None = None  # a file made by an earlier stage
    data: bytes | None = None  # a page or manifest made here

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")


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
    return StoredItem(key, content_type(key), size, digest, path=path)


def data_item(key: str, text: str) -> StoredItem:
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    return StoredItem(key, content_type(key), len(data), digest, data=data)


class Backend(Protocol):
    where: str

    def check(self) -> None: ...

    def is_current(self, item: StoredItem) -> bool: ...

    def put(self, item: StoredItem, advance: Callable[[int], None]) -> None: ...

    def url(self, key: str) -> str: ...


class LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.where = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise PublishError(f"archive folder {self.root} exists but is not a folder",
                               _LOCAL_HINT) from None
        except OSError as exc:
            raise _local_error(exc, self.root, "cannot create the archive folder") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PublishError(f"archive folder {self.root} is not writable", _LOCAL_HINT)

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
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
                    advance(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            raise _local_error(exc, target, "cannot write") from exc

    def url(self, key: str) -> str:
        return self._path(key).as_uri()


def _local_error(exc: OSError, path: Path, action: str) -> PublishError | DiskFullError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"no space left on the device holding {path}",
                             "free some space and run again; the files already written are kept")
    return PublishError(f"{action} {path}: {exc.strerror or exc}", _LOCAL_HINT)


class S3Backend:
    def __init__(self, cfg: S3Storage) -> None:
        self.cfg = cfg
        try:
            session = boto3.Session(profile_name=cfg.profile) if cfg.profile else boto3.Session()
        except ProfileNotFound:
            raise PublishError(f"AWS profile '{cfg.profile}' is not configured",
                               "add it to ~/.aws/config or fix storage.s3.profile in the "
                               "forum config") from None
        self.client = session.client(
            "s3", endpoint_url=cfg.endpoint_url, region_name=cfg.region,
            config=Config(s3={"addressing_style": cfg.addressing_style},
                          retries={"max_attempts": 5, "mode": "standard"}),
        )
        self.endpoint = cfg.endpoint_url or self.client.meta.endpoint_url
        self.where = f"s3://{cfg.bucket} at {self.endpoint}"

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.cfg.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "reach") from exc

    def is_current(self, item: StoredItem) -> bool:
        try:
            head = self.client.head_object(Bucket=self.cfg.bucket, Key=item.key)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and _error_code(exc) in ("404", "NoSuchKey"):
                return False
            raise self._error(exc, f"read {item.key} in") from exc
        return (
            head.get("Metadata", {}).get("sha256") == item.sha256
            and head.get("ContentType") == item.content_type
            and head.get("ContentLength") == item.size
        )

    def put(self, item: StoredItem, advance: Callable[[int], None]) -> None:
        extra = {"ContentType": item.content_type, "Metadata": {"sha256": item.sha256}}
        options: dict[str, Any] = {"ExtraArgs": extra, "Callback": advance, "Config": _TRANSFER}
        try:
            if item.path is not None:  # upload_file reads big clips in parallel parts
                self.client.upload_file(str(item.path), self.cfg.bucket, item.key, **options)
            else:
                with item.open() as source:
                    self.client.upload_fileobj(source, self.cfg.bucket, item.key, **options)
        except (S3UploadFailedError, ClientError, BotoCoreError) as exc:
            # boto3 wraps the service's ClientError without chaining it;
            # unwrap it so a denied or missing bucket gets its specific hint.
            cause = exc.__context__ if isinstance(exc, S3UploadFailedError) else exc
            raise self._error(cause if isinstance(cause, Exception) else exc,
                              f"upload {item.key} to") from exc

    def url(self, key: str) -> str:
        cfg, path = self.cfg, quote(key, safe="/")
        if cfg.public_base_url:
            return f"{cfg.public_base_url.rstrip('/')}/{path}"
        if cfg.endpoint_url:
            base = cfg.endpoint_url.rstrip("/")
            if cfg.addressing_style == "virtual":
                parts = urlsplit(base)
                return f"{parts.scheme}://{cfg.bucket}.{parts.netloc}{parts.path}/{path}"
            return f"{base}/{quote(cfg.bucket)}/{path}"
        region = cfg.region or self.client.meta.region_name or "us-east-1"
        if cfg.addressing_style == "path":
            return f"https://s3.{region}.amazonaws.com/{cfg.bucket}/{path}"
        return f"https://{cfg.bucket}.s3.{region}.amazonaws.com/{path}"

    def _error(self, exc: Exception, doing: str) -> PublishError:
        bucket, endpoint = self.cfg.bucket, self.endpoint
        if isinstance(exc, NoCredentialsError):
            return PublishError(f"no AWS credentials found for bucket '{bucket}'",
                                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
                                "(or storage.s3.profile) naming a profile in ~/.aws/credentials")
        if isinstance(exc, EndpointConnectionError):
            return PublishError(f"cannot reach the storage endpoint {endpoint}",
                                "check storage.s3.endpoint_url, the network, and that the "
                                "storage server is up")
        code = _error_code(exc) if isinstance(exc, ClientError) else ""
        if code in ("404", "NoSuchBucket"):
            return PublishError(f"bucket '{bucket}' does not exist at {endpoint}",
                                "create it or fix storage.s3.bucket in the forum config")
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return PublishError(f"access denied to bucket '{bucket}' at {endpoint} ({code})",
                                "check the credentials (AWS_ACCESS_KEY_ID/AWS_PROFILE) and that "
                                "their policy allows s3:ListBucket, s3:GetObject, s3:PutObject")
        detail = " ".join(str(exc).split())
        return PublishError(f"could not {doing} bucket '{bucket}' at {endpoint}: {detail}")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def open_backend(storage: Storage) -> Backend:
    if storage.s3 is not None:
        return S3Backend(storage.s3)
    assert storage.local is not None  # Storage's validator demands exactly one
    return LocalBackend(storage.local)
