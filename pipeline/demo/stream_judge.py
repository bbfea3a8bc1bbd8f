"""How well a plan cut the stream-like recording (`pipeline.demo.stream`), against its
ground truth: what the tests and scripts/bench/plan.py measure.

A talk's clip must hold every word of the talk (its first word to its last, the speaker's
closing line included) and nothing foreign: the waiting screen, the break (its MC line, card
and music), another talk (from its MC line to its applause), or the MC's closing line and
end card. It may open with the MC line that introduces it, and close with its applause;
the room tone between them is neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.demo.stream_truth import StreamTalkTruth, StreamTruth


@dataclass(frozen=True)
class ClipJudgement:
    session_id: str
    start: float
    end: float
    speech_cut: float  # seconds of the talk's speech outside its clip
    foreign: float  # seconds of foreign content inside the clip
    foreign_parts: tuple[str, ...]  # what they were

    def whole_and_alone(self, tolerance: float = 0.3) -> bool:
        """Every word inside (to a syllable's decay, 50 ms), and at most `tolerance`
        seconds of anything foreign."""
        return self.speech_cut <= 0.05 and self.foreign <= tolerance


def _talk_span(talk: StreamTalkTruth) -> tuple[float, float]:
    return talk.mc_start, talk.applause_end or talk.speech_end


def foreign_spans(truth: StreamTruth, index: int) -> list[tuple[str, float, float]]:
    """What must not be in talk `index`'s clip: (name, start, end)."""
    spans = [("waiting screen", 0.0, truth.waiting_end),
             ("break", truth.break_mc_start, truth.break_end),
             ("closing", truth.closing_mc_start, truth.duration)]
    for other, talk in enumerate(truth.talks):
        if other != index:
            name = "next MC line and talk" if other == index + 1 else f"talk {other + 1}"
            spans.append((name, *_talk_span(talk)))
    return spans


def judge(truth: StreamTruth, placed: Sequence[tuple[str, float, float]]
          ) -> list[ClipJudgement]:
    """Each (session id, start, end) against the truth of the talk with that id."""
    talks = {talk.session_id: (index, talk) for index, talk in enumerate(truth.talks)}
    out = []
    for session_id, start, end in placed:
        index, talk = talks[session_id]
        cut = max(0.0, min(start, talk.speech_end) - talk.speech_start) + max(
            0.0, talk.speech_end - max(end, talk.speech_start))
        parts, foreign = [], 0.0
        for name, a, b in foreign_spans(truth, index):
            overlap = min(end, b) - max(start, a)
            if overlap > 0.01:
                parts.append(f"{name} {overlap:.2f} s")
                foreign += overlap
        out.append(ClipJudgement(session_id, start, end, round(cut, 3), round(foreign, 3),
                                 tuple(parts)))
    return out
