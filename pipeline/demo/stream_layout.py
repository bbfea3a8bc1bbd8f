"""What a stream-like forum recording holds (see `pipeline.demo.stream`): the twelve talks
of the speech corpus as forum sessions, and the two layouts built from them, SHORT for
the tests and LONG for the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.demo.layout import DEMO_SESSIONS

CLOSING_WORDS = "감사합니다"  # a fragment saying this is a speaker's closing line


@dataclass(frozen=True)
class StreamTalk:
    """One talk of the corpus, dressed as a forum session."""

    id: str
    title: str
    speaker: str
    talk_dir: str  # relative to the speech folder, e.g. "data/6rmA7KCV7ZiE/MJ0_NG4dsCY"


@dataclass(frozen=True)
class StreamSlot:
    """A talk as the stream plays it."""

    talk: StreamTalk
    speech_seconds: float  # its first whole fragments that fit in this
    closing: bool = True  # end with the speaker's own "감사합니다" (when the talk has one)
    applause: bool = True  # applause after it; False: about 2 s of room tone instead


@dataclass(frozen=True)
class StreamLayout:
    name: str  # "short" or "long"
    slots: tuple[StreamSlot, ...]
    waiting_seconds: float  # the waiting screen with music before the forum starts
    break_after: int  # the break comes after this many talks
    break_seconds: float  # the break's music
    card_seconds: float = 4.0  # each talk's title card
    end_seconds: float = 5.0  # the end card's music
    width: int = 1280
    height: int = 720

    def __post_init__(self) -> None:
        if not 0 < self.break_after < len(self.slots):
            raise ValueError(f"the break must come between two talks, not after "
                             f"{self.break_after} of {len(self.slots)}")


def _demo(session_id: str) -> StreamTalk:
    found = next(s for s in DEMO_SESSIONS if s.id == session_id)
    return StreamTalk(found.id, found.title, found.speaker, found.talk_dir)


# All twelve talks of the corpus; the speaker is the one named in the corpus.
STREAM_TALKS = (
    _demo("keynote"),  # 김정현, data/6rmA7KCV7ZiE/MJ0_NG4dsCY
    _demo("measurement"),  # 윤여준, 111 s in all: too short for the LONG layout
    _demo("collaboration"),  # 이현정
    _demo("declaration"),  # 윤한결
    StreamTalk("culture", "지속 가능한 문화예술 생태계", "고건혁", "data/6rOg6rG07ZiB/aWPB0xeM8UA"),
    StreamTalk("ecology", "생태 보전과 공공의 역할", "김산하", "data/6rmA7IKw7ZWY/Mwo47MAsMtE"),
    StreamTalk("science", "과학과 인문학의 만남", "김상욱", "data/6rmA7IOB7Jqx/ccrZhrcWPLU"),
    StreamTalk("health-data", "공공 의료 데이터와 예방", "김종열", "data/6rmA7KKF7Je0/RMUVo-AZfQM"),
    StreamTalk("challenge", "도전하는 조직 문화", "송수용", "data/7Iah7IiY7Jqp/2B1iXo1c1Tk"),
    StreamTalk("energy", "미래 에너지와 공공 연구", "정기정", "data/7KCV6riw7KCV/GJu8ZETMTZU"),
    StreamTalk("care", "사람 중심의 공공 의료 서비스", "김승범",
               "data/7KCc6rmA7KCV/un4qbATrmx8"),
    StreamTalk("immersion", "몰입으로 여는 공공 혁신", "황농문", "data/7Zmp64aN66y4/beK1Iw23nc8"),
)
_TALK = {talk.id: talk for talk in STREAM_TALKS}

# About 2.5 minutes, 320x180: one talk without a closing line, one ending in silence.
SHORT_STREAM = StreamLayout(
    "short",
    (StreamSlot(_TALK["health-data"], 25.0),
     StreamSlot(_TALK["keynote"], 25.0, closing=False, applause=False),
     StreamSlot(_TALK["challenge"], 25.0)),
    waiting_seconds=10.0, break_after=2, break_seconds=10.0, end_seconds=4.0,
    width=320, height=180)

# About 22 minutes, 1280x720: eight talks of 2-2.5 minutes. Only three talks of the corpus
# (health-data, challenge, immersion) end in "감사합니다"; the others planned with a closing
# line play without one, and the ground truth says so (`closing_skipped`).
LONG_STREAM = StreamLayout(
    "long",
    (StreamSlot(_TALK["keynote"], 150.0),
     StreamSlot(_TALK["health-data"], 140.0),
     StreamSlot(_TALK["collaboration"], 145.0),
     StreamSlot(_TALK["challenge"], 140.0, applause=False),
     StreamSlot(_TALK["culture"], 140.0, closing=False),
     StreamSlot(_TALK["immersion"], 150.0),
     StreamSlot(_TALK["energy"], 140.0),
     StreamSlot(_TALK["science"], 145.0)),
    waiting_seconds=30.0, break_after=4, break_seconds=60.0, end_seconds=6.0)
