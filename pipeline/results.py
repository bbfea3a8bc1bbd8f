"""Typed values that travel between stages.

They are pydantic models so the runner can store each stage's result in the
work directory's manifest and rebuild it on a re-run without redoing the work.
Paths are absolute; times are seconds as floats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Chapter(Record):
    title: str
    start: float
    end: float


class Recording(Record):
    """The fetched master recording (fetch's result)."""

    video_path: Path
    audio_path: Path  # 16 kHz mono PCM WAV of the whole recording
    info_path: Path  # yt-dlp's info.json
    duration: float
    title: str
    source_url: str
    live_status: str | None = None
    chapters: tuple[Chapter, ...] = ()


class SpeakerRef(Record):
    name: str
    organisation: str | None = None


class SessionPlan(Record):
    """One session to cut: where it sits in the recording and what it is called."""

    number: int  # 1-based position in the programme
    id: str
    title: str
    start: float
    end: float
    speakers: tuple[SpeakerRef, ...] = ()

    @property
    def slug(self) -> str:
        """Folder and file stem: `{nn}-{id}`, stable across runs."""
        return f"{self.number:02d}-{self.id}"

    @property
    def duration(self) -> float:
        return self.end - self.start


class PlannedSession(Record):
    """A session of the plan, with where its times came from."""

    plan: SessionPlan
    source: str  # "config", "chapters", "detected" or "plan.yaml" (reviewed by staff)
    confidence: float = 1.0


class PlanResult(Record):
    """The plan stage's result: every session with its times, the gaps between them."""

    sessions: tuple[PlannedSession, ...]
    gaps: tuple[tuple[float, float], ...] = ()
    notes: tuple[str, ...] = ()
    review: tuple[str, ...] = ()  # boundaries detection is unsure of: staff should check them
    plan_file: Path | None = None

    @property
    def plans(self) -> list[SessionPlan]:
        return [planned.plan for planned in self.sessions]


class Clip(Record):
    """One cut session (split's result, per session)."""

    session: SessionPlan
    path: Path
    duration: float
    poster: Path | None = None  # poster.jpg: a representative frame for the viewer page
    cut_mode: str = "accurate"  # how it was cut: smart, accurate or copy
    fallback_reason: str | None = None  # why a smart cut fell back to accurate


class Word(Record):
    start: float
    end: float
    word: str
    probability: float


class Segment(Record):
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    raw_text: str | None = None  # Whisper's text before the forum's corrections, if changed


class TranscriptFiles(Record):
    """One transcript's files in the work folder: a field per format of
    `pipeline.transcripts.registry.FORMATS` (its `field`), then quality.json.

    The work manifest stores these fields by name: a new format adds its field here.
    """

    vtt: Path
    srt: Path
    json_path: Path
    txt: Path
    quality: Path | None = None  # quality.json: speech ratio, drops, confidence (for staff)
    # The session's review (pipeline.review), when staff started one: never published, but
    # listed, so that a change of it alone (cues confirmed) publishes the pages again.
    review: Path | None = None

    def all(self) -> tuple[Path, ...]:
        """Every file, in the order of the fields."""
        paths = (getattr(self, name) for name in type(self).model_fields)
        return tuple(path for path in paths if isinstance(path, Path))


class ReviewProgress(Record):
    """A session's review by staff (`pipeline.review`): cues reviewed of the total, and
    what the transcribe run that made the transcript did with it."""

    reviewed: int
    total: int
    # "rewrote": the files were written from the review (no Whisper); "kept": Whisper ran
    # again and the `kept` reviewed cues were kept; None: the review was already applied.
    applied: Literal["rewrote", "kept"] | None = None
    kept: int = 0

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.reviewed == self.total


class Transcript(Record):
    """Whisper's output for one clip (transcribe's result, per session)."""

    session: SessionPlan
    language: str
    files: TranscriptFiles
    # Not stored in the work folder's manifest (a forum has tens of thousands of
    # words); the transcribe stage reads them back from `files.json_path`.
    segments: tuple[Segment, ...] = Field(default=(), exclude=True)
    model: str
    review: ReviewProgress | None = None  # the session's review, when staff started one


class MaterialFile(Record):
    path: Path
    kind: str
    title: str | None = None


class MaterialLink(Record):
    """A material the config gives by URL; fetch downloads it into the work folder."""

    url: str
    kind: str
    title: str | None = None
    field: str  # where it sits in the config, e.g. "materials[1].url", for error messages


class FetchResult(Record):
    recording: Recording
    materials: tuple[MaterialFile, ...] = ()  # downloaded from MaterialLinks


class ForumSummary(Record):
    """The forum facts publish and index need, without the whole config."""

    id: str
    title: str
    date: str
    organiser: str
    language: str


class PublishedObject(Record):
    key: str
    url: str  # where a viewer or archivist opens it
    content_type: str
    size: int
    sha256: str
    uploaded: bool  # False when an identical object was already there


class PublishedSession(Record):
    session_id: str
    slug: str
    clip_url: str
    page_url: str
    vtt_url: str | None = None


class PublishResult(Record):
    objects: tuple[PublishedObject, ...]
    sessions: tuple[PublishedSession, ...]
    forum_url: str

    @property
    def uploaded_count(self) -> int:
        return sum(1 for obj in self.objects if obj.uploaded)


class IndexResult(Record):
    catalogue: Path
    forum_id: str
    segments: int


class SplitResult(Record):
    clips: tuple[Clip, ...]
    failures: dict[str, str] = {}  # session slug -> reason; the other clips are kept


class TranscribeResult(Record):
    transcripts: tuple[Transcript, ...]
    failures: dict[str, str] = {}
    transcribed: int = 0  # sessions actually run through Whisper (0 on a clean re-run)
    flags: dict[str, list[str]] = {}  # session slug -> what its quality report asks to check
