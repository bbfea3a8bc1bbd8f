"""scripts/bench/search.py: its synthetic archive and its baseline (the old trigram index)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "search.py"
SENTENCES = ["네 일단 제 소개부터 하도록 하겠습니다", "사회적 경제 기업을 만들어 갑니다",
             "돼지 아니면 곰", "열역학 제 2법칙이 뭔지 혹시 아시나요"]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_search", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_search"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_forums_have_the_asked_hours_in_sessions_and_segments_of_realistic_length(
        bench: ModuleType) -> None:
    plan = bench.Plan.of(8)
    assert plan.forums == 2
    forum = bench.forum_record(plan, 1, SENTENCES)
    assert forum == bench.forum_record(plan, 1, SENTENCES)  # seeded: the cache stays valid
    lengths = [s.end - s.start for s in forum.sessions]
    assert sum(lengths) == pytest.approx(4 * 3600)
    assert all(1800 * 0.8 <= n <= 3600 * 1.25 for n in lengths)  # 30-60 min, scaled to fit
    segments = [seg for s in forum.sessions for seg in s.segments]
    assert all(3 <= seg.end - seg.start <= 6 for seg in segments)
    assert all(s.title and 1 <= len(s.speakers) <= 3 for s in forum.sessions)
    assert {seg.text for seg in segments} > set(SENTENCES)  # recombined, one to three


def test_the_baseline_finds_substrings_but_not_dictionary_forms(
        bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "baseline.sqlite"
    with bench._old_open(path, create=True) as db:
        bench.old_index_forum(db, bench.recall_record(SENTENCES))
        bench.old_index_forum(db, bench.recall_record(SENTENCES))  # replaces, not doubles

    def texts(query: str) -> list[str]:
        hits = bench.old_search(path, query, limit=2000, forum_id=bench.RECALL_FORUM)
        return [hit["text"] for hit in hits]

    assert "공공부문의 사회적가치를 높이는 방법을 찾겠습니다" in texts("가치")  # LIKE, 2 letters
    assert "우리가 말하는 사회적 가치는 무엇일까요" in texts("사회적가치")  # trigram, no spaces
    assert not [t for t in texts("만들다") if "만들어" in t or "만든" in t]
