"""What the catalogue stores about one forum: the writer's input.

The index stage builds a `ForumRecord` from its transcripts and the URLs
publish gave; a rebuild builds the same record from a published `forum.json`.
Times are seconds from the start of the session's clip, as Whisper wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.results import ForumSummary


@dataclass(frozen=True)
class SegmentRecord:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class SpeakerRecord:
    name: str
    organisation: str | None = None


@dataclass(frozen=True)
class SessionRecord:
    id: str
    number: int  # 1-based position in the programme
    slug: str  # `{nn}-{id}`: folder and file stem in the archive
    title: str
    start: float  # where the clip sits in the recording
    end: float
    speakers: tuple[SpeakerRecord, ...] = ()
    clip_url: str | None = None
    page_url: str | None = None  # the viewer page that plays the clip and seeks to #t=
    segments: tuple[SegmentRecord, ...] = ()


@dataclass(frozen=True)
class MaterialPage:
    number: int  # 1-based, as `#page=N` counts
    text: str


@dataclass(frozen=True)
class MaterialRecord:
    file_name: str  # as published: materials/{file_name}
    kind: str  # proceedings, slides, declaration, other
    title: str | None = None
    url: str | None = None  # the published PDF
    pages: tuple[MaterialPage, ...] = ()


@dataclass(frozen=True)
class ForumRecord:
    forum: ForumSummary
    sessions: tuple[SessionRecord, ...] = ()
    materials: tuple[MaterialRecord, ...] = ()
    url: str | None = None  # the published forum page

    @property
    def segment_count(self) -> int:
        return sum(len(session.segments) for session in self.sessions)


@dataclass(frozen=True)
class WriteResult:
    forum_id: str
    segments: int  # segments indexed (blank ones are skipped)
    pages: int  # material pages indexed (pages without text are skipped)
