"""The caption editor's view of a forum's work folder: its sessions and their reviews.

A session is a folder `work/{forum}/sessions/{slug}/` holding the transcript's JSON
`{slug}.json` (what the transcribe stage wrote), usually the clip `{slug}.mp4` and
`{slug}.quality.json`, and, once a reviewer has saved something, the review
(`{slug}.review.json`, `pipeline.review.document`).

- **Reads** give the saved review, or, before the first save, the review that the first
  save will start from: made from the JSON's segments, flagged where quality.json's
  low-confidence spans are (`from_segments`). Nothing is written by a read.
- **Writes** (`Workspace.apply`) load, change and save under the review's lock
  (`review_lock`, an flock: two requests, two servers, or the server and a
  re-transcription never interleave), history first, each durable before the answer.
- Documents are kept in memory while their files are unchanged (size, mtime, inode),
  so listing a forum's sessions or saving a cue does not parse a long transcript again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.results import Word
from pipeline.review.document import (
    ReviewCue,
    ReviewDocument,
    from_segments,
    load_review,
    review_lock,
    review_path,
    save_review,
)
from pipeline.review.edits import Edited, with_aligned_words
from pipeline.transcripts.formats import segments_from_json
from pipeline.web.review_align import AlignJob

log = logging.getLogger("pipeline.review")
SLUG = re.compile(r"[0-9]{2,}-[a-z0-9][a-z0-9-]*")  # pipeline.results.SessionPlan.slug


class UnknownSession(PipelineError):
    """No transcribed session of that name in the work folder."""


@dataclass(frozen=True)
class ReviewSession:
    slug: str
    title: str
    folder: Path
    transcript: Path  # {slug}.json
    language: str
    model: str
    duration: float | None  # the clip's length (the JSON's session times)

    @property
    def review(self) -> Path:
        return review_path(self.transcript)

    @property
    def clip(self) -> Path | None:
        path = self.folder / f"{self.slug}.mp4"
        return path if path.is_file() else None

    @property
    def quality(self) -> Path:
        return self.folder / f"{self.slug}.quality.json"


Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_size, found.st_mtime_ns, found.st_ino


def _stamps(session: ReviewSession) -> tuple[Stamp, ...]:
    return tuple(_stamp(path) for path in (session.review, session.transcript, session.quality))


def _session(folder: Path) -> ReviewSession:
    transcript = folder / f"{folder.name}.json"
    header = json.loads(transcript.read_text(encoding="utf-8"))
    about = header.get("session") or {}
    start, end = about.get("start_in_recording"), about.get("end_in_recording")
    duration = float(end) - float(start) if start is not None and end is not None else None
    return ReviewSession(slug=folder.name, title=str(about.get("title") or folder.name),
                         folder=folder, transcript=transcript,
                         language=str(header.get("language") or "ko"),
                         model=str(header.get("model") or ""), duration=duration)


def low_confidence(quality: Path) -> list[tuple[float, float]]:
    """quality.json's low-confidence spans (start, end); none when it is missing."""
    try:
        spans = json.loads(quality.read_text(encoding="utf-8")).get("low_confidence") or []
        return [(float(span["start"]), float(span["end"])) for span in spans]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("%s cannot be read (%s): no cue of it is flagged", quality.name, exc)
        return []


class Workspace:
    """The sessions of one forum's work folder, and the one way their reviews change."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self._lock = threading.Lock()  # guards the two caches
        self._sessions: dict[str, tuple[Stamp, ReviewSession]] = {}
        self._documents: dict[str, tuple[tuple[Stamp, ...], ReviewDocument]] = {}

    def sessions(self) -> list[ReviewSession]:
        """Every session folder with a transcript, in programme order; a transcript that
        cannot be read is left out (and logged)."""
        root = self.work_dir / "sessions"
        folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        found = []
        for folder in folders:
            if SLUG.fullmatch(folder.name) and (folder / f"{folder.name}.json").is_file():
                try:
                    found.append(self._cached_session(folder))
                except (OSError, ValueError, TypeError, AttributeError) as exc:
                    log.warning("session %s is left out: its transcript cannot be read (%s)",
                                folder.name, exc)
        return found

    def session(self, slug: str) -> ReviewSession:
        if SLUG.fullmatch(slug):
            for session in self.sessions():
                if session.slug == slug:
                    return session
        raise UnknownSession(f"no transcribed session '{slug[:80]}' in this forum",
                             "choose a session from the list")

    def document(self, session: ReviewSession) -> ReviewDocument:
        """The session's review as saved, or as the first save will make it."""
        stamps = _stamps(session)
        with self._lock:
            cached = self._documents.get(session.slug)
        if cached is not None and cached[0] == stamps:
            return cached[1]
        document = load_review(session.review)
        if document is None:
            segments = segments_from_json(session.transcript.read_text(encoding="utf-8"))
            document = from_segments(session.slug, session.language, session.model, segments,
                                     low_confidence(session.quality))
        with self._lock:
            self._documents[session.slug] = (stamps, document)
        return document

    def apply(self, session: ReviewSession, change: Callable[[ReviewDocument], Edited]
              ) -> Edited:
        """`change` made on the saved review and saved, history first, under its lock."""
        with review_lock(session.review):
            edited = change(self.document(session))
            save_review(session.review, edited.document, edited.history)
            self._remember(session, edited.document)
        return edited

    def store_words(self, session: ReviewSession, cue: ReviewCue, words: Sequence[Word]
                    ) -> bool:
        """The aligner's words for `cue`, saved if the cue is still as it was."""
        with review_lock(session.review):
            document = with_aligned_words(self.document(session), cue, words)
            if document is not None:
                save_review(session.review, document)
                self._remember(session, document)
        return document is not None

    def store_aligned(self, job: AlignJob, words: tuple[Word, ...]) -> None:
        """`Realigner`'s store: the words of a queued cue, saved if it is unchanged."""
        self.store_words(self.session(job.session), job.cue, words)

    def _remember(self, session: ReviewSession, document: ReviewDocument) -> None:
        """`document` as the one just saved (no parsing it back on the next request)."""
        with self._lock:
            self._documents[session.slug] = (_stamps(session), document)

    def _cached_session(self, folder: Path) -> ReviewSession:
        stamp = _stamp(folder / f"{folder.name}.json")
        with self._lock:
            cached = self._sessions.get(folder.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        session = _session(folder)
        with self._lock:
            self._sessions[folder.name] = (stamp, session)
        return session


def cue_json(cue: ReviewCue) -> dict[str, Any]:
    """What the editor's page is told of a cue (its words stay on the server)."""
    return {"id": cue.id, "version": cue.version, "start": cue.start, "end": cue.end,
            "text": cue.text, "reviewed": cue.reviewed, "flagged": cue.flagged,
            "asr_text": cue.asr_text}
