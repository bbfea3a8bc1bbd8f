"""What is said in the islands of speech between talks (`pipeline.boundaries.speech`), and
who said it: the speaker before (a closing line), the speaker after, or the MC.

Each island (those that stand most apart: `HEARD_MIN`, 6, or `HEARD_PER_SESSION`, four per
agenda item, whichever is more) is heard by Whisper (greedy, with the transcribe stage's
guards against invented text) and matched by `find_cue`: an MC's line ("다음은 …
있겠습니다", "… 모시겠습니다", "박수 부탁드립니다", "이상으로 오늘 포럼을 마치겠습니다");
a closing line ("이상으로 … 마치겠습니다", a short "(…) 감사합니다": at most 12 more
letters); a session's title (difflib similarity >= 0.75, normalised) or a speaker's
name (exactly, 2+ letters) said aloud, which names that session.

Its voice (`pipeline.boundaries.voice`) is compared with the `REFERENCE` (20) seconds of
speech before it and after it. `owner` decides, first rule that holds:

- an MC phrase (closing the forum or a part of it, "이상으로 오늘 포럼을 마치겠습니다",
  is one): the MC;
- a closing line ("마치겠습니다", "감사합니다") within a breath (`CLOSE_PAUSE`, 1.5 s) of the
  talk before, or in a voice near it (`VOICE_OTHER`): the speaker before;
- a breath from one side and well apart from the other: that side's speaker (a talk's
  last words after a pause; a speaker's "안녕하세요" before their talk);
- apart from both (`APART`, 2.5 s: applause, a card, music), unless its voice is near a
  neighbour's (`VOICE_NEAR`, the same speaker's median): the MC (the speech beside an MC's
  line is often another MC line, so the voice must not make it a speaker's);
- too short to hear a voice in: the side of the shorter pause;
- else the nearer voice, or the MC when both are far (`VOICE_OTHER`).

Why this order. Korean speakers nearly always close with "이상으로 발표를 마치겠습니다.
감사합니다" after a breath, which reads like the MC's closing words; Whisper cannot read
every MC line (it reads espeak-ng's Korean, the test material's MC, as noise); and the
cheap voice signature confuses two human voices on about one 3 s line in six, and on a
recording's own short lines more (measured, docs/benchmarks.md "Voices"). So the words
decide where they can, then where the line stands between the pauses, and the voice only
where both leave it open. The fit then treats an MC's line as part of a break (`Candidate` kind
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
# Word timings from the decoder (cheaper than aligning them after, and only the words
# count here), and no temperature fallback (a line Whisper cannot read is not retried).
CUE_DECODE = DecodeOptions(beam_size=1, word_timing="decoder", fallback=False)
HEARD_MIN, HEARD_PER_SESSION, REFERENCE = 6, 4, 20.0
VOICE_NEAR, VOICE_OTHER, CLOSE_PAUSE, APART = 1.0, 2.0, 1.5, 2.5
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


def owner(cue: Cue | None, island: Island, before: float, after: float) -> str:
    """Whose an island is (see the module docstring)."""
    if cue is not None and cue.span:
        return "mc"
    follows, leads = island.pause_before <= CLOSE_PAUSE, island.pause_after <= CLOSE_PAUSE
    if cue is not None and cue.kind in ("close", "thanks") and (follows or before < VOICE_OTHER):
        return "before"
    if follows != leads:  # a breath from one talk, well apart from the other
        return "before" if follows else "after"
    near = min(before, after)
    if min(island.pause_before, island.pause_after) >= APART and near >= VOICE_NEAR:
        return "mc"  # a line between two breaks, in neither neighbour's own voice
    if math.isinf(near):  # too little speech to hear a voice: the nearer pause decides
        return "before" if island.pause_before <= island.pause_after else "after"
    if near >= VOICE_OTHER:
        return "mc"
    return "before" if before <= after else "after"


def hear(islands: Sequence[Island], speech: SpeechMap, voices: Voices | None,
         listen: Callable[[float, float], str], agenda: Sequence[AgendaItem]) -> list[Heard]:
    """The islands that stand most apart, heard (`listen(start, end)` gives the words) and
    given an owner, in time order. Without `voices` the words alone decide."""
    limit = max(HEARD_MIN, HEARD_PER_SESSION * len(agenda))
    chosen = sorted(islands, key=lambda i: -max(i.pause_before, i.pause_after))[:limit]
    out = []
    for island in sorted(chosen, key=lambda i: i.start):
        text = listen(island.start, island.end)
        cue = find_cue(text, agenda)
        before = after = math.inf
        if voices is not None:
            own = voices.of([(island.start, island.end)])
            before = voices.distance(own, voices.of(speech.before(
                island.start - island.pause_before + 0.01, REFERENCE)))
            after = voices.distance(own, voices.of(speech.after(
                island.end + island.pause_after - 0.01, REFERENCE)))
        out.append(Heard(island, text, cue, _round(before), _round(after),
                         owner(cue, island, before, after)))
    return out


def _round(value: float) -> float:
    return value if math.isinf(value) else round(value, 3)


def cue_candidates(heard: Sequence[Heard]) -> list[Candidate]:
    """An MC's island is a span of the break it lies in; a speaker's closing line a point
    at its end (it strengthens the break after it); a speaker naming their own session a
    point in the pause before them (it names the break before it)."""
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
            # In the break before the island, where the session it names starts.
            out.append(Candidate(island.start - island.pause_before / 2, "cue", 0.4, None,
                                 session, item.text))
    return out


def whisper_listener(engine: Engine, read: Callable[[float, float], np.ndarray]
                     ) -> Callable[[float, float], str]:
    """`listen` for `hear`: Whisper's words for a stretch of the recording."""
    from pipeline.asr.recognise import recognise

    def listen(start: float, end: float) -> str:
        heard = recognise(engine, read(max(0.0, start - 0.2), end - start + 0.4), "ko")
        return " ".join(segment.text for segment in heard.segments)

    return listen
