"""What is said in the islands of speech between talks (`pipeline.boundaries.speech`), and
who said it: the speaker before (a closing line), the speaker after, or the MC.

Each island (the `HEARD_MAX` that stand most apart: at least 4, else three per agenda item)
is heard by Whisper (greedy, with the transcribe stage's guards against invented text) and
matched by `find_cue`: an MC's line ("다음은 … 있겠습니다", "… 모시겠습니다", "박수 부탁
드립니다"); a closing line ("이상으로 … 마치겠습니다", a short "(…) 감사합니다": at most 12
more letters); a session's title (difflib similarity >= 0.75, normalised) or a speaker's
name (exactly, 2+ letters) said aloud, which names that session.

Its voice (`pipeline.boundaries.voice`) is compared with the `REFERENCE` (20) seconds of
speech before it and after it. `owner` decides:

- an MC phrase (closing the forum or a part of it, "이상으로 오늘 포럼을 마치겠습니다",
  is one): the MC;
- a closing line: the speaker before, unless its voice is far from theirs (`VOICE_OTHER`);
- no phrase: the MC if its voice is far from both (`VOICE_OTHER`), else the nearer speaker.
  (Two human voices are about 1.2 apart, the same voice 0.9, so only a clearly other voice
  makes a line without words the MC's: a talk's last words after a breath stay its own.)

Why both. Korean speakers nearly always close with "이상으로 발표를 마치겠습니다. 감사합니다"
after a breath, which reads like the MC's closing words; and the cheap voice signature
alone confuses two human voices on about one 3 s line in six (measured, docs/benchmarks.md
"Voices"). The words decide where they can; the voice decides between the words that
either could say. The fit then treats an MC's line as part of a break (`Candidate` kind
"cue", a span) and a speaker's line as part of their talk (nothing between them and their
words is a break).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.asr.decoding import DecodeOptions
from pipeline.asr.engine import Engine
from pipeline.boundaries.candidates import AgendaItem, Candidate, normalise, similarity
from pipeline.boundaries.speech import Island, SpeechMap
from pipeline.boundaries.voice import Voices

# How the islands are decoded: greedily, enough to spot the phrases. The engine that
# `hear` is given decodes with its own settings' options: build it with these.
CUE_DECODE = DecodeOptions(beam_size=1)
HEARD_MIN, HEARD_PER_SESSION, REFERENCE = 4, 3, 20.0
VOICE_OTHER = 2.0
_PHRASES = (  # kind, pattern on normalised text, strength, spoken by the MC (a span)
    ("next", r"다음.*(있겠습니다|진행하겠습니다|이어가겠습니다|듣겠습니다|시작하겠습니다)|"
     r"다음(은|으로|순서|차례).*(순서|차례)입니다", 0.7, True),
    ("invite", r"(모시겠습니다|모시도록하겠습니다|모셔보겠습니다|나와주시기바랍니다|"
     r"맞이해주시기바랍니다)", 0.7, True),
    ("applause", r"박수.*(부탁|주시기|보내|주십시오)", 0.6, True),
    ("end", r"(포럼|행사|세미나|토론회|순서|일정|모두|모든).*마치", 0.7, True),
    ("close", r"(이상으로|이것으로).*마치|마치겠습니다|마치도록하겠습니다", 0.5, False),
    ("thanks", r"^.{0,12}(감사합니다|고맙습니다)$", 0.3, False),
)


@dataclass(frozen=True)
class Cue:
    kind: str  # next, invite, applause, close, thanks, or "named" (a title or name only)
    strength: float
    span: bool  # an MC's phrase: the whole utterance lies between sessions
    session: str | None  # the agenda id it names


def find_cue(text: str, agenda: Sequence[AgendaItem] = ()) -> Cue | None:
    """The MC's cue (or a talk's closing words) in `text`, and which session it names."""
    flat = normalise(text)
    named, best = None, 0.0
    for item in agenda:
        score = similarity(item.title, text) if len(normalise(item.title)) >= 4 else (
            1.0 if normalise(item.title) and normalise(item.title) in flat else 0.0)
        if any(len(normalise(s)) >= 2 and normalise(s) in flat for s in item.speakers):
            score = max(score, 0.9)
        if score >= 0.75 and score > best:
            named, best = item.id, score
    for kind, pattern, strength, span in _PHRASES:
        if re.search(pattern, flat):
            return Cue(kind, min(1.0, strength + (0.1 if named else 0.0)), span, named)
    return Cue("named", 0.4, False, named) if named else None


@dataclass(frozen=True)
class Heard:
    """An island, what was said in it, how far its voice is from the speech before and
    after it, and whose it is: "before", "after" or "mc"."""

    island: Island
    text: str
    cue: Cue | None
    voice_before: float
    voice_after: float
    owner: str


def owner(cue: Cue | None, before: float, after: float) -> str:
    """Whose an island is (see the module docstring)."""
    if cue is not None and cue.span:
        return "mc"
    if cue is not None and cue.kind in ("close", "thanks"):
        return "before" if before < VOICE_OTHER else "mc"
    if min(before, after) >= VOICE_OTHER:
        return "mc"
    return "before" if before <= after else "after"


def hear(islands: Sequence[Island], speech: SpeechMap, voices: Voices,
         listen: Callable[[float, float], str], agenda: Sequence[AgendaItem]) -> list[Heard]:
    """The islands that stand most apart, heard (`listen(start, end)` gives the words) and
    given an owner, in time order."""
    limit = max(HEARD_MIN, HEARD_PER_SESSION * len(agenda))
    chosen = sorted(islands, key=lambda i: -max(i.pause_before, i.pause_after))[:limit]
    out = []
    for island in sorted(chosen, key=lambda i: i.start):
        text = listen(island.start, island.end)
        cue = find_cue(text, agenda)
        own = voices.of([(island.start, island.end)])
        before = voices.distance(own, voices.of(speech.before(
            island.start - island.pause_before + 0.01, REFERENCE)))
        after = voices.distance(own, voices.of(speech.after(
            island.end + island.pause_after - 0.01, REFERENCE)))
        out.append(Heard(island, text, cue, _round(before), _round(after),
                         owner(cue, before, after)))
    return out


def _round(value: float) -> float:
    return value if math.isinf(value) else round(value, 3)


def cue_candidates(heard: Sequence[Heard]) -> list[Candidate]:
    """An MC's island is a span of the break it lies in; a speaker's closing line a point
    at its end (it strengthens the break after it); a speaker naming their own session a
    point at its start."""
    out = []
    for item in heard:
        island, cue = item.island, item.cue
        session = cue.session if cue else None
        if item.owner == "mc":
            strength = cue.strength if cue and (cue.span or cue.kind == "named") else 0.5
            out.append(Candidate(island.start, "cue", strength, island.end, session, item.text))
        elif cue is not None and item.owner == "before" and cue.kind in ("close", "thanks"):
            out.append(Candidate(island.end, "cue", cue.strength, None, None, item.text))
        elif cue is not None and item.owner == "after" and session:
            out.append(Candidate(island.start, "cue", 0.4, None, session, item.text))
    return out


def whisper_listener(engine: Engine, read: Callable[[float, float], np.ndarray]
                     ) -> Callable[[float, float], str]:
    """`listen` for `hear`: Whisper's words for a stretch of the recording."""
    from pipeline.asr.recognise import recognise

    def listen(start: float, end: float) -> str:
        heard = recognise(engine, read(max(0.0, start - 0.2), end - start + 0.4), "ko")
        return " ".join(segment.text for segment in heard.segments)

    return listen
