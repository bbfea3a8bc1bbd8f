"""Finding session boundaries in a forum recording: real ffmpeg, real Whisper, real speech.

The recording (built once for the module) plays four real Korean talks, each after a
silent title card and followed by applause-like noise and a near-black silent gap; the
truth is exact to the sample. A session runs from its title card to the end of its speech.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pipeline.asr import make_engine
from pipeline.asr.decoding import WhisperSettings
from pipeline.boundaries import (
    AgendaItem,
    Candidate,
    Fit,
    choose,
    collect_candidates,
    match_chapters,
)
from pipeline.boundaries.candidates import breaks
from pipeline.boundaries.fit import END_PAD, START_PAD
from pipeline.boundaries.heard import CUE_DECODE, find_cue
from pipeline.boundaries.signals import visual
from pipeline.boundaries.speech import SpeechMap
from pipeline.demo import DEMO_SESSIONS, find_speech_dir
from pipeline.media.probe import extract_audio
from pipeline.results import Chapter
from pipeline.settings import Settings
from tests.recordings import duration as media_duration
from tests.recordings import forum_recording

pytestmark = pytest.mark.slow  # Whisper hears the breaks

TOLERANCE = 2.0  # seconds, for every detected start and end
AGENDA = [AgendaItem(s.id, s.title) for s in DEMO_SESSIONS]  # ids and titles, no times


@dataclass(frozen=True)
class Forum:
    video: Path
    audio: Path
    duration: float
    truth: list[tuple[float, float, float]]  # per talk: card start, speech start, speech end
    candidates: list[Candidate]
    speech: SpeechMap
    seconds: float  # what collect_candidates took


@pytest.fixture(scope="module")
def forum(tmp_path_factory: pytest.TempPathFactory) -> Forum:
    folder = tmp_path_factory.mktemp("forum")
    speech = find_speech_dir(Settings.from_environ().speech_dir)
    video = folder / "forum.mp4"
    truth = forum_recording(video, [speech / s.talk_dir for s in DEMO_SESSIONS])
    length = media_duration(video)
    audio = folder / "audio.wav"
    extract_audio(video, audio, duration=length)
    engine = make_engine(WhisperSettings(model_dir=Settings.from_environ().model_dir,
                                         decode=CUE_DECODE))  # as the plan stage's
    engine.load()  # not part of the detection time: the plan stage loads it once
    began = time.perf_counter()
    signals = collect_candidates(video, audio, length, agenda=AGENDA, engine=engine)
    seconds, candidates = time.perf_counter() - began, signals.candidates
    print(f"\ndetection: {seconds:.1f} s for {length:.0f} s of recording "
          f"({seconds / (length / 60):.1f} s per minute)")
    print("cues:", [(round(c.time, 1), c.strength, c.session, c.text) for c in candidates
                    if c.kind == "cue"])
    return Forum(video, audio, length, truth, candidates, signals.speech, seconds)


CLAPPING = 4.0  # seconds of applause after each talk (forum_recording's default)


def off_by(plan: Fit, forum: Forum, talks: list[int]) -> list[tuple[str, float, float]]:
    """Per planned session: its id and how far its start is from its card, and its end
    from the end of its applause."""
    return [(planned.id, planned.start - forum.truth[talk][0],
             planned.end - forum.truth[talk][2] - CLAPPING)
            for planned, talk in zip(plan.sessions, talks, strict=True)]


def test_every_session_is_its_card_and_its_talk(forum: Forum) -> None:
    """Each session starts on its title card and ends with its applause (detected in half
    second windows): every word inside, and none of the dark gap after."""
    plan = choose(AGENDA, forum.candidates, forum.duration, speech=forum.speech)
    errors = off_by(plan, forum, [0, 1, 2, 3])
    print("start, end - truth (s):", [(i, round(a, 2), round(b, 2)) for i, a, b in errors])
    assert all(abs(a) <= 0.3 and abs(b) <= 0.6 for _, a, b in errors), errors
    assert [p.id for p in plan.sessions] == [s.id for s in AGENDA]
    assert {p.source for p in plan.sessions} == {"detected"}
    assert all(p.confidence >= 0.8 for p in plan.sessions), plan.sessions
    # What lies between sessions (applause, the dark gap) is reported, and nothing else.
    assert len(plan.gaps) == 4
    for (gap_start, gap_end), before, after in zip(plan.gaps[:3], plan.sessions[:-1],
                                                   plan.sessions[1:], strict=True):
        assert (gap_start, gap_end) == (before.end, after.start)
    assert plan.gaps[-1][1] == forum.duration
    assert len(plan.notes) == 3 and "applause" in plan.notes[0], plan.notes
    kinds = {c.kind for c in forum.candidates}
    assert {"pause", "applause", "black", "scene"} <= kinds, kinds


def test_every_signal_marks_every_break(forum: Forum) -> None:
    """Each break between talks holds a pause in speech, applause, black and scene changes."""
    for (_card, _speech, end), (card, _s, _e) in itertools.pairwise(forum.truth):
        near = {c.kind for c in forum.candidates if end - 1 <= c.time <= card + 1}
        assert {"pause", "applause", "black", "scene"} <= near, (end, near)
    claps = [c for c in forum.candidates if c.kind == "applause"]
    assert len(claps) == 4, claps  # none inside the talks
    ends = [talk[2] for talk in forum.truth]
    assert all(abs(c.time - end) <= 1.0 for c, end in zip(claps, ends, strict=True)), claps


def test_key_frame_scan_is_as_exact_as_the_full_scan(forum: Forum) -> None:
    """Key frames every 2 s only, none forced at the cuts: refinement finds the frame."""
    near = [(c.time, c.last) for c in forum.candidates if c.kind in ("pause", "applause")]
    full = [c for c in visual(forum.video, forum.duration, near, "full") if c.kind == "black"]
    fast = [c for c in visual(forum.video, forum.duration, near, "keyframes")
            if c.kind == "black"]
    assert len(fast) == len(full) == 4
    for a, b in zip(fast, full, strict=True):
        assert abs(a.time - b.time) <= 0.3 and abs(a.last - b.last) <= 0.3, (a, b)
    # The black gap starts 4 s (the applause) after each talk's speech ends.
    ends = [talk[2] for talk in forum.truth]
    assert all(abs(c.time - (end + 4)) <= 0.2 for c, end in zip(fast, ends, strict=True)), fast


def test_duration_hints_decide_between_equally_strong_breaks(forum: Forum) -> None:
    """Three sessions, the middle one two talks long: three equally strong breaks for two
    boundaries, and only the rough durations (within 15 %) tell which two."""
    between = sorted((b.strength for b in breaks(forum.candidates, speech=forum.speech)
                      if 10 < b.start < forum.duration - 10), reverse=True)
    top, rest = between[:3], between[3:]  # the rest: pauses inside the talks
    assert max(top) - min(top) < 0.05  # the signals cannot tell the three apart
    assert all(strength < min(top) - 0.2 for strength in rest), between
    lengths = [end - card for card, _s, end in forum.truth]
    agenda = [AgendaItem("keynote", "공공기관 혁신과 사회적 가치", duration_hint=lengths[0] * 1.15),
              AgendaItem("panel", "패널 발표", duration_hint=(lengths[1] + lengths[2]) * 0.9),
              AgendaItem("declaration", "공동선언문 채택", duration_hint=lengths[3] * 1.1)]
    blind = choose([replace(item, duration_hint=None) for item in agenda], forum.candidates,
                   forum.duration, speech=forum.speech)
    print("without hints:", [(p.id, round(p.start, 1), round(p.end, 1)) for p in blind.sessions])
    plan = choose(agenda, forum.candidates, forum.duration, speech=forum.speech)
    errors = [(p.id, p.start - forum.truth[a][0], p.end - forum.truth[b][2] - CLAPPING)
              for p, (a, b) in zip(plan.sessions, [(0, 0), (1, 2), (3, 3)], strict=True)]
    assert all(abs(a) <= TOLERANCE and abs(b) <= TOLERANCE for _, a, b in errors), errors


def test_duration_hints_pick_the_boundary_when_signals_tie() -> None:
    pauses = [Candidate(100, "silence", 0.5, 104), Candidate(200, "silence", 0.5, 204)]
    for hints, boundary in (((200, 100), 200), ((100, 200), 100)):
        agenda = [AgendaItem("a", "A", duration_hint=hints[0]),
                  AgendaItem("b", "B", duration_hint=hints[1])]
        plan = choose(agenda, pauses, 300)
        # A breath after the last word, and before the first: the pads.
        assert (plan.sessions[0].end, plan.sessions[1].start) == (
            boundary + END_PAD, boundary + 4 - START_PAD)


def test_given_times_are_kept_exactly_and_bound_the_rest(forum: Forum) -> None:
    truth = forum.truth
    agenda = [AGENDA[0], replace(AGENDA[1], start=50.0, end=110.0), AGENDA[2],
              replace(AGENDA[3], start=163.0)]
    plan = choose(agenda, forum.candidates, forum.duration, speech=forum.speech)
    second, fourth = plan.sessions[1], plan.sessions[3]
    assert (second.start, second.end, second.source, second.confidence) == (
        50.0, 110.0, "config", 1.0)
    assert fourth.start == 163.0
    assert abs(fourth.end - truth[3][2] - CLAPPING) <= TOLERANCE
    # The first session ends with its applause, cut short by the given start; the third
    # starts at its own title card, after the given end.
    assert truth[0][2] < 50.0 < truth[0][2] + CLAPPING and plan.sessions[0].end == 50.0
    assert abs(plan.sessions[2].start - truth[2][0]) <= TOLERANCE
    assert abs(plan.sessions[2].end - truth[2][2] - CLAPPING) <= TOLERANCE


@pytest.mark.parametrize(("agenda", "message"), [
    ([AgendaItem("a", "A", start=0, end=60), AgendaItem("b", "B", start=50, end=100)],
     "not in programme order"),
    ([AgendaItem("a", "A", start=30, end=30)], "end is not after start"),
    ([AgendaItem("a", "A", start=0, end=500)], "outside the recording"),
    ([AgendaItem(f"s{i}", "S") for i in range(12)], "do not fit"),
])
def test_impossible_plans_are_one_line_errors(agenda: list[AgendaItem], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        choose(agenda, [Candidate(100, "silence", 0.5, 104)], 220)
    assert "\n" not in str(caught.value)


def test_chapters_match_by_order_and_title() -> None:
    agenda = [AgendaItem(s.id, s.title, (s.speaker,)) for s in DEMO_SESSIONS]
    chapters = (Chapter(title="오프닝", start=0, end=30),
                Chapter(title="기조연설: 공공기관 혁신과 사회적가치", start=30, end=600),
                Chapter(title="발표 1 - 윤여준", start=600, end=1200),
                Chapter(title="휴식", start=1200, end=1500),
                Chapter(title="공동 선언문 채택!", start=1500, end=1800))
    plan, report = match_chapters(agenda, chapters)
    assert [(p.id, p.start, p.end, p.source) for p in plan.sessions] == [
        ("keynote", 30, 600, "chapters"), ("measurement", 600, 1200, "chapters"),
        ("declaration", 1500, 1800, "chapters")]
    assert all(p.confidence >= 0.85 for p in plan.sessions)
    assert plan.gaps == ((0, 30), (1200, 1500))
    assert report[0].startswith(
        "chapter 2 '기조연설: 공공기관 혁신과 사회적가치' (00:00:30) -> session keynote")
    leftovers = [line for line in report if "no session" in line or "no chapter" in line]
    assert leftovers == ["session collaboration '사회적경제 협업': no chapter",
                         "chapter 1 '오프닝' (00:00:00-00:00:30): no session",
                         "chapter 4 '휴식' (00:20:00-00:25:00): no session"]


def test_chapters_keep_the_programme_order() -> None:
    """A later chapter with the first session's title cannot pull it out of order."""
    agenda = [AgendaItem("opening", "개회사"), AgendaItem("keynote", "기조연설")]
    chapters = (Chapter(title="개회사", start=0, end=100),
                Chapter(title="기조연설", start=100, end=900),
                Chapter(title="개회사 다시보기", start=900, end=950))
    plan, report = match_chapters(agenda, chapters)
    assert [(p.id, p.start) for p in plan.sessions] == [("opening", 0), ("keynote", 100)]
    assert report[-1] == "chapter 3 '개회사 다시보기' (00:15:00-00:15:50): no session"
    # A generic chapter title matches nothing, even in the right place.
    plan, report = match_chapters(agenda[:1], (Chapter(title="Part 1", start=0, end=10),))
    assert plan.sessions == () and len(report) == 2


def test_cue_matcher_finds_the_session_an_mc_announces() -> None:
    agenda = [AgendaItem(s.id, s.title, (s.speaker,)) for s in DEMO_SESSIONS]
    cue = find_cue("다음은 공공기관 혁신과 사회적 가치 발표가 있겠습니다", agenda)
    assert cue is not None and (cue.kind, cue.session, cue.span) == ("next", "keynote", True)
    # Whisper's spacing and small slips do not matter; a speaker's name does.
    cue = find_cue("다음은 사회적가치 성과측정 및 지표 발표 순서입니다", agenda)
    assert cue is not None and (cue.kind, cue.session) == ("next", "measurement")
    cue = find_cue("이현정 대표님을 모시겠습니다. 큰 박수 부탁드립니다", agenda)
    assert cue is not None and (cue.kind, cue.session) == ("invite", "collaboration")
    cue = find_cue("이상으로 발표를 마치겠습니다", agenda)
    assert cue is not None and (cue.kind, cue.span, cue.session) == ("close", False, None)
    cue = find_cue("네, 감사합니다.", agenda)
    assert cue is not None and cue.kind == "thanks"
    assert find_cue("그래서 저는 많은 분들께 감사합니다 라고 말씀드리고 싶었습니다", agenda) is None
    assert find_cue("사회적 기업에 대해서 사람들한테 얘기를 해보면", agenda) is None


def test_weak_boundaries_are_listed_for_review() -> None:
    """A boundary of a weak sign (a 1.5 s pause) is listed; a strong one (a long pause
    with applause) is not."""
    weak = [Candidate(100, "pause", 0.3, 101.5)]
    strong = [Candidate(100, "pause", 0.7, 108), Candidate(100.2, "applause", 0.8, 104)]
    agenda = [AgendaItem("a", "A"), AgendaItem("b", "B")]
    unsure = choose(agenda, weak, 300).review
    assert len(unsure) == 1 and unsure[0].startswith("a | b at 00:01:40") and "pause" in unsure[0]
    assert choose(agenda, strong, 300).review == ()
