"""A session's reviewed transcript: the one owner of its file format.

`{slug}.review.json` sits beside the session's transcript in the work folder, and
`{slug}.review-history.jsonl` beside it holds every change (when, what before, what
after). The review file is made from Whisper's segments when a reviewer first opens
the session (`from_segments`), and from then on it is the session's text: the
transcribe stage writes the VTT, SRT, JSON and text from it (reviewed text wins,
`segments`).

**Cues.** Each cue has a stable `id` (a split gives the second half a new one) and a
`version`, raised by every change, so an edit names the version it was made on and a
second tab's edit of the same cue is a conflict, not an overwrite (`ReviewConflict`).
`reviewed` is set when a person has saved the cue; `asr_text` keeps what Whisper
said, and `flagged` marks a cue that holds a low-confidence span of quality.json.

**Writes** are atomic (a temporary file, fsync, rename, fsync of the folder), and the
history is appended and fsynced before the document is replaced: a crash or a closed
tab loses no saved edit, and never leaves half a file.

**Another model.** `merge_transcript` keeps every reviewed cue of a document and
takes the new transcript's segments only where no reviewed cue is: a re-transcription
never discards human corrections.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import PipelineError
from pipeline.results import Segment, Word

FORMAT_VERSION = 1
REVIEW_SUFFIX = ".review.json"
HISTORY_SUFFIX = ".review-history.jsonl"


class ReviewConflict(PipelineError):
    """A cue changed since the version an edit was made on (another tab saved it)."""


class ReviewFileError(PipelineError):
    """A review file that cannot be read as one."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReviewCue(_Record):
    id: str  # stable: "c0001"; a split's second half gets the next free number
    version: int = 0  # raised by every change to this cue
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    words: tuple[Word, ...] = ()
    reviewed: bool = False  # a person saved it
    asr_text: str | None = None  # what Whisper said, before any person's change
    flagged: bool = False  # holds a low-confidence span (quality.json)
    # The words are spread evenly over the cue (after an edit) until the aligner times them
    # again (pipeline.web.review_align); False: timed by Whisper's aligner.
    words_provisional: bool = False

    def segment(self) -> Segment:
        return Segment(start=self.start, end=self.end, text=self.text, words=self.words,
                       raw_text=self.asr_text if self.asr_text != self.text else None)


class ReviewDocument(_Record):
    format: int = FORMAT_VERSION
    session: str  # the session's slug
    language: str
    model: str  # the Whisper model the unreviewed cues came from
    cues: tuple[ReviewCue, ...]

    def segments(self) -> tuple[Segment, ...]:
        """The session's text as the transcript files are written from it."""
        return tuple(cue.segment() for cue in self.cues if cue.text.strip())

    @property
    def progress(self) -> tuple[int, int]:
        """(cues reviewed, cues in all)."""
        return sum(cue.reviewed for cue in self.cues), len(self.cues)

    @property
    def complete(self) -> bool:
        reviewed, total = self.progress
        return total > 0 and reviewed == total

    def cue(self, cue_id: str) -> ReviewCue:
        for cue in self.cues:
            if cue.id == cue_id:
                return cue
        raise ReviewConflict(f"cue {cue_id} is not in session {self.session}",
                             "reload the page: the cue was merged or removed meanwhile")

    def next_id(self) -> str:
        numbers = [int(cue.id[1:]) for cue in self.cues if cue.id[1:].isdigit()]
        return f"c{max(numbers, default=0) + 1:04d}"


class HistoryEntry(_Record):
    at: str  # ISO 8601, UTC
    session: str
    # "correction": an accepted `corrections:` entry applied to an unreviewed cue
    # (pipeline.review.corrections)
    action: Literal["edit", "split", "merge", "review", "merge-transcript", "correction"]
    cues: tuple[str, ...]  # the ids it touched
    before: tuple[ReviewCue, ...] = ()
    after: tuple[ReviewCue, ...] = ()


def review_path(json_path: Path) -> Path:
    """The review file of the transcript whose JSON is `json_path` ({slug}.json)."""
    return json_path.with_name(json_path.stem + REVIEW_SUFFIX)


def history_path(review: Path) -> Path:
    return review.with_name(review.name.removesuffix(REVIEW_SUFFIX) + HISTORY_SUFFIX)


@contextlib.contextmanager
def review_lock(path: Path) -> Iterator[None]:
    """Hold the lock of the review at `path` (an flock on a hidden file beside it) for a
    read-modify-write: the editor's saves and a re-transcription's merge never interleave,
    in one process or several."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def from_segments(session: str, language: str, model: str, segments: Sequence[Segment],
                  low_confidence: Sequence[tuple[float, float]] = ()) -> ReviewDocument:
    """A new review of Whisper's `segments`, none reviewed yet; a cue overlapping one of
    the `low_confidence` spans (quality.json) is flagged."""
    cues = tuple(
        ReviewCue(id=f"c{number:04d}", start=seg.start, end=seg.end, text=seg.text.strip(),
                  words=seg.words, asr_text=seg.text.strip(),
                  flagged=any(start < seg.end and seg.start < end
                              for start, end in low_confidence))
        for number, seg in enumerate((s for s in segments if s.text.strip()), start=1))
    return ReviewDocument(session=session, language=language, model=model, cues=cues)


def load_review(path: Path) -> ReviewDocument | None:
    """The review at `path`; None when there is none. `ReviewFileError` when damaged."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewFileError(f"cannot read the review file {path}: {exc}",
                              "check the file's permissions, or restore it from a backup"
                              ) from exc
    try:
        return ReviewDocument.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ReviewFileError(f"the review file {path} is damaged at {where}: {first['msg']}",
                              f"restore it from its history ({history_path(path).name}) "
                              "or a backup") from None


def save_review(path: Path, document: ReviewDocument,
                history: Sequence[HistoryEntry] = ()) -> None:
    """Append `history`, then replace the review with `document`, each durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if history:
        with history_path(path).open("a", encoding="utf-8") as log:
            log.writelines(entry.model_dump_json() + "\n" for entry in history)
            log.flush()
            os.fsync(log.fileno())
    _write_atomically(path, document.model_dump_json(indent=1) + "\n")


def read_history(path: Path) -> list[HistoryEntry]:
    """Every change of the review at `path`, oldest first; a torn last line (a crash
    while appending) is skipped."""
    entries: list[HistoryEntry] = []
    try:
        lines = history_path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return entries
    for line in lines:
        try:
            entries.append(HistoryEntry.model_validate(json.loads(line)))
        except (ValueError, ValidationError):
            continue
    return entries


def _write_atomically(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def merge_transcript(document: ReviewDocument, segments: Sequence[Segment], model: str,
                     ) -> tuple[ReviewDocument, list[HistoryEntry]]:
    """`document` after a new transcription into `segments` (by `model`): every reviewed
    cue kept as it is; the unreviewed ones replaced by the new segments that overlap no
    reviewed cue (flagged where the forum's corrections changed Whisper's text). Returns
    the document and the history entry saying so."""
    kept = [cue for cue in document.cues if cue.reviewed]
    fresh = [seg for seg in segments if seg.text.strip() and not any(
        cue.start < seg.end and seg.start < cue.end for cue in kept)]
    numbered = document
    new_cues: list[ReviewCue] = []
    for seg in fresh:
        # A line the forum's corrections changed is flagged: a person should see it.
        cue = ReviewCue(id=numbered.next_id(), start=seg.start, end=seg.end,
                        text=seg.text.strip(), words=seg.words,
                        asr_text=(seg.raw_text or seg.text).strip(),
                        flagged=seg.raw_text is not None)
        new_cues.append(cue)
        numbered = numbered.model_copy(update={"cues": (*numbered.cues, cue)})
    cues = tuple(sorted([*kept, *new_cues], key=lambda cue: (cue.start, cue.end)))
    dropped = tuple(cue for cue in document.cues if not cue.reviewed)
    entry = HistoryEntry(at=now(), session=document.session, action="merge-transcript",
                         cues=tuple(cue.id for cue in (*dropped, *new_cues)),
                         before=dropped, after=tuple(new_cues))
    return document.model_copy(update={"cues": cues, "model": model}), [entry]
