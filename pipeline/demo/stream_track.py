"""The running order of a stream-like forum recording (see `pipeline.demo.stream`): a
track that lays sounds end to end and starts each picture on a frame boundary, the cards
it shows, and what the MC says."""

from __future__ import annotations

import numpy as np

from pipeline.demo.stream_layout import StreamTalk
from pipeline.demo.stream_sound import RATE, Audio
from pipeline.demo.stream_truth import STREAM_ORGANISATION, STREAM_TITLE
from pipeline.demo.stream_video import FPS, Card, Line, Scene

FRAME = RATE // FPS  # 1764 samples: a frame at 25 fps
assert FRAME * FPS == RATE


class Track:
    """Sounds laid end to end (room tone comes later, over all of it) and the card shown
    from each scene's start, which always falls on a frame boundary."""

    def __init__(self) -> None:
        self._parts: list[Audio] = []
        self._cards: list[tuple[int, Card]] = []
        self.at = 0  # samples so far

    def add(self, audio: Audio) -> int:
        """Append `audio`; return the sample it starts at."""
        start = self.at
        self._parts.append(audio.astype(np.float32, copy=False))
        self.at += len(audio)
        return start

    def rest(self, seconds: float) -> int:
        return self.add(np.zeros(round(seconds * RATE), dtype=np.float32))

    def _to_frame(self) -> None:
        self.add(np.zeros(-self.at % FRAME, dtype=np.float32))

    def scene(self, card: Card) -> int:
        """Show `card` from the next frame boundary on; return that sample."""
        self._to_frame()
        self._cards.append((self.at, card))
        return self.at

    def finish(self) -> None:
        """End on a frame boundary, so that sound and picture last alike."""
        self._to_frame()

    def seconds(self, sample: int) -> float:
        return sample / RATE

    def sound(self) -> Audio:
        return np.concatenate(self._parts)

    def scenes(self) -> list[Scene]:
        ends = [at for at, _ in self._cards[1:]] + [self.at]
        return [Scene(card, (end - at) // FRAME)
                for (at, card), end in zip(self._cards, ends, strict=True) if end > at]


_SLIDES = ("0xeef1f5", "0xf5efe6", "0xe8f5ec", "0xf2e8f5")


def waiting_card() -> Card:
    return Card("0x202a44", (Line(STREAM_TITLE, 0.035, 0.2, "0xc8d6e8"),
                             Line("잠시 후 시작합니다", 0.1, 0.42),
                             Line("2021년 11월 26일 (금) 14:00", 0.045, 0.64, "0xc8d6e8")))


def host_card(text: str) -> Card:
    return Card("0x3b2f4a", (Line("사회자", 0.06, 0.3, "0xd9c8e8"), Line(text, 0.06, 0.46),
                             Line(STREAM_TITLE, 0.035, 0.82, "0xd9c8e8")))


def title_card(number: int, talk: StreamTalk) -> Card:
    return Card("0x1f3a5f", (Line(f"세션 {number}", 0.06, 0.26, "0xc8d6e8"),
                             Line(talk.title, 0.08, 0.42), Line(talk.speaker, 0.06, 0.6,
                                                                "0xc8d6e8")))


def slide(number: int, talk: StreamTalk) -> Card:
    return Card(_SLIDES[number % len(_SLIDES)],
                (Line(talk.title, 0.045, 0.045), Line(talk.speaker, 0.08, 0.42, "0x1f2933"),
                 Line(STREAM_ORGANISATION, 0.04, 0.58, "0x52606d")), band="0x1f3a5f")


def break_card() -> Card:
    return Card("0x2e4d3a", (Line("휴식 시간", 0.1, 0.36),
                             Line("잠시 후 다시 시작합니다", 0.05, 0.55, "0xcfe8d6")))


def end_card() -> Card:
    return Card("0x101216", (Line("포럼을 마칩니다", 0.08, 0.38),
                             Line("감사합니다", 0.05, 0.55, "0xc8c8c8")))


_PHRASES = (
    "다음은 {speaker} 님의 발표가 있겠습니다. {title}.",
    "이어서 {title}, {speaker} 님을 모시겠습니다.",
    "{title}. {speaker} 님을 박수로 맞이해 주시기 바랍니다.",
)


def mc_line(number: int, speaker: str, title: str, after_break: bool) -> str:
    """What the MC says before talk `number` (from 1): the phrasing varies."""
    if number == 1:
        return (f"지금부터 포럼을 시작하겠습니다. 첫 번째로 {speaker} 님의 발표가 "
                f"있겠습니다. {title}.")
    if after_break:
        return (f"다시 시작하겠습니다. {speaker} 님의 {title}입니다. "
                f"박수로 맞이해 주시기 바랍니다.")
    return _PHRASES[(number - 2) % len(_PHRASES)].format(speaker=speaker, title=title)
