"""What the demo forum holds: its sessions (real talks of the speech corpus) and how long
each part of a session lasts, for the full demo and the small one the tests use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSession:
    id: str
    title: str
    speaker: str
    organisation: str
    talk_dir: str  # relative to the speech folder, e.g. "data/6rmA7KCV7ZiE/MJ0_NG4dsCY"
    talk_title: str  # the original TEDx talk, for the credit page


@dataclass(frozen=True)
class DemoLayout:
    sessions: tuple[DemoSession, ...]
    card_seconds: float
    speech_seconds: float
    gap_seconds: float
    width: int = 1280
    height: int = 720

    @property
    def slot_seconds(self) -> float:
        return self.card_seconds + self.speech_seconds + self.gap_seconds

    @property
    def total_seconds(self) -> float:
        return self.slot_seconds * len(self.sessions)

    def bounds(self, index: int) -> tuple[float, float]:
        """Config start/end of session `index`: its card plus its speech, not the gap."""
        start = index * self.slot_seconds
        return start, start + self.card_seconds + self.speech_seconds


_ORG = "TEDxKR 발표 음성 (데모)"
DEMO_SESSIONS = (
    DemoSession("keynote", "공공기관 혁신과 사회적 가치", "김정현", _ORG,
                "data/6rmA7KCV7ZiE/MJ0_NG4dsCY", "Social venture is blue ocean (TEDxBusan 2011)"),
    DemoSession("measurement", "사회적가치 성과 측정 및 지표", "윤여준", _ORG,
                "data/7Jyk7Jes7KSA/LnGadr1MDs8",
                "Statecraft, the art of conducting public affairs (TEDx Seoul 2010)"),
    DemoSession("collaboration", "사회적경제 협업", "이현정", _ORG,
                "data/7J207ZiE7KCV/R15jiXaSYik", "Becoming a good-earthling (TEDxBusan 2011)"),
    DemoSession("declaration", "공동선언문 채택", "윤한결", _ORG, "data/7Jyk7ZWc6rKw/W-vbPHzNDKA",
                "Take time to imagine the world to rights (TEDxBusan 2013)"),
)
FULL_LAYOUT = DemoLayout(DEMO_SESSIONS, card_seconds=4, speech_seconds=36, gap_seconds=5)
SMALL_LAYOUT = DemoLayout(DEMO_SESSIONS[:3], card_seconds=3, speech_seconds=12, gap_seconds=3,
                          width=640, height=360)
