"""A small real work folder for the caption editor, and its server in a thread.

Two sessions of a forum, as the pipeline leaves them in `work/{forum}/sessions/{slug}/`:
a 12-second counter clip (tests/recordings.py), the transcript written by the transcribe
stage's own writers (`pipeline.asr.job.write_files`: VTT, SRT, JSON, text, quality.json),
and a quality.json whose low-confidence span flags the third cue of the opening. The
forum config beside it is written by tests/forums.py. One line holds markup that would
set `window.__pwned` if the page ever wrote text as HTML.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.asr.job import transcript_files, write_files
from pipeline.results import Segment, SessionPlan, Word
from pipeline.review.document import ReviewDocument, load_review, read_history, review_path
from pipeline.web.review import create_review_app
from pipeline.web.review_align import Realigner, WordAligner
from pipeline.web.review_work import Workspace
from pipeline.web.server import server_config
from tests.forums import write_forum
from tests.recordings import counter_video
from tests.web.threaded import uvicorn_in_thread

FORUM_ID = "review-2025"
FORUM_TITLE = "2025 공공부문 포럼"
CLIP_SECONDS = 12.0
MARKUP = "<img src=x onerror=\"window.__pwned = 'cue'\">"
OPENING = SessionPlan(number=1, id="opening", title="개회사", start=0.0, end=CLIP_SECONDS)
PANEL = SessionPlan(number=2, id="panel", title="패널 토론", start=CLIP_SECONDS,
                    end=2 * CLIP_SECONDS)


def _words(text: str, start: float, end: float) -> tuple[Word, ...]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return tuple(Word(start=round(start + i * step, 3), end=round(start + (i + 1) * step, 3),
                      word=f" {token}", probability=0.9) for i, token in enumerate(tokens))


def _segment(start: float, end: float, text: str) -> Segment:
    return Segment(start=start, end=end, text=text, words=_words(text, start, end))


SEGMENTS = {
    OPENING.slug: (
        _segment(0.0, 2.5, "안녕하십니까 포럼을 시작하겠습니다"),
        _segment(3.0, 4.0, "한국 가스공사의 사례입니다"),  # one second: replayed quickly
        _segment(4.5, 8.0, "음악 소리 음악 소리"),  # in the low-confidence span: flagged
        _segment(8.5, 11.5, f"{MARKUP} 감사합니다"),
    ),
    PANEL.slug: (
        _segment(0.5, 4.0, "ESG 평가는 어떻게 바뀌어야 할까요"),
        _segment(6.2, 10.0, "성과 측정 지표를 소개합니다"),
    ),
}
LOW_CONFIDENCE = {OPENING.slug: [(4.6, 7.0)], PANEL.slug: []}


@dataclass(frozen=True)
class WorkFolder:
    root: Path
    config: Path

    @property
    def work_dir(self) -> Path:
        return self.root / "work" / FORUM_ID

    def folder(self, session: SessionPlan = OPENING) -> Path:
        return self.work_dir / "sessions" / session.slug

    def review_file(self, session: SessionPlan = OPENING) -> Path:
        return review_path(self.folder(session) / f"{session.slug}.json")

    def review(self, session: SessionPlan = OPENING) -> ReviewDocument:
        document = load_review(self.review_file(session))
        assert document is not None, "no review file was written"
        return document

    def history(self, session: SessionPlan = OPENING) -> list[Any]:
        return read_history(self.review_file(session))


def make_clip(folder: Path) -> Path:
    """The 12-second counter clip every work folder copies."""
    return counter_video(folder / "clip.mp4", CLIP_SECONDS, [440.0, 660.0, 880.0])


def build_work_folder(root: Path, clip: Path) -> WorkFolder:
    """The forum's work folder under `root`, as the pipeline leaves it after a run."""
    root.mkdir(parents=True, exist_ok=True)
    config = write_forum(root, FORUM_ID, FORUM_TITLE,
                         [("opening", "개회사", 0.0, 12.0), ("panel", "패널 토론", 12.0, 24.0)])
    work = WorkFolder(root, config)
    for plan in (OPENING, PANEL):
        folder = work.folder(plan)
        folder.mkdir(parents=True)
        shutil.copy(clip, folder / f"{plan.slug}.mp4")
        spans = [{"start": start, "end": end, "text": ""}
                 for start, end in LOW_CONFIDENCE[plan.slug]]
        quality = {"duration": CLIP_SECONDS, "speech_ratio": 0.9,
                   "segment_count": len(SEGMENTS[plan.slug]), "low_confidence": spans}
        write_files(transcript_files(folder, plan.slug, "ko"), plan, "ko", "base",
                    SEGMENTS[plan.slug], quality)
    return work


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    token: str
    workspace: Workspace
    realigner: Realigner | None

    @property
    def url(self) -> str:
        return f"{self.base}/#token={self.token}"

    @property
    def origin(self) -> str:
        return self.base


@contextmanager
def review_server(work: WorkFolder, aligner: WordAligner | None = None) -> Iterator[Served]:
    """The editor's server over `work`, in a thread on a free loopback port; edited cues
    are timed again by `aligner` (None: their words stay spread evenly)."""
    token = secrets.token_urlsafe(32)
    workspace = Workspace(work.work_dir)
    realigner = (Realigner(lambda language: aligner, workspace.store_aligned)
                 if aligner is not None else None)
    app = create_review_app(workspace, token, forum_title=FORUM_TITLE, realigner=realigner)
    config = server_config(app, log_level="warning", forwarded_allow_ips=None)
    with uvicorn_in_thread(config, start_within=20) as base:
        yield Served(base, token, workspace, realigner)
