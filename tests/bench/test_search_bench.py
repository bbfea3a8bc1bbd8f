"""scripts/bench/search.py: its synthetic archive and its baseline (the old trigram index),
in _search_archive.py and _search_baseline.py."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench"
SENTENCES = ["네 일단 제 소개부터 하도록 하겠습니다", "사회적 경제 기업을 만들어 갑니다",
             "돼지 아니면 곰", "열역학 제 2법칙이 뭔지 혹시 아시나요"]


@pytest.fixture(scope="module")
def bench() -> Iterator[SimpleNamespace]:
    """search.py's synthetic archive and baseline modules, imported as search.py does (the
    benchmarks import their helpers by name from scripts/bench)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCH))
        archive = importlib.import_module("_search_archive")
        baseline = importlib.import_module("_search_baseline")
        yield SimpleNamespace(**{**vars(archive), **vars(baseline)})


def test_forums_have_the_asked_hours_in_sessions_and_segments_of_realistic_length(
        bench: SimpleNamespace) -> None:
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
        bench: SimpleNamespace, tmp_path: Path) -> None:
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


def test_search_bench_command_line_is_unchanged() -> None:
    shown = subprocess.run([sys.executable, str(BENCH / "search.py"), "--help"],
                           capture_output=True, text=True, check=True).stdout
    for option in ("--hours", "--rebuild", "--jobs", "--rounds", "--build-only", "--estimate"):
        assert option in shown
    assert "Search at scale: our catalogue" in shown


def test_the_report_takes_each_querys_median_and_names_the_worst_query(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCH))
        report = importlib.import_module("_search_report")
        measure = importlib.import_module("_search_measure")
    rows = [{"kind": kind, "query": f"{kind}{n}", "wall": 0.001 * (n + 1), "cpu": 0.001,
             "best_wall": 0.0005, "hits": 20, "matches": 100 * n}
            for kind, count in measure.QUERY_MIX for n in range(count)]
    rows.append({"kind": "part of a word", "query": "조각", "wall": 0.9, "cpu": 0.9,
                 "best_wall": 0.9, "hits": 1})
    results = {"ours": rows, "baseline": rows}
    meta = {"build": {n: {"wall_s": 1.0, "cpu_s": 1.0} for n in ("ours", "baseline")},
            "sizes": {"ours": 200, "baseline": 100}, "text_bytes": 100, "segments": 10,
            "breakdown": {"ours": {}, "baseline": {}}, "jobs": 1}
    found = {"ours": [True] * 29 + [False], "baseline": [False] * 30}
    summary = report.report(meta, results, found, SimpleNamespace(hours=1, forums=1), 5)
    ours = summary["summary"]["ours"]
    assert ours["worst"]["query"] == "2 syllables49"  # the worst of the 200, not the parts
    assert ours["p95_best"] == 0.0005
    assert summary["p95_by_kind"]["part of a word"] == 0.9
    assert summary["goals"] == {"size": True, "p95_every_kind": False, "worst": True,
                                "recall": True}
    shown = capsys.readouterr().out
    assert "best of N" in shown and "2 syllables49 (50.0 ms, 4,900 matches)" in shown
