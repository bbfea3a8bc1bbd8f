"""Search over many matches: ranking only the best matches first gives the same page as
ranking every match (ties, title-only matches, filters, offsets, substring fill-up)."""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pipeline.catalogue import ForumRecord, SearchQuery, search, write_forum
from pipeline.catalogue.matching import Lookups
from tests.catalogue.builders import FORUM_2024, FORUM_2025, session

search_module = importlib.import_module("pipeline.catalogue.search")

# Few distinct texts, so many passages tie on bm25; 가치 is also in a session title.
TEXTS = ("가치를 만듭니다", "사회적 가치를 높입니다", "성과", "가치 성과 가치",
         "오늘 말씀드릴 성과는 세 가지입니다", "네", "한국가스공사의 사례", "사회적가치 성과 측정")


def _forum(forum: Any, offset: int) -> ForumRecord:
    sessions = []
    for number, title in enumerate(("가치 있는 세션", "성과 세션", "토론"), start=1):
        segments = [(float(i), i + 1.0, TEXTS[(i * 3 + number + offset) % len(TEXTS)])
                    for i in range(70)]
        sessions.append(session(forum, number, f"s{number}", title, segments,
                                speakers=(("김민지", None),) if number == 2 else ()))
    return ForumRecord(forum=forum, sessions=tuple(sessions))


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("many") / "catalogue.sqlite"
    write_forum(path, _forum(FORUM_2024, 0))
    write_forum(path, _forum(FORUM_2025, 1))
    return path


def _everything_ranked(db: sqlite3.Connection, terms: list[str], words: list[str],
                       query: SearchQuery) -> list[tuple[Any, ...]]:
    lookups = Lookups(db, terms, words, query.forum_id)
    sql, params = search_module._sql(terms, lookups, query)
    return db.execute(sql, params).fetchall()


# 가치 and 성과 are frequent (in half the passages); 성과 측정 and 오늘 성과 are phrases of a
# rare word and a frequent one: the cases a bounded ranking of frequent terms must keep.
@pytest.mark.parametrize("text", ["가치", "성과", "사회적 가치", "가치 성과", "만들다", "네",
                                  "공사", "김민지", "세션", "성과 측정", "오늘 성과"])
@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (5, 0), (20, 0), (5, 37), (20, 150)])
@pytest.mark.parametrize("filters", [{}, {"forum_id": FORUM_2024.id}, {"speaker": "민지"}])
def test_the_page_is_the_one_ranking_every_match_gives(
        many: Path, monkeypatch: pytest.MonkeyPatch, text: str, limit: int, offset: int,
        filters: dict[str, Any]) -> None:
    query = SearchQuery(text, limit=limit, offset=offset, **filters)
    found = search(many, query)
    with monkeypatch.context() as patch:
        patch.setattr(search_module, "_rows", _everything_ranked)
        expected = search(many, query)
    assert [hit.as_json() for hit in found.hits] == [hit.as_json() for hit in expected.hits]
    assert found.more == expected.more


def test_equal_scores_go_newest_forum_first_then_in_programme_order(many: Path) -> None:
    # The same sentence scores the same wherever it was said: the passage ids, which the
    # bounded sort orders by, must give the documented order (see `order`).
    hits = search(many, SearchQuery("성과", limit=1000)).hits
    # (In s2, titled 성과 세션, the title weighs the same sentence up.)
    same = [h for h in hits if h.text == "성과" and h.match == "phrase" and h.session_id != "s2"]
    assert len(same) > 20
    places = [(h.forum_date, h.session_id, h.start) for h in same]
    assert places == sorted(places, key=lambda p: (-int(p[0].replace("-", "")), p[1], p[2]))
    assert {p[0] for p in places} == {FORUM_2024.date, FORUM_2025.date}
