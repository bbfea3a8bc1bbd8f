"""Cues: which words a subtitle shows, and when. The one owner of the cue rules; the
writers (`pipeline.transcripts.formats`) only spell out what `timed_cues` gives them.

Two steps, each with its reason:

- `readable_cues` (at transcription, before the forum's corrections; its cues are the
  JSON's segments): Whisper's segments follow its 30-second windows, not the reader, so a
  segment longer than MAX_CUE_SECONDS or MAX_CUE_CHARS is split where a word ends.
- `timed_cues` (whenever a subtitle or text file is written, so VTT, SRT and text come
  from one cue list): Whisper's times are speech times, and some are no use to a viewer.
  It sometimes gives a segment no length at all (`26.980 --> 26.980`): players never show
  it, and the W3C's WebVTT parser and strict SRT parsers reject the file. When it loops it
  writes the same words as cue after cue. So, in this order:

  1. Into the clip: times are clamped to 0 .. the clip's length (when the writer knows
     it); a cue never starts before the one before it starts, and one that starts
     before the one before it ends cuts that one short. Blank cues are dropped.
  2. Repeats merge: a cue whose text (whitespace normalised) is the text of the cue
     before it, and that starts at most REPEAT_GAP_SECONDS (2 s) after that one ends,
     joins it: one cue from the first's start to the last's end, its text shown once.
     (Said again after a longer silence, it is said again: merged, the words would stay
     on screen through the silence between, which may be minutes of applause.)
  3. Minimum: every cue lasts at least MIN_CUE_SECONDS (0.7 s; a glance at two or three
     words). A shorter cue is lengthened into the silence after it (up to the next cue's
     start), then into the silence before it (back to the end of the cue before it).
     When the silence is not enough it is merged with the next cue (with the one before
     it when it is the last), and the merged cue is checked again. No speech is dropped.
  4. Reading speed: a cue is then lengthened, the same way but only into the silence
     that is left, until it is shown for one second per READING_CPS (14) characters,
     spaces counted: the reading speed Korean subtitle guides give for same-language
     captions of adult programmes (12 for translated subtitles). This step never
     merges: two fast cues merged make one cue read just as fast, so merging for
     reading speed would snowball into screens of text.

  Cues never overlap and keep their order; times are kept to the millisecond the files
  are written in. Applying `timed_cues` to its own result changes nothing.

CUE_RULES is the version of these rules: the transcribe stage rewrites the subtitle and
text files of earlier runs from their JSON when it changes, without running Whisper.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.results import Segment, Word

CUE_RULES = 1  # bump when a rule here changes what the written files say

MAX_CUE_SECONDS = 7.0
MAX_CUE_CHARS = 42  # two short lines of Korean on a phone screen
MIN_CUE_SECONDS = 0.7
READING_CPS = 14.0  # characters a second, spaces counted
REPEAT_GAP_SECONDS = 2.0  # a repeat after a longer silence is said again, not a loop
_EPSILON = 1e-6  # times are whole milliseconds; this absorbs float rounding


def readable_cues(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """Split Whisper segments (up to 30 s long) into subtitle-sized ones at word boundaries.

    Whisper's segments follow its 30-second windows, not the reader; a 30-second cue
    covers the screen. Word timings let us break where a word ends, so every cue still
    starts and ends on speech.
    """
    cues: list[Segment] = []
    for segment in segments:
        too_long = (segment.end - segment.start > MAX_CUE_SECONDS
                    or len(segment.text.strip()) > MAX_CUE_CHARS)
        if not segment.words or not too_long:
            cues.append(segment)
            continue
        group: list[Word] = []
        for word in segment.words:
            if group and (word.end - group[0].start > MAX_CUE_SECONDS
                          or len("".join(w.word for w in [*group, word]).strip())
                          > MAX_CUE_CHARS):
                cues.append(_joined(group))
                group = []
            group.append(word)
        if group:
            cues.append(_joined(group))
    return tuple(cues)


def _joined(words: list[Word]) -> Segment:
    return Segment(start=words[0].start, end=words[-1].end,
                   text="".join(w.word for w in words).strip(), words=tuple(words))


def timed_cues(segments: Sequence[Segment], until: float | None = None
               ) -> tuple[Segment, ...]:
    """The cues a subtitle file shows for `segments`, by the rules above. `until` is the
    clip's length in seconds; None when the writer does not know it (the last cue may
    then be lengthened past its own end)."""
    cues = _without_repeats(_into_clip(segments, until))
    cues = _without_repeats(_long_enough(cues, until))  # merging may make a repeat
    return tuple(_without_repeats(_readable(cues, until)))  # so may closing a gap


def normal_text(text: str) -> str:
    """A cue's text as it is compared and shown: runs of whitespace as one space."""
    return " ".join(text.split())


def is_repeat(before: Segment, cue: Segment) -> bool:
    """Whether `cue` repeats the cue `before` it (rule 2)."""
    return (normal_text(before.text) == normal_text(cue.text)
            and cue.start - before.end <= REPEAT_GAP_SECONDS + _EPSILON)


def reading_seconds(text: str) -> float:
    """How long a cue with `text` should be shown: at least MIN_CUE_SECONDS, and one
    second per READING_CPS characters."""
    return max(MIN_CUE_SECONDS, len(normal_text(text)) / READING_CPS)


def _ms(seconds: float) -> float:
    return round(seconds, 3)


def _into_clip(segments: Sequence[Segment], until: float | None) -> list[Segment]:
    cues: list[Segment] = []
    for segment in segments:
        if not normal_text(segment.text):
            continue
        start = _ms(max(0.0, segment.start, cues[-1].start if cues else 0.0))
        end = _ms(max(start, segment.end))
        if until is not None:
            start, end = min(start, _ms(until)), min(end, _ms(until))
        if cues and cues[-1].end > start:
            cues[-1] = cues[-1].model_copy(update={"end": start})
        cues.append(segment.model_copy(update={"start": start, "end": end}))
    return cues


def _without_repeats(cues: list[Segment]) -> list[Segment]:
    kept: list[Segment] = []
    for cue in cues:
        if kept and is_repeat(kept[-1], cue):
            kept[-1] = _merged(kept[-1], cue, repeat=True)
        else:
            kept.append(cue)
    return kept


def _long_enough(cues: list[Segment], until: float | None) -> list[Segment]:
    """Rule 3: every cue at least MIN_CUE_SECONDS, by the silence around it or merged."""
    pending = list(cues)
    done: list[Segment] = []
    for index, cue in enumerate(pending):  # sees the merges made into pending[index + 1]
        floor = done[-1].end if done else 0.0
        following = pending[index + 1] if index + 1 < len(pending) else None
        ceiling = following.start if following is not None else until
        stretched = _stretched(cue, MIN_CUE_SECONDS, floor, ceiling)
        if _length(stretched) >= MIN_CUE_SECONDS - _EPSILON:
            done.append(stretched)
        elif following is not None:  # checked again when its turn comes
            pending[index + 1] = _merged(cue, following)
        elif done:  # the last cue: the one before it already lasts long enough
            done.append(_merged(done.pop(), cue))
        else:  # the only cue, in a clip too short for it: as long as the clip
            done.append(stretched)
    return done


def _readable(cues: list[Segment], until: float | None) -> list[Segment]:
    """Rule 4: lengthen each cue towards its reading time into the silence that is left."""
    done: list[Segment] = []
    for index, cue in enumerate(cues):
        floor = done[-1].end if done else 0.0
        ceiling = cues[index + 1].start if index + 1 < len(cues) else until
        done.append(_stretched(cue, reading_seconds(cue.text), floor, ceiling))
    return done


def _length(cue: Segment) -> float:
    return cue.end - cue.start


def _stretched(cue: Segment, seconds: float, floor: float, ceiling: float | None
               ) -> Segment:
    """`cue` lengthened to `seconds`: its end moved later (no later than `ceiling`, None
    for no limit), then its start earlier (no earlier than `floor`)."""
    missing = seconds - _length(cue)
    if missing <= _EPSILON:
        return cue
    end = cue.end + missing if ceiling is None else max(cue.end, min(ceiling, cue.end + missing))
    start = min(cue.start, max(floor, cue.start - (seconds - (end - cue.start))))
    return cue.model_copy(update={"start": _ms(start), "end": _ms(end)})


def _merged(first: Segment, second: Segment, *, repeat: bool = False) -> Segment:
    """One cue from `first`'s start to the later end; a repeat's text is shown once."""
    text = normal_text(first.text) if repeat else (
        f"{normal_text(first.text)} {normal_text(second.text)}")
    raw_text = None
    if first.raw_text is not None or second.raw_text is not None:
        raw_text = (first.raw_text or first.text) if repeat else (
            f"{normal_text(first.raw_text or first.text)} "
            f"{normal_text(second.raw_text or second.text)}")
    return Segment(start=first.start, end=max(first.end, second.end), text=text,
                   words=first.words + second.words, raw_text=raw_text)
