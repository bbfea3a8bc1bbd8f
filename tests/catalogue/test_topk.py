"""The page of a frequent query found group by group (`topk`) is the page that ranking
every match gives: single terms and phrases, ties, titles, offsets and `since`, on a
varied catalogue where groups differ in length and repeats."""

from __future__ import annotations

import datetime
import importlib
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pipeline.catalogue import ForumRecord, SearchQuery, topk, write_forum
from pipeline.catalogue.analyzer import default_analyzer
from pipeline.catalogue.matching import Lookups
from pipeline.catalogue.topk import best_spoken
from pipeline.results import ForumSummary
from tests.catalogue.builders import session

search_module = importlib.import_module("pipeline.catalogue.search")
DEFAULT_ROUND_GROUPS = topk.ROUND_GROUPS

WORDS = ("가치", "가치", "가치", "성과", "성과", "사회적", "측정", "공공기관", "협업", "지표",
         "혁신", "기관", "사례", "오늘", "말씀", "정책", "지역")
FORUMS = [ForumSummary(id=f"sort-{year}", title=f"{year} 포럼", date=f"{year}-07-02",
                       organiser="SORT", language="ko") for year in (2021, 2022, 2023)]


def _text(rng: random.Random) -> str:
    # Lengths 1 to 14 words, repeats common: groups of every length and frequency.
    words = [rng.choice(WORDS) for _ in range(rng.choice((1, 1, 2, 3, 4, 6, 9, 14)))]
    return " ".join(words) + "."


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(20261203)
    path = tmp_path_factory.mktemp("varied") / "catalogue.sqlite"
    for forum in FORUMS:
        # Session 1's title covers 가치 and 측정 (scored whole, as a heading); the others
        # have no speakers, whose organisation's name would cover 가치 too.
        sessions = tuple(
            session(forum, number, f"s{number}", title,
                    [(float(i), i + 1.0, _text(rng)) for i in range(120)], speakers=speakers)
            for number, title, speakers in ((1, "가치 측정 세션", (("김민지", "사회가치연구원"),)),
                                            (2, "토론", ()), (3, "협업 사례", ())))
        write_forum(path, ForumRecord(forum=forum, sessions=sessions))
    return path


def everything_ranked(db: sqlite3.Connection, terms: list[str], words: list[str],
                      query: SearchQuery) -> list[tuple[Any, ...]]:
    lookups = Lookups(db, terms, words, query.forum_id)
    sql, params = search_module._sql(terms, lookups, query)
    return db.execute(sql, params).fetchall()


QUERIES = ["가치", "성과", "가치 성과", "사회적 가치", "성과 측정", "오늘 성과", "가치 가치",
           "협업", "측정", "지역 정책"]


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (5, 0), (20, 0), (20, 7), (10, 300)])
@pytest.mark.parametrize("since", [None, datetime.date(2022, 1, 1)])
# 1: every query goes by the groups, phrases too; 60: a phrase of fewer passages is
# scored whole, and the rounds find the rest.
@pytest.mark.parametrize("grouped_from", [1, 60])
def test_the_grouped_page_is_the_one_ranking_every_match_gives(
        varied: Path, text: str, limit: int, offset: int, since: datetime.date | None,
        grouped_from: int) -> None:
    analyzer = default_analyzer()
    query = SearchQuery(text, limit=limit, offset=offset, since=since)
    terms = analyzer.query_terms(text)
    words = search_module._words(text, analyzer)
    db = sqlite3.connect(f"file:{varied}?mode=ro", uri=True)
    try:
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        grouped = search_module._rows(db, terms, words, query, grouped_from=grouped_from)
        grouped_path = any("ORDER BY score, rowid" in s for s in statements)
        expected = everything_ranked(db, terms, words, query)[:limit + 1]
    finally:
        db.close()
    assert grouped == expected
    if grouped_from == 1:
        assert grouped_path  # `topk` found the page, not the ranking of every match


@pytest.mark.parametrize("round_groups", [DEFAULT_ROUND_GROUPS, 10**9])
def test_a_phrase_of_few_passages_is_scored_whole_and_the_rest_found_apart(
        varied: Path, round_groups: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # With the default cost rule the rest is cheaper scored whole in this small catalogue;
    # with rounds never too dear, the rest is found in rounds of groups.
    monkeypatch.setattr(topk, "ROUND_GROUPS", round_groups)
    analyzer = default_analyzer()
    db = sqlite3.connect(f"file:{varied}?mode=ro", uri=True)
    try:
        (phrases,) = db.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH"
                                " 'body : \"오늘 성과\"'").fetchone()
        assert 0 < phrases < 60
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        query = SearchQuery("오늘 성과", limit=20, offset=phrases)  # the page straddles both
        terms = analyzer.query_terms(query.text)
        grouped = search_module._rows(db, terms, [], query, grouped_from=60)
        db.set_trace_callback(None)
        assert grouped == everything_ranked(db, terms, [], query)[:21]
    finally:
        db.close()
    scoring = [s for s in statements if "ORDER BY score" in s]
    assert "+rowid IN (" in scoring[0] and "grp : (" not in scoring[0]
    rest = [s for s in scoring if "NOT IN" in s]
    in_rounds = round_groups > DEFAULT_ROUND_GROUPS
    assert rest and all(("grp : (" in s) == in_rounds for s in rest)


def test_matches_spread_over_many_groups_are_all_scored_in_the_end(varied: Path) -> None:
    # 협업's matches lie in groups of weak bounds: after the first rounds, the next would
    # cost more than scoring every match (see ROUND_GROUPS), which is done instead.
    analyzer = default_analyzer()
    query = SearchQuery("협업", limit=20, offset=7)
    terms = analyzer.query_terms(query.text)
    db = sqlite3.connect(f"file:{varied}?mode=ro", uri=True)
    try:
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        grouped = search_module._rows(db, terms, [], query, grouped_from=1)
        db.set_trace_callback(None)
        assert grouped == everything_ranked(db, terms, [], query)[:21]
    finally:
        db.close()
    scoring = [s for s in statements if "ORDER BY score" in s]
    assert "grp : (" in scoring[0] and "grp : (" not in scoring[-1]


def test_a_round_scores_a_fraction_of_the_matches(varied: Path) -> None:
    # 가치 is in most passages; a page of 5 is found among far fewer.
    db = sqlite3.connect(f"file:{varied}?mode=ro", uri=True)
    try:
        lookups = Lookups(db, ["가치"], [], None)
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        ranked = best_spoken(db, ["가치"], lookups.heads, 6, grouped_from=1)
        (matches,) = db.execute("SELECT count(*) FROM passages_fts WHERE passages_fts"
                                " MATCH 'body : 가치'").fetchone()
    finally:
        db.close()
    assert ranked is not None and len(ranked) == 6
    rounds = [s for s in statements if "grp : (" in s]
    assert 1 <= len(rounds) <= 3
    assert matches > 300


def test_rarer_terms_and_too_few_matches_are_left_to_the_full_ranking(varied: Path) -> None:
    db = sqlite3.connect(f"file:{varied}?mode=ro", uri=True)
    try:
        lookups = Lookups(db, ["가치"], [], None)
        assert best_spoken(db, ["가치"], lookups.heads, 5) is None  # under GROUPED_FROM
        (matches,) = db.execute("SELECT count(*) FROM passages_fts WHERE passages_fts"
                                " MATCH 'body : (지역 AND 정책 AND 협업)'").fetchone()
        lookups = Lookups(db, ["지역", "정책", "협업"], [], None)
        assert best_spoken(db, ["지역", "정책", "협업"], lookups.heads, matches + 50,
                           grouped_from=1) is None
    finally:
        db.close()
