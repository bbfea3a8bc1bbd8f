"""The one way a `ForumRecord` is built, for the index stage and a rebuild alike.

The index stage hands in what it holds (its transcripts' segments, the material
files, the links publish gave); a rebuild hands in what a published `forum.json`
lists (segments and materials read back from storage, links from the backend).
Either way, sessions, speakers and segments become records here, and each
material's text is read page by page; a material whose text cannot be read is a
warning, never a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipeline.catalogue.materials import pdf_pages
from pipeline.catalogue.records import (
    ForumRecord,
    MaterialRecord,
    SegmentRecord,
    SessionRecord,
    SpeakerRecord,
)
from pipeline.results import ForumSummary, Segment, SpeakerRef


class SessionFacts(Protocol):
    """A session as planned: a `SessionPlan`, or a session of a published forum.json."""

    @property
    def number(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def slug(self) -> str: ...
    @property
    def speakers(self) -> Sequence[SpeakerRef]: ...


@dataclass(frozen=True)
class SessionSource:
    session: SessionFacts
    segments: Sequence[Segment]
    clip_url: str | None = None
    page_url: str | None = None


@dataclass(frozen=True)
class MaterialSource:
    file_name: str  # NFC, as published
    kind: str
    title: str | None
    url: str | None  # the published file; None before publish
    read: Path | Callable[[], bytes]  # the file, or a function that reads it (from a bucket)


def _session(source: SessionSource) -> SessionRecord:
    session = source.session
    return SessionRecord(
        id=session.id, number=session.number, slug=session.slug, title=session.title,
        start=session.start, end=session.end,
        speakers=tuple(SpeakerRecord(s.name, s.organisation) for s in session.speakers),
        clip_url=source.clip_url, page_url=source.page_url,
        segments=tuple(SegmentRecord(s.start, s.end, s.text) for s in source.segments))


def forum_record(forum: ForumSummary, sessions: Iterable[SessionSource],
                 materials: Iterable[MaterialSource], *, url: str | None,
                 warn: Callable[[str], None]) -> ForumRecord:
    """What the catalogue stores about `forum`; `warn` is told of each unreadable material."""
    records = []
    for material in materials:
        pdf = pdf_pages(material.file_name, material.read)
        if pdf.warning:
            warn(pdf.warning)
        records.append(MaterialRecord(material.file_name, material.kind, material.title,
                                      material.url, pdf.pages))
    return ForumRecord(forum=forum, sessions=tuple(_session(s) for s in sessions),
                       materials=tuple(records), url=url)
