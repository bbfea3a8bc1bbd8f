"""The plan and the split on a stream-like recording (pipeline/demo/stream.py: a waiting
screen with music, espeak-ng MC lines, title cards, speakers' own closing lines, applause
or silence, a break with music, a closing MC line and an end card; open-GOP H.264 with an
IDR frame every 10 s, 44.1 kHz stereo AAC). Given only titles and speakers, every talk is
cut whole and alone (pipeline/demo/stream_judge.py), and cut smart."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.asr.decoding import WhisperSettings
from pipeline.config.loader import load_config
from pipeline.demo import SHORT_STREAM, StreamForum, build_stream_forum
from pipeline.demo.stream_judge import judge
from pipeline.progress import LogProgress
from pipeline.results import PlanResult, SplitResult
from pipeline.runner import RunOptions, run_forum
from pipeline.settings import Settings

pytestmark = pytest.mark.slow  # Whisper hears the MC's lines


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> StreamForum:
    return build_stream_forum(tmp_path_factory.mktemp("stream"), SHORT_STREAM,
                              speech_dir=Settings.from_environ().speech_dir)


@pytest.fixture(scope="module")
def planned(stream: StreamForum, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[PlanResult, SplitResult]:
    root = tmp_path_factory.mktemp("run")
    options = RunOptions(work_root=root / "work", catalogue=root / "catalogue.sqlite",
                         until_stage="split",
                         whisper=WhisperSettings(model_dir=Settings.from_environ().model_dir))
    report = run_forum(load_config(stream.config_path), options, LogProgress())
    plan, split = report.results["plan"], report.results["split"]
    assert isinstance(plan, PlanResult) and isinstance(split, SplitResult)
    return plan, split


def test_every_talk_is_cut_whole_and_alone(stream: StreamForum,
                                           planned: tuple[PlanResult, SplitResult]) -> None:
    plan, _split = planned
    judged = judge(stream.truth, [(s.plan.id, s.plan.start, s.plan.end) for s in plan.sessions])
    print([(j.session_id, j.start, j.end, j.speech_cut, j.foreign_parts) for j in judged])
    assert [j.session_id for j in judged] == [talk.session_id for talk in stream.truth.talks]
    assert all(j.whole_and_alone() for j in judged), judged
    # A speaker's own closing line ("… 감사합니다", after a breath) is in their clip.
    closing = [(talk, j) for talk, j in zip(stream.truth.talks, judged, strict=True)
               if talk.closing_start is not None]
    assert closing and all(j.end >= talk.speech_end for talk, j in closing)
    assert all(s.source == "detected" for s in plan.sessions)


def test_every_session_is_cut_smart(planned: tuple[PlanResult, SplitResult]) -> None:
    _plan, split = planned
    modes = [(clip.session.slug, clip.cut_mode, clip.fallback_reason) for clip in split.clips]
    assert len(modes) == len(SHORT_STREAM.slots)
    assert all(mode == "smart" for _slug, mode, _reason in modes), modes


def test_the_plan_file_says_what_to_review(planned: tuple[PlanResult, SplitResult]) -> None:
    plan, _split = planned
    assert plan.plan_file is not None
    document = yaml.safe_load(Path(plan.plan_file).read_text(encoding="utf-8"))
    assert document["review"] == list(plan.review)
    assert [s["id"] for s in document["sessions"]] == [s.plan.id for s in plan.sessions]
    # Each gap between sessions is reported, the waiting screen and the end included.
    assert document["gaps"][0][0] == 0.0 and len(document["gaps"]) >= len(plan.sessions)
