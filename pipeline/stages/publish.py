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

import json
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pipeline import pages
from pipeline.config import ForumConfig, Storage
from pipeline.errors import ConfigError, PublishError
from pipeline.models import (
    Clip,
    FetchResult,
    ForumSummary,
    MaterialFile,
    PublishedObject,
    PublishedSession,
    PublishResult,
    SplitResult,
    TranscribeResult,
    Transcript,
)
from pipeline.progress import Progress
from pipeline.stage import RunContext, RunReport, Stage
from pipeline.state import sha256_file
from pipeline.storage import StoredItem, data_item, file_item, open_backend

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class PublishRequest:
    """What publish needs: the forum, the earlier stages' outputs and where to put them."""

    forum: ForumSummary
    clips: list[Clip]
    transcripts: list[Transcript]
    materials: list[MaterialFile]
    storage: Storage  # local paths already absolute
    # The runner passes its manifest's cached checksums: re-hashing hours of video on
    # every run would cost minutes for nothing.
    checksum: Callable[[Path], str] = sha256_file


def _forum_root(storage: Storage, forum_id: str) -> str:
    prefix = storage.s3.prefix.strip("/") if storage.s3 is not None else ""
    return f"{prefix}/{forum_id}" if prefix else forum_id


@dataclass(frozen=True)
class _SessionOut:
    clip: Clip
    transcript: Transcript | None
    files: dict[str, str]  # role -> key


def _session_files(root: str, clip: Clip, transcript: Transcript | None,
                   checksum: Callable[[Path], str]) -> dict[str, StoredItem]:
    slug = clip.session.slug
    folder = f"{root}/sessions/{slug}"
    files = {"video": file_item(f"{folder}/{slug}.mp4", clip.path, "clip", checksum)}
    if clip.poster is not None:
        files["poster"] = file_item(f"{folder}/poster.jpg", clip.poster, "poster", checksum)
    if transcript is not None:
        lang, paths = transcript.language, transcript.files
        files |= {
            role: file_item(f"{folder}/{name}", path, what, checksum)
            for role, name, path, what in (
                ("vtt", f"{slug}.{lang}.vtt", paths.vtt, "subtitles"),
                ("srt", f"{slug}.{lang}.srt", paths.srt, "subtitles"),
                ("json", f"{slug}.json", paths.json_path, "transcript"),
                ("txt", f"{slug}.txt", paths.txt, "transcript"),
            )
        }
    return files


def _material_items(root: str, materials: list[MaterialFile], checksum: Callable[[Path], str]
                    ) -> list[tuple[MaterialFile, StoredItem]]:
    items: dict[str, tuple[MaterialFile, StoredItem]] = {}
    for material in materials:
        # NFC because macOS hands out decomposed Hangul file names, which
        # would give keys and URLs that look identical but do not match.
        name = unicodedata.normalize("NFC", material.path.name)
        key = f"{root}/materials/{name}"
        if key in items:
            raise PublishError(f"two materials are both named '{name}'",
                               "rename one of the files so each material has its own name")
        items[key] = (material, file_item(key, material.path, "material", checksum))
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
              materials: list[tuple[MaterialFile, StoredItem]]) -> str:
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
           ) -> tuple[list[StoredItem], list[_SessionOut], str]:
    clips = sorted(request.clips, key=lambda clip: clip.session.number)
    transcripts = {t.session.id: t for t in request.transcripts}
    for orphan in sorted(transcripts.keys() - {clip.session.id for clip in clips}):
        progress.note(f"publish: session '{orphan}' has a transcript but no clip; skipped")
    media: list[StoredItem] = []
    outs: list[_SessionOut] = []
    for clip in clips:
        transcript = transcripts.get(clip.session.id)
        files = _session_files(root, clip, transcript, request.checksum)
        media += files.values()
        keys = {role: item.key for role, item in files.items()}
        keys["page"] = f"{root}/sessions/{clip.session.slug}/index.html"
        outs.append(_SessionOut(clip, transcript, keys))
    materials = _material_items(root, request.materials, request.checksum)
    media += [item for _, item in materials]

    forum = request.forum
    session_pages = [data_item(out.files["page"], _session_page(forum, outs, index))
                     for index, out in enumerate(outs)]
    entries = [pages.SessionEntry(out.clip.session, out.clip.duration,
                                  f"sessions/{quote(out.clip.session.slug)}/index.html")
               for out in outs]
    material_entries = [
        pages.MaterialEntry(_name(item.key), material.kind, material.title, item.size,
                            f"materials/{quote(_name(item.key))}")
        for material, item in materials
    ]
    forum_page = data_item(f"{root}/index.html",
                            pages.forum_page(forum, entries, material_entries))
    manifest = data_item(f"{root}/forum.json", _manifest(forum, outs, materials))
    # Forum page last: once it is there, everything it links to is there too.
    return [*media, *session_pages, manifest, forum_page], outs, forum_page.key


def publish(request: PublishRequest, progress: Progress) -> PublishResult:
    """Upload a forum's clips, transcripts, materials and viewer pages, skipping unchanged ones.

    Objects whose stored sha256 matches the local file are left alone, so the
    stage is safe to re-run. Raises `PublishError` when storage is missing,
    unreachable or refuses access, and `DiskFullError` when a local archive
    runs out of space.
    """
    backend = open_backend(request.storage)
    backend.check()  # fail on a wrong bucket before hashing gigabytes of video
    root = _forum_root(request.storage, request.forum.id)
    items, outs, forum_key = _build(request, root, progress)

    pending = [item for item in items if not backend.is_current(item)]
    if pending:  # a bar for zero bytes would sit at 0% on a clean re-run
        lock = threading.Lock()
        with progress.task("upload", total=sum(item.size for item in pending)) as task:

            def advance(amount: int) -> None:
                with lock:  # boto3 reports multipart progress from its worker threads
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


def check_storage(storage: Storage) -> None:
    """Fail fast, before hours of fetching and transcribing, if storage is unusable."""
    open_backend(storage).check()


class PublishStage(Stage[PublishResult]):
    """Declared stage: clips, transcripts, materials and pages into the archive."""

    name = "publish"
    result_type = PublishResult
    needs = (FetchResult, SplitResult, TranscribeResult)

    def preflight(self, ctx: RunContext) -> None:
        local_materials(ctx.config)
        check_storage(resolved_storage(ctx.config))

    def _materials(self, ctx: RunContext) -> list[MaterialFile]:
        return [*local_materials(ctx.config), *ctx.get(FetchResult).materials]

    def inputs(self, ctx: RunContext) -> list[Any]:
        materials = self._materials(ctx)
        return [ctx.config.summary().model_dump(mode="json"),
                resolved_storage(ctx.config).model_dump(mode="json"),
                published_checksums(ctx, materials),
                [m.model_dump(mode="json") for m in materials]]

    def outputs(self, result: PublishResult) -> list[Path]:
        return []  # what publish wrote lives in storage; is_current() checks it there

    def run(self, ctx: RunContext) -> PublishResult:
        return publish(PublishRequest(
            forum=ctx.config.summary(), clips=list(ctx.get(SplitResult).clips),
            transcripts=list(ctx.get(TranscribeResult).transcripts),
            materials=self._materials(ctx), storage=resolved_storage(ctx.config),
            checksum=ctx.checksum), ctx.progress)

    def describe(self, ctx: RunContext) -> str:
        storage = resolved_storage(ctx.config)
        if storage.s3 is not None:
            return f"to s3://{storage.s3.bucket}/{storage.s3.prefix}"
        return f"to {storage.local}"

    def summarise(self, result: PublishResult, ran: bool, report: RunReport) -> None:
        report.archive_url = result.forum_url
        if ran:
            report.uploaded = result.uploaded_count


def published_checksums(ctx: RunContext, materials: list[MaterialFile]) -> list[str]:
    clips = ctx.get(SplitResult).clips
    transcripts = ctx.get(TranscribeResult).transcripts
    paths = [c.path for c in clips] + [f for t in transcripts for f in t.files.all()]
    return [ctx.checksum(p) for p in [*paths, *(m.path for m in materials)] if p.is_file()]


def local_materials(config: ForumConfig) -> list[MaterialFile]:
    """The materials the config gives by path; a missing file is a config error."""
    files = []
    for number, material in enumerate(config.forum.materials):
        if material.path is None:
            continue  # given by URL: fetch downloads it
        path = config.resolve(material.path)
        if not path.is_file():
            raise ConfigError(config.path, f"materials[{number}].path",
                              f"file {path} not found; fix the path or remove the entry")
        files.append(MaterialFile(path=path, kind=material.kind, title=material.title))
    return files


def resolved_storage(config: ForumConfig) -> Storage:
    storage = config.forum.storage
    if storage.local is not None:
        return storage.model_copy(update={"local": config.resolve(storage.local)})
    return storage
