"""Index stage: this forum's transcripts and material pages into the search catalogue.

The catalogue (its schema, the Korean analysis, ranking) is `pipeline.catalogue`.
This stage only gathers what goes in: each session's transcript with the links
publish gave it, and the text of each material PDF with its published link,
and hands them to the catalogue's writer, which replaces this forum's rows and
no other forum's.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.archive.materials import forum_materials
from pipeline.catalogue import ForumRecord, write_forum
from pipeline.catalogue.gather import MaterialSource, SessionSource, forum_record
from pipeline.progress import Progress
from pipeline.results import (
    FetchResult,
    ForumSummary,
    IndexResult,
    MaterialFile,
    PublishResult,
    TranscribeResult,
    Transcript,
)
from pipeline.stage import RunContext, RunReport, Stage


@dataclass(frozen=True)
class IndexRequest:
    forum: ForumSummary
    transcripts: list[Transcript]
    published: PublishResult | None  # gives the session, clip and material links
    catalogue: Path
    materials: list[MaterialFile] = field(default_factory=list)


def _record(request: IndexRequest, progress: Progress) -> ForumRecord:
    """What the catalogue stores about this forum; unreadable materials are noted."""
    published = request.published
    links = {s.session_id: s for s in published.sessions} if published else {}
    sessions = []
    for transcript in request.transcripts:
        link = links.get(transcript.session.id)
        sessions.append(SessionSource(transcript.session, transcript.segments,
                                      clip_url=link.clip_url if link else None,
                                      page_url=link.page_url if link else None))
    urls = {o.key.rsplit("/", 1)[-1]: o.url for o in published.objects
            if "/materials/" in o.key} if published else {}
    materials = []
    for material in request.materials:
        # NFC, as publish names it: macOS hands out decomposed Hangul file names.
        name = unicodedata.normalize("NFC", material.path.name)
        materials.append(MaterialSource(name, material.kind, material.title, urls.get(name),
                                        material.path))
    return forum_record(request.forum, sessions, materials,
                        url=published.forum_url if published else None,
                        warn=lambda warning: progress.note(f"index: {warning}"))


def index_forum(request: IndexRequest, progress: Progress) -> IndexResult:
    """Replace this forum's rows in the catalogue, in one transaction."""
    record = _record(request, progress)
    with progress.task("index", total=record.segment_count) as task:
        written = write_forum(request.catalogue, record, advance=task.advance)
    return IndexResult(catalogue=request.catalogue, forum_id=written.forum_id,
                       segments=written.segments)


def _materials(ctx: RunContext) -> list[MaterialFile]:
    """The materials publish published; a file gone missing since is a note when its text
    is read."""
    return forum_materials(ctx.config, ctx.get(FetchResult).materials, require=False)


class IndexStage(Stage[IndexResult]):
    """Declared stage: this forum's transcripts and materials into the shared catalogue."""

    name = "index"
    result_type = IndexResult
    needs = (FetchResult, TranscribeResult, PublishResult)
    always_run = True  # cheap, and its output (the shared catalogue) lives outside work/

    def inputs(self, ctx: RunContext) -> list[Any]:
        transcripts = ctx.get(TranscribeResult).transcripts
        return [str(ctx.catalogue), [ctx.checksum(t.files.json_path) for t in transcripts],
                [ctx.checksum(m.path) for m in _materials(ctx) if m.path.is_file()],
                ctx.get(PublishResult).forum_url]

    def outputs(self, result: IndexResult) -> list[Path]:
        return []

    def run(self, ctx: RunContext) -> IndexResult:
        return index_forum(IndexRequest(
            forum=ctx.config.summary(), transcripts=list(ctx.get(TranscribeResult).transcripts),
            published=ctx.get(PublishResult), catalogue=ctx.catalogue,
            materials=_materials(ctx)), ctx.progress)

    def describe(self, ctx: RunContext) -> str:
        return f"into {ctx.catalogue}"

    def summarise(self, result: IndexResult, ran: bool, report: RunReport) -> None:
        report.catalogue = result.catalogue
