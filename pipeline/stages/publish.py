"""Publish stage: put a forum's clips, transcripts, materials and viewer pages in storage.

The layout and every object's headers are laid out in `pipeline.archive.layout`.
Each object's sha256 is compared with what storage already holds and only
changed objects are written, so a re-run after a crash or a corrected
transcript uploads just the difference. The order is what keeps an archive
whole for readers: media first, then the pages that link to it, and the
manifest (forum.json, which lists everything) last. A failure stops before
the manifest, so the manifest in storage never names an object that is not
there yet. Then the series' root pages (home page, feed, sitemap), which list
every forum, are rebuilt from the forum.json files in storage
(`pipeline.archive.root`: also why two publishes at once both end up listed).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pipeline.archive.layout import lay_out_archive, session_objects
from pipeline.archive.materials import forum_materials
from pipeline.archive.root import update_root
from pipeline.config.forum import Storage
from pipeline.faults import checkpoint
from pipeline.files import sha256_file
from pipeline.progress import Progress
from pipeline.results import (
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
from pipeline.stage import RunContext, RunReport, Stage
from pipeline.storage.backend import IMMUTABLE, Backend, StoredItem, without_query
from pipeline.storage.forum import (
    forum_root,
    open_backend,
    public_base,
    resolved_storage,
    root_folder,
)


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


def _sessions(request: PublishRequest, progress: Progress
              ) -> list[tuple[Clip, Transcript | None]]:
    clips = sorted(request.clips, key=lambda clip: clip.session.number)
    transcripts = {t.session.id: t for t in request.transcripts}
    for orphan in sorted(transcripts.keys() - {clip.session.id for clip in clips}):
        progress.note(f"publish: session '{orphan}' has a transcript but no clip; skipped")
    return [(clip, transcripts.get(clip.session.id)) for clip in clips]


def _write(backend: Backend, items: list[StoredItem], progress: Progress) -> set[str]:
    """Write the items that storage does not hold yet, in order; return their keys."""
    pending = [item for item in items if not backend.is_current(item)]
    if pending:  # a bar for zero bytes would sit at 0% on a clean re-run
        lock = threading.Lock()
        with progress.task("upload", total=sum(item.size for item in pending)) as task:

            def advance(amount: int) -> None:
                with lock:  # boto3 reports multipart progress from its worker threads
                    task.advance(amount)
                checkpoint("publish.upload")

            for item in pending:
                checkpoint("publish.manifest" if item.key.endswith("/forum.json")
                           else "publish.put")
                backend.put(item, advance)
    return {item.key for item in pending}


def _link(backend: Backend, item: StoredItem) -> str:
    return backend.link(item.key, item.sha256 if item.cache_control == IMMUTABLE else None)


def upload_as_done(storage: Storage, forum_id: str,
                   arriving: Iterable[tuple[Clip, Transcript]],
                   checksum: Callable[[Path], str], progress: Progress) -> set[str]:
    """Upload each session's clip, poster and transcripts as soon as it is transcribed,
    while the others still are (see pipeline.runner); return the keys written. Media
    only: the pages that link to them and forum.json, which lists them, come after, from
    `publish`, which finds these objects current and leaves them alone."""
    backend = open_backend(storage)
    root = forum_root(storage, forum_id)
    if swept := backend.sweep(root):
        progress.note(f"publish: removed {swept} unfinished upload(s) left by an earlier run")
    written: set[str] = set()
    for clip, transcript in arriving:
        written |= _write(backend, list(session_objects(root, clip, transcript,
                                                        checksum).files.values()), progress)
    return written


def publish(request: PublishRequest, progress: Progress,
            uploaded_before: frozenset[str] = frozenset()) -> PublishResult:
    """Upload a forum's clips, transcripts, materials and viewer pages, skipping unchanged ones.

    Objects whose stored sha256 matches the local file are left alone, so the
    stage is safe to re-run. `uploaded_before` names objects this run already wrote
    (`upload_as_done`): they count as uploaded. Raises `PublishError` when storage is missing,
    unreachable or refuses access, and `DiskFullError` when a local archive
    runs out of space.
    """
    backend = open_backend(request.storage)
    backend.check()  # fail on a wrong bucket before hashing gigabytes of video
    root = forum_root(request.storage, request.forum.id)
    if swept := backend.sweep(root):
        progress.note(f"publish: removed {swept} unfinished upload(s) left by an earlier run")
    with tempfile.TemporaryDirectory(prefix="sort-archive-publish-") as scratch:
        base = public_base(request.storage)
        layout = lay_out_archive(request.forum, root, _sessions(request, progress),
                                 request.materials, request.checksum, Path(scratch),
                                 forum_url=f"{base}{quote(request.forum.id)}/" if base else None)
        listed = [*layout.media, *layout.pages]
        items = [*listed, layout.manifest(listed)]  # the manifest last: see the module doc
        written = _write(backend, items, progress)

    progress.note(
        f"publish: {len(written)} of {len(items)} objects written to {backend.where}"
        + ("" if written else " (all were already up to date)")
    )
    # After forum.json: the root pages are rendered from what storage lists.
    update_root(backend, root_folder(request.storage), public_base(request.storage), progress)
    objects = tuple(
        PublishedObject(key=item.key, url=_link(backend, item), content_type=item.content_type,
                        size=item.size, sha256=item.sha256,
                        uploaded=item.key in written or item.key in uploaded_before)
        for item in items
    )
    sessions = tuple(
        PublishedSession(
            session_id=out.clip.session.id, slug=out.clip.session.slug,
            clip_url=_link(backend, out.files["video"]),
            page_url=backend.link(out.page_key),
            vtt_url=_link(backend, out.files["vtt"]) if "vtt" in out.files else None,
        )
        for out in layout.sessions
    )
    return PublishResult(objects=objects, sessions=sessions,
                         forum_url=backend.link(layout.forum_page.key))


def check_storage(storage: Storage) -> None:
    """Fail fast, before hours of fetching and transcribing, if storage is unusable."""
    open_backend(storage).check()


class PublishStage(Stage[PublishResult]):
    """Declared stage: clips, transcripts, materials and pages into the archive."""

    name = "publish"
    result_type = PublishResult
    needs = (FetchResult, SplitResult, TranscribeResult)
    # A session's clip and transcripts are uploaded as soon as it is transcribed.
    takes_sessions_from = TranscribeResult

    def preflight(self, ctx: RunContext) -> None:
        forum_materials(ctx.config, require=True)
        check_storage(resolved_storage(ctx.config))

    def _materials(self, ctx: RunContext) -> list[MaterialFile]:
        return forum_materials(ctx.config, ctx.get(FetchResult).materials, require=True)

    def inputs(self, ctx: RunContext) -> list[Any]:
        materials = self._materials(ctx)
        return [ctx.config.summary().model_dump(mode="json"),
                _storage_inputs(resolved_storage(ctx.config)),
                published_checksums(ctx, materials),
                [m.model_dump(mode="json") for m in materials]]

    def outputs(self, result: PublishResult) -> list[Path]:
        return []  # what publish wrote lives in storage; is_current() checks it there

    def run(self, ctx: RunContext) -> PublishResult:
        arriving = ctx.arriving(TranscribeResult)  # transcribe still running beside this
        early = frozenset() if arriving is None else frozenset(upload_as_done(
            resolved_storage(ctx.config), ctx.config.forum.id, arriving, ctx.checksum,
            ctx.progress))
        return publish(PublishRequest(
            forum=ctx.config.summary(), clips=list(ctx.get(SplitResult).clips),
            transcripts=list(ctx.get(TranscribeResult).transcripts),
            materials=self._materials(ctx), storage=resolved_storage(ctx.config),
            checksum=ctx.checksum), ctx.progress, uploaded_before=early)

    def describe(self, ctx: RunContext) -> str:
        storage = resolved_storage(ctx.config)
        if storage.s3 is not None:
            return f"to s3://{storage.s3.bucket}/{storage.s3.prefix}"
        return f"to {storage.local}"

    def summarise(self, result: PublishResult, ran: bool, report: RunReport) -> None:
        # Where, not how: a presigned link is a bearer secret and stays out of logs.
        report.archive_url = without_query(result.forum_url)
        if ran:
            report.uploaded = result.uploaded_count


def _storage_inputs(storage: Storage) -> dict[str, Any]:
    """The storage as the fingerprint sees it: `public_base_url` (where a local folder
    is served) only when set, so the runs made before it existed stay up to date."""
    dumped = storage.model_dump(mode="json")
    if dumped.get("public_base_url") is None:
        dumped.pop("public_base_url", None)
    return dumped


def published_checksums(ctx: RunContext, materials: list[MaterialFile]) -> list[str]:
    clips = ctx.get(SplitResult).clips
    transcripts = ctx.get(TranscribeResult).transcripts
    paths = [c.path for c in clips] + [f for t in transcripts for f in t.files.all()]
    return [ctx.checksum(p) for p in [*paths, *(m.path for m in materials)] if p.is_file()]
