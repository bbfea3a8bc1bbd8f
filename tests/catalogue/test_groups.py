"""Passage groups (`groups`): the token each passage carries, the counts kept with it, the
totals read from FTS5, and the bound itself, checked against FTS5's own bm25."""

from __future__ import annotations

import collections
import math
import sqlite3
from pathlib import Path

import pytest

from pipeline.catalogue import ForumRecord, write_forum
from pipeline.catalogue.groups import (
    bucket,
    fts_tokens,
    fts_totals,
    group_token,
    groups,
    idf,
    term_buckets,
)
from pipeline.catalogue.matching import SCORE, in_text, quote
from pipeline.results import ForumSummary
from tests.catalogue.builders import FORUM_2024, FORUM_2025, forum_2024, session

TEXTS = ("가치 가치 가치 성과", "가치 성과 가치 성과 측정", "성과 성과 가치", "성과",
         "사회적 가치를 높입니다", "3.5 퍼센트 3.5",
         "네", "오늘 말씀드릴 성과는 세 가지입니다 가치 가치 가치 가치 가치 가치",
         " ".join(["공공기관"] * 60))


@pytest.mark.parametrize(("body", "token"), [
    ("가치 가치 성과", f"g3m2r{bucket('가치')}"), ("", "g0m0"), ("성과", "g1m1"),
    ("3.5 3", f"g3m2r{bucket('3')}"), ("AI ai", f"g2m2r{bucket('ai')}"),
    ("가치 성과 가치 성과", "g4m2rx"), (" ".join(["가치"] * 7), f"g7m5r{bucket('가치')}"),
    (" ".join(f"t{i}" for i in range(60)), "g49m1"),
    (" ".join(f"t{i}" for i in range(5000)), "g4096m1")])
def test_a_passage_s_group_is_its_length_and_most_frequent_term(body: str, token: str) -> None:
    assert group_token(body) == token


def test_terms_are_split_as_fts5_splits_them() -> None:
    assert fts_tokens("3.5 사회적-가치 AI") == ["3", "5", "사회적", "가치", "ai"]


def _forum(forum: ForumSummary, offset: int, texts: tuple[str, ...]) -> ForumRecord:
    segments = [(float(i), i + 1.0, texts[(i + offset) % len(texts)]) for i in range(30)]
    return ForumRecord(forum=forum, sessions=(
        session(forum, 1, "s1", "토론", segments, speakers=()),))


@pytest.fixture
def two_forums(tmp_path: Path) -> Path:
    path = tmp_path / "catalogue.sqlite"
    write_forum(path, _forum(FORUM_2024, 0, TEXTS))
    write_forum(path, _forum(FORUM_2025, 3, TEXTS))
    write_forum(path, _forum(FORUM_2024, 1, TEXTS[:3]))  # rewritten: counts move
    return path


def _read_back(db: sqlite3.Connection) -> tuple[dict[int, list[str]], dict[int, str]]:
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v"
               " USING fts5vocab(main, passages_fts, instance)")
    bodies: dict[int, list[str]] = collections.defaultdict(list)
    grps: dict[int, str] = {}
    for term, doc, col in db.execute("SELECT term, doc, col FROM temp.v ORDER BY doc, offset"):
        if col == "body":
            bodies[doc].append(term)
        else:
            grps[doc] = term
    return bodies, grps


def test_counts_and_totals_follow_writes_and_rewrites(two_forums: Path) -> None:
    with sqlite3.connect(two_forums) as db:
        bodies, grps = _read_back(db)
        (passages,) = db.execute("SELECT count(*) FROM passages").fetchone()
        assert len(grps) == passages
        for doc, token in grps.items():
            assert token == group_token(" ".join(bodies.get(doc, [])))
        assert {g.token: g.passages for g in groups(db)} == collections.Counter(grps.values())
        tokens = sum(map(len, bodies.values())) + len(grps)
        assert fts_totals(db) == (passages, tokens)


def test_no_match_scores_better_than_its_group_s_bound(two_forums: Path) -> None:
    with sqlite3.connect(two_forums) as db:
        bodies, grps = _read_back(db)
        rows, tokens = fts_totals(db)
        by_token = {g.token: g for g in groups(db)}
        terms = sorted({t for body in bodies.values() for t in body})
        pairs = [[a, b] for a in terms[:6] for b in terms[-6:] if a != b]
        checked = tight = 0
        for query in [[t] for t in terms] + pairs:
            matches = [len({d for d, body in bodies.items() if t in body}) for t in query]
            weights = [(idf(rows, n), term_buckets(t)) for t, n in zip(query, matches, strict=True)]
            match = in_text(" AND ".join(map(quote, query)))
            for doc, score in db.execute(f"SELECT rowid, {SCORE} FROM passages_fts"
                                         " WHERE passages_fts MATCH ?", (match,)):
                group = by_token[grps[doc]]
                limit = sum(w * group.fraction(tokens / rows, b) for w, b in weights)
                assert -score <= limit * (1 + 1e-12), (query, doc, score, limit)
                checked += 1
                tight += math.isclose(-score, limit, rel_tol=1e-12)
        assert checked > 200
        assert tight > 20  # the bound is reached: a passage of one term, repeated M times


def test_a_catalogue_s_first_write_counts_its_groups(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite"
    write_forum(path, forum_2024())
    with sqlite3.connect(path) as db:
        _, grps = _read_back(db)
        assert sum(g.passages for g in groups(db)) == len(grps) > 0
