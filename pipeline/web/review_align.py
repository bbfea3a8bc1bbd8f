"""Word timings for edited cues: the pipeline's own aligner, on the clip's sound, in a thread.

The aligner is the transcribe stage's (`pipeline.asr.align`: Whisper's cross-attention
and DTW, through faster-whisper's `add_word_timestamps`), given the edited text's tokens
and the cue's stretch of the clip's sound (decoded by ffmpeg from the session's clip,
with a little sound either side, as the stage's windows have). It needs the Whisper
model: the forum's (`whisper.model`, the bundled base by default), on the CPU with
faster-whisper whatever engine transcribed, loaded once, on the first edit.

**Off the request's path.** Measured on 2 CPU cores with the base model: loading it
takes about 1 s, and aligning one cue 0.9 s (a 2 s cue) to 2 s (an 11 s cue): each
alignment is one encoder pass over a padded 30 s window, whatever the cue's length. A
save must answer at once (Enter saves and moves on to the next cue), so it answers with
the words spread evenly (`edits.spread_words`, marked `words_provisional`) and hands the
cue to `Realigner`: one worker thread that aligns the queued cues one at a time and
stores each cue's words only if the cue is still as it was (`edits.with_aligned_words`);
a cue edited again meanwhile is skipped, its newer version being queued behind it.

**Without alignment** (no clip, ffmpeg or the model failing, `--no-align`): the spread
words stay, still marked provisional, and the worker says why once in the log.
"""

from __future__ import annotations

import logging
import queue
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.asr.align import Span, align
from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE
from pipeline.errors import PipelineError
from pipeline.results import Word
from pipeline.review.document import ReviewCue

log = logging.getLogger("pipeline.review")
LEAD_S = 0.5  # sound before the cue's start and after its end that the aligner hears
TAIL_S = 0.5

# (16 kHz mono sound, text, the cue's start and end in that sound) -> the text's words,
# timed in that sound; None when the aligner's words do not spell the text.
WordAligner = Callable[[np.ndarray, str, float, float], tuple[Word, ...] | None]


def whisper_aligner(settings: WhisperSettings, language: str) -> WordAligner:
    """The transcribe stage's aligner with the model `settings` name, loaded now (on the
    CPU, with faster-whisper); `ModelError` when it cannot load."""
    from faster_whisper.tokenizer import Tokenizer

    from pipeline.asr.faster import FasterWhisperEngine

    engine = FasterWhisperEngine(replace(settings, engine="faster-whisper", device="cpu",
                                         compute_type="int8"))
    engine.load()
    model: Any = engine._model  # the engine's own model and window aligner: the same
    window = engine._window_aligner(language)  # alignment as the transcribe stage's
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                          task="transcribe", language=language)

    def words(audio: np.ndarray, text: str, start: float, end: float
              ) -> tuple[Word, ...] | None:
        tokens = tuple(tokenizer.encode(f" {text}"))
        timed = align(window, audio, [Span(start, end, tokens)])[0]
        found = timed.decoded(text, 0.0, 0.0, 1.0).words
        return found if "".join(w.word for w in found).split() == text.split() else None

    return words


def clip_sound(clip: Path, start: float, end: float) -> np.ndarray:
    """start..end seconds of `clip`'s sound, 16 kHz mono float32 (ffmpeg)."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{start:.3f}",
         "-t", f"{max(end - start, 0.05):.3f}", "-i", str(clip), "-vn", "-ac", "1", "-ar",
         str(SAMPLE_RATE), "-f", "f32le", "-"], capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PipelineError(f"ffmpeg cannot read the sound of {clip.name}: "
                            f"{message[-1] if message else done.returncode}")
    return np.frombuffer(done.stdout, dtype=np.float32).copy()


def align_cue(aligner: WordAligner, clip: Path, cue: ReviewCue) -> tuple[Word, ...] | None:
    """`cue`'s words timed on `clip`'s sound (clip times), or None."""
    begin = max(0.0, cue.start - LEAD_S)
    sound = clip_sound(clip, begin, cue.end + TAIL_S)
    if len(sound) < SAMPLE_RATE // 10:
        return None
    words = aligner(sound, cue.text, cue.start - begin, min(cue.end - begin,
                                                             len(sound) / SAMPLE_RATE))
    if words is None:
        return None

    def inside(seconds: float) -> float:  # the cue's span: the words never leave it
        return round(min(max(seconds + begin, cue.start), cue.end), 3)

    return tuple(w.model_copy(update={"start": inside(w.start), "end": inside(w.end)})
                 for w in words)


@dataclass(frozen=True)
class AlignJob:
    session: str  # the session's slug
    cue: ReviewCue  # as it was saved, with its provisional words
    clip: Path | None
    language: str


Store = Callable[[AlignJob, tuple[Word, ...]], None]  # puts the words in the review file


class Realigner:
    """One worker thread aligning queued cues, newest version of each cue only."""

    def __init__(self, make_aligner: Callable[[str], WordAligner] | None, store: Store) -> None:
        self._make = make_aligner
        self._store = store
        self._aligners: dict[str, WordAligner | None] = {}
        self._queue: queue.Queue[AlignJob | None] = queue.Queue()
        self._latest: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def enabled(self) -> bool:
        return self._make is not None

    def submit(self, job: AlignJob) -> None:
        if self._make is None or job.clip is None or not job.cue.text:
            return
        with self._lock:
            self._latest[(job.session, job.cue.id)] = job.cue.version
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="review-align",
                                                daemon=True)
                self._thread.start()
        self._queue.put(job)

    def wait(self, timeout: float) -> bool:
        """Whether every queued cue was done within `timeout` seconds (for tests)."""
        done = threading.Event()

        def drained() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=drained, daemon=True).start()
        return done.wait(timeout)

    def close(self) -> None:
        """Stop after the cue being aligned; the queued ones are left (their words stay
        provisional in the file, and the next server queues them again)."""
        self._closing.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                self._one(job)
            except Exception as exc:  # a worker that dies would leave every later cue
                log.warning("could not time the words of cue %s of %s again: %s",
                            job.cue.id, job.session, exc)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _one(self, job: AlignJob) -> None:
        if self._closing.is_set():
            return
        with self._lock:
            if self._latest.get((job.session, job.cue.id)) != job.cue.version:
                return  # edited again since: its newer version is queued
        aligner = self._aligner(job.language)
        if aligner is None or job.clip is None:
            return
        words = align_cue(aligner, job.clip, job.cue)
        if words is None:
            log.info("the aligner's words do not spell cue %s of %s: its words stay spread "
                     "evenly", job.cue.id, job.session)
            return
        self._store(job, words)

    def _aligner(self, language: str) -> WordAligner | None:
        if language not in self._aligners:
            assert self._make is not None
            try:
                self._aligners[language] = self._make(language)
            except PipelineError as exc:
                log.warning("edited cues keep evenly spread word timings: %s", exc.one_line())
                self._aligners[language] = None
        return self._aligners[language]
