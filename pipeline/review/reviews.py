"""What a run does with the sessions' reviews (`pipeline.review.document`): reviewed text wins.

- **Rewrite** (`write_from_review`): a session with a review file has the review's text.
  Its VTT, SRT, JSON and text are written from the review's `segments()` (each file
  whose text differs, whole or not at all), without Whisper; the JSON keeps Whisper's
  text as `raw_text` where a person changed it. quality.json stays Whisper's.
- **Re-transcription** (`keep_reviewed`): when Whisper runs again for a session that has
  a review (another model, engine or decoding option), the new segments are merged into
  the review (`merge_transcript`: every reviewed cue kept), the review is saved with the
  merge in its history, and the files are written from the merged review.
- **Discarding** (`discard_reviews`, `run --discard-reviews`): each review file and its
  history are moved aside, `{slug}.review.discarded-{UTC time}.json` (and
  `.review-history.discarded-{UTC time}.jsonl`), never deleted.
- **Checking** (`damaged_reviews`): one line per review file that cannot be read.

The transcribe stage makes each review file's checksum part of its session's
fingerprint, so an edit in the editor makes the next run rewrite that session (and
publish and index it again), and nothing else.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.results import ReviewProgress, Segment, SessionPlan, TranscriptFiles
from pipeline.review.document import (
    HISTORY_SUFFIX,
    REVIEW_SUFFIX,
    ReviewDocument,
    ReviewFileError,
    from_segments,
    history_path,
    load_review,
    merge_transcript,
    review_lock,
    review_path,
    save_review,
)
from pipeline.transcripts.formats import segments_from_json
from pipeline.transcripts.registry import rewrite_from_source

SESSIONS_FOLDER = "sessions"  # the work folder's `sessions/{slug}/`, where split cuts clips


@dataclass(frozen=True)
class Applied:
    """A session's text as written from its review, and the review's progress."""

    segments: tuple[Segment, ...]
    progress: ReviewProgress


def review_file(files: TranscriptFiles) -> Path:
    """The review file of the transcript whose files are `files`."""
    return review_path(files.json_path)


def review_checksum(files: TranscriptFiles, checksum: Callable[[Path], str]) -> str | None:
    """The checksum of the session's review file; None when it has none."""
    path = review_file(files)
    return checksum(path) if path.is_file() else None


def progress_of(document: ReviewDocument, applied: Literal["rewrote", "kept"] | None = None,
                kept: int = 0) -> ReviewProgress:
    reviewed, total = document.progress
    return ReviewProgress(reviewed=reviewed, total=total, applied=applied, kept=kept)


def current_progress(files: TranscriptFiles) -> ReviewProgress | None:
    """The progress of the session's review; None without one. `ReviewFileError` when
    the file is damaged."""
    document = load_review(review_file(files))
    return None if document is None else progress_of(document)


def write_from_review(files: TranscriptFiles, session: SessionPlan, language: str,
                      model: str) -> Applied | None:
    """Write the session's files from its review; None when it has no review."""
    document = load_review(review_file(files))
    if document is None:
        return None
    segments = document.segments()
    rewrite_from_source(files, session, language, model, segments, source=True)
    return Applied(segments, progress_of(document, "rewrote"))


def keep_reviewed(files: TranscriptFiles, session: SessionPlan, language: str, model: str,
                  segments: tuple[Segment, ...]) -> Applied | None:
    """After Whisper wrote `segments` for a session: merge them into its review (every
    reviewed cue kept), save it, and write the files from it. None without a review."""
    path = review_file(files)
    if not path.exists():
        return None
    with review_lock(path):  # the editor may be saving an edit meanwhile
        document = load_review(path)
        if document is None:
            return None
        merged, history = merge_transcript(document, segments, model)
        save_review(path, merged, history)
    written = merged.segments()
    rewrite_from_source(files, session, language, model, written, source=True)
    kept = sum(cue.reviewed for cue in merged.cues)
    return Applied(written, progress_of(merged, "kept", kept))


def review_files(work_dir: Path) -> list[Path]:
    """Every session's review file in a forum's work folder."""
    return sorted(work_dir.glob(f"{SESSIONS_FOLDER}/*/*{REVIEW_SUFFIX}"))


def discard_reviews(work_dir: Path, stamp: str | None = None) -> list[Path]:
    """Move every review file of the forum (and its history) aside; return where the
    review files went. The history goes first: a crash between the two leaves a review
    without its history, never a new review appending to an old history."""
    stamp = stamp or datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    moved: list[Path] = []
    for review in review_files(work_dir):
        base = review.name.removesuffix(REVIEW_SUFFIX)
        history = history_path(review)
        if history.exists():
            os.replace(history, _free(history.with_name(
                f"{base}{HISTORY_SUFFIX.removesuffix('.jsonl')}.discarded-{stamp}.jsonl")))
        target = _free(review.with_name(f"{base}.review.discarded-{stamp}.json"))
        os.replace(review, target)
        moved.append(target)
    return moved


def _free(path: Path) -> Path:
    """`path`, or the first `path` with `-2`, `-3`... before its suffix not yet taken."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def review_summary(work_dirs: Sequence[Path]) -> tuple[int, int]:
    """(review files, reviewed cues in them) in the forums' work folders: what
    `--discard-reviews` would move aside. A damaged file counts, with no cues."""
    files = cues = 0
    for review in (path for work_dir in work_dirs for path in review_files(work_dir)):
        files += 1
        try:
            document = load_review(review)
        except ReviewFileError:
            continue
        cues += document.progress[0] if document is not None else 0
    return files, cues


def damaged_reviews(work_dir: Path) -> list[str]:
    """One line for each review file of the forum that cannot be read."""
    lines = []
    for review in review_files(work_dir):
        try:
            load_review(review)
        except ReviewFileError as exc:
            lines.append(exc.one_line())
    return lines


def start_review(json_path: Path, quality: Path | None = None) -> ReviewDocument:
    """A new review of a finished transcript (its JSON), none of it reviewed yet, its cues
    that hold a low-confidence span of `quality` (quality.json) flagged."""
    text = json_path.read_text(encoding="utf-8")
    document = json.loads(text)
    spans: list[tuple[float, float]] = []
    if quality is not None and quality.is_file():
        report = json.loads(quality.read_text(encoding="utf-8"))
        spans = [(span["start"], span["end"]) for span in report.get("low_confidence", [])]
    return from_segments(document["session"]["slug"], document["language"], document["model"],
                         segments_from_json(text), spans)
