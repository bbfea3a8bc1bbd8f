"""search.py's measuring: the 200 mixed queries and the parts of words, timed on both
catalogues, the recall cases, and the estimate of the analysis time."""

from __future__ import annotations

import os
import random
import re
import sqlite3
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import repeat_timed, run_timed
from _search_archive import RECALL_CASES, RECALL_FORUM, RECALL_LIMIT, SEED, Plan, forum_record
from _search_baseline import old_search

from pipeline.catalogue import SearchQuery, search
from pipeline.catalogue.analyzer import default_analyzer
from pipeline.catalogue.matching import in_text, quote
from pipeline.catalogue.writer import analyse

# Query mix: how many of each kind (200 in all).
QUERY_MIX = (("1 syllable", 40), ("2 syllables", 50), ("3+ syllables", 40),
             ("predicate (dictionary form)", 40), ("two-word phrase", 30))
NAMED_PREDICATES = ("만들다", "채택하다", "보다", "하다", "있다", "되다")


def make_queries(sentences: list[str], seed: int = SEED) -> list[tuple[str, str]]:
    """200 (kind, query) pairs drawn from the corpus's words (seeded)."""
    rng = random.Random(f"{seed}/queries")
    hangul = re.compile(r"^[가-힣]+$")
    terms: Counter[str] = Counter()
    for row in default_analyzer().index_terms(sentences):
        terms.update(t for t in row if hangul.match(t))
    predicates = sorted(t for t in terms if len(t) >= 2 and t.endswith("다"))
    nouns = sorted(t for t in terms if not t.endswith("다"))
    pools = {
        "1 syllable": [t for t in nouns if len(t) == 1],
        "2 syllables": [t for t in nouns if len(t) == 2],
        "3+ syllables": [t for t in nouns if len(t) >= 3],
        "predicate (dictionary form)": [p for p in predicates if p not in NAMED_PREDICATES],
        "two-word phrase": sorted({f"{a} {b}" for s in sentences
                                   for a, b in zip(s.split(), s.split()[1:], strict=False)}),
    }
    chosen: list[tuple[str, str]] = []
    for kind, count in QUERY_MIX:
        fixed = list(NAMED_PREDICATES) if kind.startswith("predicate") else []
        pool = pools[kind]
        picked = fixed + rng.sample(pool, min(len(pool), count - len(fixed)))
        chosen += [(kind, q) for q in picked]
    return chosen


def word_parts(sentences: list[str], count: int = 20, seed: int = SEED) -> list[tuple[str, str]]:
    """Parts of words (a word's first 2-3 syllables, or all but its first): where our
    search may need its substring scan. Timed apart from the 200."""
    rng = random.Random(f"{seed}/parts")
    words = sorted({w for s in sentences for w in s.split() if len(w) >= 4})
    picked = rng.sample(words, count)
    return [("part of a word", w[:rng.choice((2, 3))] if n % 2 else w[1:])
            for n, w in enumerate(picked)]


def measure(queries: list[tuple[str, str]], rounds: int, ours: Path,
            baseline: Path | None) -> dict[str, list[dict[str, Any]]]:
    """Each query's timings on ours and (unless None: a growth run) the baseline."""
    engines: dict[str, Callable[[str], int]] = {
        "ours": lambda q: len(search(ours, SearchQuery(q)).hits)}
    if baseline is not None:
        engines["baseline"] = lambda q: len(old_search(baseline, q))
    results: dict[str, list[dict[str, Any]]] = {}
    for name, run in engines.items():
        started = time.perf_counter()
        first = {}
        for _, query in queries:  # warm-up: page cache, Kiwi, SQLite's schema
            begun = time.perf_counter()
            run(query)  # also the first time the query's words are analysed (see below)
            first[query] = time.perf_counter() - begun
        rows = []
        for kind, query in queries:
            # the median pass: what a user waits for; the best pass only as an extra
            # column (it hides the cost, see issue 20)
            timings, hits = repeat_timed(rounds, lambda q=query, r=run: r(q), time.process_time)
            rows.append({"kind": kind, "query": query,
                         "wall": statistics.median(t.wall for t in timings),
                         "cpu": statistics.median(t.cpu for t in timings),
                         "best_wall": min(t.wall for t in timings), "hits": hits})
        results[name] = rows
        for row in rows:
            row["first_wall"] = first[row["query"]]
        # Ours keeps each typed word's analysis (analyzer.QUERY_WORDS): the timed passes
        # reuse it; the warm-up is each query's first time, analysis included.
        cold = sorted(first.values())
        print(f"  {name}: first time asked (warm-up pass): p50 {cold[len(cold) // 2] * 1000:.1f}"
              f" ms, p95 {cold[int(len(cold) * .95)] * 1000:.1f} ms,"
              f" worst {cold[-1] * 1000:.1f} ms", flush=True)
        print(f"  {name}: {len(queries)} queries x ({rounds} + 1 warm-up) in"
              f" {time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f}",
              flush=True)
    analyzer = default_analyzer()
    db = sqlite3.connect(f"{ours.resolve().as_uri()}?mode=ro", uri=True)
    try:  # how many passages have all the query's terms: what our ranking works through
        for row in results["ours"]:
            terms = [t for t in analyzer.query_terms(row["query"]) if any(c.isalnum() for c in t)]
            expression = in_text(" AND ".join(map(quote, dict.fromkeys(terms))))
            row["matches"] = db.execute(
                "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?",
                (expression,)).fetchone()[0] if terms else 0
    finally:
        db.close()
    return results


def recall(ours: Path, baseline: Path) -> dict[str, list[bool]]:
    found: dict[str, list[bool]] = {"ours": [], "baseline": []}
    for query, target, _ in RECALL_CASES:
        hits = search(ours, SearchQuery(query, forum_id=RECALL_FORUM, limit=RECALL_LIMIT)).hits
        found["ours"].append(any(h.text == target for h in hits))
        old = old_search(baseline, query, limit=RECALL_LIMIT, forum_id=RECALL_FORUM)
        found["baseline"].append(any(h["text"] == target for h in old))
    return found


def estimate(sentences: list[str], hours: float) -> None:
    """Kiwi's throughput on one forum's segments, and the analysis time at `hours`."""
    plan = Plan.of(hours)
    record = forum_record(plan, 0, sentences)
    analyzer = default_analyzer()
    analyzer.index_terms(["준비"])
    spent, _ = run_timed(lambda: analyse(record, analyzer), time.process_time)
    wall, cpu = spent.wall, spent.cpu
    per_forum = record.segment_count
    total = per_forum * plan.forums
    print(f"analysis of one forum ({per_forum} segments): {wall:.1f} s wall, {cpu:.1f} s CPU"
          f" ({per_forum / cpu:.0f} segments per CPU second; load {os.getloadavg()[0]:.1f})")
    print(f"{hours:g} hours = {total} segments: about {total / per_forum * cpu / 60:.0f} CPU"
          f" minutes of analysis, {total / per_forum * wall / 60:.0f} wall minutes at this load"
          " in one process")
