"""search.py's synthetic archive: the speech corpus's sentences recombined into forums of
about four hours (seeded, so a cached catalogue stays valid), and the recall forum whose
30 labelled target segments sit among synthetic ones."""

from __future__ import annotations

import datetime as dt
import math
import random
import unicodedata
from dataclasses import dataclass

from _common import corpus_texts

from pipeline.catalogue import ForumRecord, SegmentRecord, SessionRecord, SpeakerRecord
from pipeline.results import ForumSummary

FORUM_HOURS = 4.0
SEED = 20261128
RECALL_FORUM = "recall-targets"
RECALL_LIMIT = 2000  # above the recall forum's size: every match is returned

# (query, a segment that must be found, what it exercises). The targets are written
# as a transcript would have them; none is in the speech corpus.
RECALL_CASES: tuple[tuple[str, str, str], ...] = (
    ("가치", "공공부문의 사회적가치를 높이는 방법을 찾겠습니다", "noun inside a compound"),
    ("사회적 가치", "사회적가치를 실현하기 위해 노력하고 있습니다", "spaced query, joined text"),
    ("사회적가치", "우리가 말하는 사회적 가치는 무엇일까요", "joined query, spaced text"),
    ("만들다", "주민과 함께 좋은 제도를 만들어 가겠습니다", "verb, connective 만들어"),
    ("만들다", "주민이 직접 만든 계획이 가장 좋습니다", "verb, adnominal 만든"),
    ("선언문 채택", "여섯 개 기관이 공동 선언문을 채택했습니다", "phrase with particle and verb"),
    ("채택하다", "위원회에서 권고안을 채택했습니다", "noun + 하다, past polite"),
    ("보다", "그 결과를 현장에서 직접 봤습니다", "보다, contracted past"),
    ("보다", "이 표를 보시면 알 수 있습니다", "보다, honorific connective"),
    ("말하다", "제가 앞에서 말한 것은 예산 문제입니다", "말하다, adnominal past"),
    ("듣다", "시민들의 의견을 충분히 들었습니다", "ㄷ-irregular 듣다 -> 들었"),
    ("돕다", "지역 기업을 도와 드리고 있습니다", "ㅂ-irregular 돕다 -> 도와"),
    ("알다", "많은 분들이 아시는 것처럼 쉽지 않습니다", "ㄹ-dropping 알다, honorific"),
    ("짓다", "공공임대주택을 지어서 공급하고 있습니다", "ㅅ-irregular 짓다 -> 지어서"),
    ("모르다", "저도 처음에는 잘 몰랐습니다", "르-irregular 모르다 -> 몰랐"),
    ("가다", "현장에 가셨던 분들이 많으십니다", "가다, honorific past retrospective"),
    ("오다", "멀리서 와 주셔서 감사합니다", "오다 -> 와, contracted"),
    ("시작되다", "이 사업은 작년에 시작됐습니다", "noun + 되다, contracted past"),
    ("참여하다", "시민 여러분이 적극적으로 참여해 주셨습니다", "noun + 하다, connective 해"),
    ("중요하다", "무엇보다 투명성이 중요합니다", "adjective noun + 하다"),
    ("어렵다", "현장에서는 여전히 어려운 점이 많습니다", "ㅂ-irregular adjective"),
    ("협력하다", "기관 간에 협력하면서 성과를 냈습니다", "noun + 하다, connective 하면서"),
    ("발표하다", "다음으로 김 교수님께서 발표하시겠습니다", "noun + 하다, honorific future"),
    ("살다", "이 동네에 사는 주민들이 모였습니다", "ㄹ-dropping 살다 -> 사는"),
    ("공공기관", "공공기관들이 먼저 나서야 합니다", "noun + plural + particle"),
    ("지역사회", "지역사회와 함께 하는 사업입니다", "noun + 와"),
    ("포럼", "오늘 포럼에서는 세 가지를 논의합니다", "noun + 에서는"),
    ("정책", "정부의 정책으로는 부족하다고 봅니다", "noun + 으로는"),
    ("일자리 창출", "좋은 일자리를 창출하는 것이 목표입니다", "phrase: noun, noun + 하다"),
    ("사회적 경제", "사회적경제 기업의 판로를 넓혀야 합니다", "spaced query, joined text"),
)

# Query mix: how many of each kind (200 in all).

_TOPICS = ("사회적 가치", "공공기관 혁신", "지역 상생", "탄소중립", "공공데이터 개방",
           "청년 일자리", "사회적경제", "인권경영", "안전 관리", "윤리경영", "지역균형발전",
           "공공조달", "시민 참여", "디지털 전환", "기후 위기", "돌봄 서비스", "주거 복지")
_TITLES = ("{a} 실현을 위한 {b}의 역할", "{a}와 {b}", "{a}의 현황과 과제", "{a} 사례 발표",
           "종합 토론: {a}", "{a} 실현 방안", "{a} 정책 제언", "개회사 및 {a} 기조 강연")
_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = "민서지현우준영수진호성은혜경미정훈재연동하윤"
_ORGS = ("한국사회가치연구원", "행정안전부", "국민권익위원회", "한국토지주택공사", "서울연구원",
         "한국개발연구원", "사회적기업진흥원", "한국가스공사", "국토연구원", "시민사회단체연대",
         None, None)


@dataclass(frozen=True)
class Plan:
    hours: float
    forums: int
    seed: int = SEED

    @classmethod
    def of(cls, hours: float) -> Plan:
        return cls(hours=hours, forums=max(1, math.ceil(hours / FORUM_HOURS)))

    @property
    def forum_seconds(self) -> float:
        return self.hours * 3600 / self.forums


def speech_sentences() -> list[str]:
    """The corpus's reference sentences (NFC), in file order."""
    return [unicodedata.normalize("NFC", text) for talk in corpus_texts() for text in talk]


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)


def _segments(rng: random.Random, sentences: list[str], seconds: float
              ) -> tuple[SegmentRecord, ...]:
    segments, at = [], 0.0
    while at < seconds - 3:
        length = rng.uniform(3.0, 6.0)
        count = rng.choices((1, 2, 3), weights=(4, 4, 2))[0]
        text = " ".join(rng.choice(sentences) for _ in range(count))
        segments.append(SegmentRecord(round(at, 2), round(at + length, 2), text))
        at += length + rng.uniform(0.0, 0.6)
    return tuple(segments)


def _session(rng: random.Random, forum_id: str, number: int, start: float, seconds: float,
             segments: tuple[SegmentRecord, ...]) -> SessionRecord:
    a, b = rng.sample(_TOPICS, 2)
    title = rng.choice(_TITLES).format(a=a, b=b)
    speakers = tuple(SpeakerRecord(_name(rng), rng.choice(_ORGS))
                     for _ in range(rng.choice((1, 1, 2, 3))))
    slug = f"{number:02d}-s{number}"
    page = f"https://archive.example.org/{forum_id}/sessions/{slug}/index.html"
    return SessionRecord(id=f"s{number}", number=number, slug=slug, title=title,
                         start=start, end=start + seconds, speakers=speakers,
                         clip_url=page.replace("index.html", f"{slug}.mp4"), page_url=page,
                         segments=segments)


def forum_record(plan: Plan, index: int, sentences: list[str]) -> ForumRecord:
    """Forum `index` of the archive: the same record for the same plan, seed and index."""
    rng = random.Random(f"{plan.seed}/{index}")
    forum_id = f"forum-{index:04d}"
    day = dt.date(2015, 1, 1) + dt.timedelta(days=(index * 3653) // max(1, plan.forums))
    topic = rng.choice(_TOPICS)
    summary = ForumSummary(id=forum_id, title=f"{day.year}년 공공부문 {topic} 포럼",
                           date=day.isoformat(), organiser="SORT", language="ko")
    lengths = [rng.uniform(1800, 3600)]  # 30 to 60 min, then scaled to fill the forum
    while sum(lengths) + 2700 <= plan.forum_seconds:
        lengths.append(rng.uniform(1800, 3600))
    sessions, at = [], 0.0
    for number, length in enumerate(lengths, start=1):
        seconds = length * plan.forum_seconds / sum(lengths)
        sessions.append(_session(rng, forum_id, number, at, seconds,
                                 _segments(rng, sentences, seconds)))
        at += seconds + 300
    return ForumRecord(forum=summary, sessions=tuple(sessions),
                       url=f"https://archive.example.org/{forum_id}/index.html")


def recall_record(sentences: list[str]) -> ForumRecord:
    """The forum holding the 30 target segments, each among synthetic ones."""
    rng = random.Random(f"{SEED}/recall")
    summary = ForumSummary(id=RECALL_FORUM, title="형태소 검색 확인용 포럼", date="2020-06-30",
                           organiser="SORT", language="ko")
    sessions = []
    for number in range(1, 4):
        filler = list(_segments(rng, sentences, 1000.0))
        for _, target, _ in RECALL_CASES[(number - 1) * 10:number * 10]:
            at = rng.randrange(len(filler) + 1)
            filler.insert(at, SegmentRecord(0.0, 0.0, target))
        timed, clock = [], 0.0
        for segment in filler:  # re-time in order
            timed.append(SegmentRecord(round(clock, 2), round(clock + 4, 2), segment.text))
            clock += 4.3
        sessions.append(_session(rng, RECALL_FORUM, number, 3600.0 * number, clock,
                                 tuple(timed)))
    return ForumRecord(forum=summary, sessions=tuple(sessions))


def text_bytes(record: ForumRecord) -> int:
    return sum(len(s.text.strip().encode("utf-8")) for session in record.sessions
               for s in session.segments if s.text.strip())
