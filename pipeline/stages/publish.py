"""Publish stage: put a forum's clips, transcripts, materials and viewer pages in storage.

Keys are the same in a local folder and in a bucket, so an archive can move
from one to the other unchanged and the pages' relative links keep working:

    [prefix/]{forum}/index.html, forum.json
    [prefix/]{forum}/sessions/{slug}/{slug}.mp4, .ko.vtt, .ko.srt, .json, .txt, index.html
    [prefix/]{forum}/materials/{file name}

Each object's sha256 is compared with what storage already holds and only
changed objects are written, so a re-run after a crash or a corrected
transcript uploads just the difference. Media goes up before the pages, so a
page never links to an object that is not there yet.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import mimetypes
import os
import secrets
import threading
import unicodedata
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

from pipeline import pages
from pipeline.config import S3Storage, Storage
from pipeline.errors import DiskFullError, PublishError
from pipeline.models import (
    Clip,
    ForumSummary,
    MaterialFile,
    PublishedObject,
    PublishedSession,
    PublishResult,
    Transcript,
)
from pipeline.progress import Progress

MANIFEST_VERSION = 1
_CHUNK = 1024 * 1024
_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
}
_LOCAL_HINT = "fix the folder's permissions or set storage.local in the forum config elsewhere"
_TRANSFER = TransferConfig(multipart_threshold=16 * _CHUNK, multipart_chunksize=16 * _CHUNK)


@dataclass(frozen=True)
class PublishRequest:
    forum: ForumSummary
    clips: list[Clip]
    transcripts: list[Transcript]
    materials: list[MaterialFile]
    storage: Storage  # local paths already absolute


def content_type(name: str) -> str:
    """The Content-Type a browser needs to play or show a file with this name."""
    suffix = Path(name).suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class _Item:
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


def _file_item(key: str, path: Path, what: str) -> _Item:
    try:
        with path.open("rb") as source:
            digest = hashlib.file_digest(source, "sha256").hexdigest()
        size = path.stat().st_size
    except OSError as exc:
        raise PublishError(f"cannot read {what} {path}: {exc.strerror or exc}",
                           "run the earlier stages again to recreate it, "
                           "or fix the path in the forum config") from exc
    return _Item(key, content_type(key), size, digest, path=path)


def _data_item(key: str, text: str) -> _Item:
    data = text.encode("utf-8")
    return _Item(key, content_type(key), len(data), hashlib.sha256(data).hexdigest(), data=data)


class _Backend(Protocol):
    where: str

    def check(self) -> None: ...

    def is_current(self, item: _Item) -> bool: ...

    def put(self, item: _Item, advance: Callable[[int], None]) -> None: ...

    def url(self, key: str) -> str: ...


class _LocalBackend:
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

    def is_current(self, item: _Item) -> bool:
        path = self._path(item.key)
        try:
            if path.stat().st_size != item.size:
                return False
            with path.open("rb") as existing:
                return hashlib.file_digest(existing, "sha256").hexdigest() == item.sha256
        except OSError:
            return False  # absent or unreadable: writing it anew says what is wrong, if anything

    def put(self, item: _Item, advance: Callable[[int], None]) -> None:
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


class _S3Backend:
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

    def is_current(self, item: _Item) -> bool:
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

    def put(self, item: _Item, advance: Callable[[int], None]) -> None:
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


def _open_backend(storage: Storage) -> _Backend:
    if storage.s3 is not None:
        return _S3Backend(storage.s3)
    assert storage.local is not None  # Storage's validator demands exactly one
    return _LocalBackend(storage.local)


def _forum_root(storage: Storage, forum_id: str) -> str:
    prefix = storage.s3.prefix.strip("/") if storage.s3 is not None else ""
    return f"{prefix}/{forum_id}" if prefix else forum_id


@dataclass(frozen=True)
class _SessionOut:
    clip: Clip
    transcript: Transcript | None
    files: dict[str, str]  # role -> key


def _session_files(root: str, clip: Clip, transcript: Transcript | None) -> dict[str, _Item]:
    slug = clip.session.slug
    folder = f"{root}/sessions/{slug}"
    files = {"video": _file_item(f"{folder}/{slug}.mp4", clip.path, "clip")}
    if transcript is not None:
        lang, paths = transcript.language, transcript.files
        files |= {
            "vtt": _file_item(f"{folder}/{slug}.{lang}.vtt", paths.vtt, "subtitles"),
            "srt": _file_item(f"{folder}/{slug}.{lang}.srt", paths.srt, "subtitles"),
            "json": _file_item(f"{folder}/{slug}.json", paths.json_path, "transcript"),
            "txt": _file_item(f"{folder}/{slug}.txt", paths.txt, "transcript"),
        }
    return files


def _material_items(root: str, materials: list[MaterialFile]
                    ) -> list[tuple[MaterialFile, _Item]]:
    items: dict[str, tuple[MaterialFile, _Item]] = {}
    for material in materials:
        # NFC because macOS hands out decomposed Hangul file names, which
        # would give keys and URLs that look identical but do not match.
        name = unicodedata.normalize("NFC", material.path.name)
        key = f"{root}/materials/{name}"
        if key in items:
            raise PublishError(f"two materials are both named '{name}'",
                               "rename one of the files so each material has its own name")
        items[key] = (material, _file_item(key, material.path, "material"))
    return list(items.values())


def _name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _session_page(forum: ForumSummary, outs: list[_SessionOut], index: int) -> str:
    out = outs[index]

    def neighbour(other: int) -> pages.Link | None:
        if not 0 <= other < len(outs):
            return None
        plan = outs[other].clip.session
        return pages.Link(f"{plan.number}. {plan.title}", f"../{quote(plan.slug)}/index.html")

    return pages.session_page(
        forum, out.clip.session, duration=out.clip.duration,
        files={role: quote(_name(key)) for role, key in out.files.items() if role != "page"},
        language=out.transcript.language if out.transcript else forum.language,
        segments=out.transcript.segments if out.transcript else (),
        forum_href="../../index.html", previous=neighbour(index - 1),
        following=neighbour(index + 1),
    )


def _manifest(forum: ForumSummary, outs: list[_SessionOut],
              materials: list[tuple[MaterialFile, _Item]]) -> str:
    sessions = [
        {**out.clip.session.model_dump(mode="json"), "slug": out.clip.session.slug,
         "duration": out.clip.duration, "keys": out.files,
         "language": out.transcript.language if out.transcript else None}
        for out in outs
    ]
    files = [
        {**material.model_dump(mode="json", exclude={"path"}), "file_name": _name(item.key),
         "key": item.key, "size": item.size, "sha256": item.sha256}
        for material, item in materials
    ]
    manifest = {"version": MANIFEST_VERSION, "forum": forum.model_dump(mode="json"),
                "sessions": sessions, "materials": files}
    return json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"


def _build(request: PublishRequest, root: str, progress: Progress
           ) -> tuple[list[_Item], list[_SessionOut], str]:
    clips = sorted(request.clips, key=lambda clip: clip.session.number)
    transcripts = {t.session.id: t for t in request.transcripts}
    for orphan in sorted(transcripts.keys() - {clip.session.id for clip in clips}):
        progress.note(f"publish: session '{orphan}' has a transcript but no clip; skipped")
    media: list[_Item] = []
    outs: list[_SessionOut] = []
    for clip in clips:
        transcript = transcripts.get(clip.session.id)
        files = _session_files(root, clip, transcript)
        media += files.values()
        keys = {role: item.key for role, item in files.items()}
        keys["page"] = f"{root}/sessions/{clip.session.slug}/index.html"
        outs.append(_SessionOut(clip, transcript, keys))
    materials = _material_items(root, request.materials)
    media += [item for _, item in materials]

    forum = request.forum
    session_pages = [_data_item(out.files["page"], _session_page(forum, outs, index))
                     for index, out in enumerate(outs)]
    entries = [pages.SessionEntry(out.clip.session, out.clip.duration,
                                  f"sessions/{quote(out.clip.session.slug)}/index.html")
               for out in outs]
    material_entries = [
        pages.MaterialEntry(_name(item.key), material.kind, material.title, item.size,
                            f"materials/{quote(_name(item.key))}")
        for material, item in materials
    ]
    forum_page = _data_item(f"{root}/index.html",
                            pages.forum_page(forum, entries, material_entries))
    manifest = _data_item(f"{root}/forum.json", _manifest(forum, outs, materials))
    # Forum page last: once it is there, everything it links to is there too.
    return [*media, *session_pages, manifest, forum_page], outs, forum_page.key


def publish(request: PublishRequest, progress: Progress) -> PublishResult:
    """Upload a forum's clips, transcripts, materials and viewer pages, skipping unchanged ones.

    Objects whose stored sha256 matches the local file are left alone, so the
    stage is safe to re-run. Raises `PublishError` when storage is missing,
    unreachable or refuses access, and `DiskFullError` when a local archive
    runs out of space.
    """
    backend = _open_backend(request.storage)
    backend.check()  # fail on a wrong bucket before hashing gigabytes of video
    root = _forum_root(request.storage, request.forum.id)
    items, outs, forum_key = _build(request, root, progress)

    pending = [item for item in items if not backend.is_current(item)]
    lock = threading.Lock()
    with progress.task("upload", total=sum(item.size for item in pending)) as task:

        def advance(amount: int) -> None:
            # boto3 reports multipart progress from its worker threads.
            with lock:
                task.advance(amount)

        for item in pending:
            backend.put(item, advance)

    written = {item.key for item in pending}
    progress.note(
        f"publish: {len(written)} of {len(items)} objects written to {backend.where}"
        + ("" if written else " (all were already up to date)")
    )
    objects = tuple(
        PublishedObject(key=item.key, url=backend.url(item.key), content_type=item.content_type,
                        size=item.size, sha256=item.sha256, uploaded=item.key in written)
        for item in items
    )
    sessions = tuple(
        PublishedSession(
            session_id=out.clip.session.id, slug=out.clip.session.slug,
            clip_url=backend.url(out.files["video"]), page_url=backend.url(out.files["page"]),
            vtt_url=backend.url(out.files["vtt"]) if "vtt" in out.files else None,
        )
        for out in outs
    )
    return PublishResult(objects=objects, sessions=sessions, forum_url=backend.url(forum_key))
