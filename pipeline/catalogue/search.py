"""Search the catalogue: ranked hits in transcripts and material pages, and filter facets.

A query is analysed like the indexed text (see `analyzer`), and a passage
matches when it has every term of the query, in its text, its session's title
or its speakers (a material page: its file name and title). A passage that
matches through the title or speakers alone stands for its whole session: only
the session's first passage is a hit, not every one. Ranking:

1. the query's terms as an exact phrase (선언문 채택 in 선언문을 채택했습니다)
   before the same terms scattered;
2. then FTS5's bm25 over the spoken text, weighed up for a passage whose session
   title or speakers hold some of the terms; a session matched through its title
   or speakers alone comes after the spoken matches (see `matching`);
3. then newest forum first, in programme order.

After those come passages where the query's words are parts of written words
(the substring search, through the vocabulary of written words, see `terms`):
parts of words and names the analyser reads differently standing alone than in
a sentence (톨스 for 톨스토이, 가스공사 inside 한국가스공사의). A part is found
inside one written word, not across the space between two (the trigram index of
version 2 ignored spaces; typing two words as one is left to the morphology,
which finds 146 of 150 such queries). Measured with
scripts/bench/search_recall.py on the twelve talks of the speech corpus (884
sentences, 150 queries of each kind: is the sentence the query came from among
the hits?), morphology alone, then with the substring hits: word beginnings of
two or three syllables 105 and 150; word middles 3 and 127 (the version 2
trigram index: 128); words as spoken 143 and 147; two words typed without their
space 146 and 146 (trigram: 150). That is why the substring search stays,
behind the morphological hits and never ahead of them.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import sqlite3
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.catalogue.analyzer import Analyzer, default_analyzer, nfc, word_key
from pipeline.catalogue.matching import Lookups, morphological
from pipeline.catalogue.order import first_id_from, order_key
from pipeline.catalogue.reader import read, written_state
from pipeline.catalogue.schema import check_file
from pipeline.catalogue.snippets import make_snippet, substring_spans
from pipeline.catalogue.topk import GROUPED_FROM, Ranked, best_spoken
from pipeline.errors import CatalogueError

# What a search may ask, for every edge that takes one (the CLI and the web app).
MAX_QUERY = 200  # characters: a query is a few words, and Kiwi reads all of it
MAX_LIMIT = 100
MAX_OFFSET = 10_000
# The web page's form lists every forum and speaker on every request (2.6 ms to read at
# 1,000 hours): they are read again when the file at the path, its size or its time, or
# its -wal's, changed, and at least this often (a file's time may not tick between two
# quick writes of the same size).
FACETS_FRESH_S = 5.0
FACETS_KEPT = 16  # catalogues whose facets are kept


def clean_query(text: str) -> str:
    """The words to search: control characters (a NUL, an escape) as spaces, the ends
    stripped. Such characters mean nothing in a query, and a NUL would end FTS5's string."""
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).strip()


@dataclass(frozen=True)
class SearchQuery:
    """What to look for, and where. `since` keeps forums held on or after that day."""

    text: str
    forum_id: str | None = None
    speaker: str | None = None  # part of a speaker's name, e.g. 윤태범
    since: datetime.date | None = None
    limit: int = 20
    offset: int = 0

    def __post_init__(self) -> None:
        if not self.text.split():
            raise CatalogueError("the search query is empty",
                              "give one or more words, e.g. 사회적가치")
        if self.limit < 1:
            raise CatalogueError(f"the search limit must be 1 or more, not {self.limit}")
        if self.offset < 0:
            raise CatalogueError(f"the search offset must be 0 or more, not {self.offset}")


@dataclass(frozen=True)
class SearchHit:
    """One matching transcript segment or material page, with what a viewer needs to open it."""

    kind: str  # "segment" or "material"
    forum_id: str
    forum_title: str
    forum_date: str
    session_id: str | None
    session_slug: str | None
    session_title: str | None
    speaker: str | None  # the session's speakers: "name (organisation); name"
    start: float | None  # seconds into the session clip; None for a material page
    end: float | None
    text: str
    snippet: str  # the text around the match, matches wrapped in [ ]
    url: str | None  # session page (else clip) + #t=SECONDS, or the PDF + #page=N
    material: str | None  # file name of the material
    page: int | None  # 1-based page of the material
    # How it matched: "phrase" (the query's terms in order, in the text), "terms" (all
    # of them, at least one in the text), "title" (the session's title or speakers, or
    # the material's title or name: one hit per session or material), "substring".
    match: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SearchResults:
    query: str
    hits: list[SearchHit]
    terms: list[str] = field(default_factory=list)  # what the query was analysed into
    more: bool = False  # whether hits beyond offset + limit exist

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "hits": [hit.as_json() for hit in self.hits]}

    def json_text(self) -> str:
        """What `search --json` prints, and what the web app's /api/search returns."""
        return json.dumps(self.as_json(), ensure_ascii=False, indent=1)


@dataclass(frozen=True)
class ForumFacet:
    id: str
    title: str
    date: str


@dataclass(frozen=True)
class Facets:
    """What a search form can offer as filters: every forum, every speaker's name."""

    forums: list[ForumFacet]
    speakers: list[str]


_COLUMNS = (
    'p.text, p.start, p."end", p.page, f.id, f.title, f.date, s.session_id, s.slug, s.title,'
    " s.speakers, s.clip_url, s.page_url, m.file_name, m.url"
)


def search(catalogue: Path, query: SearchQuery, *,
           analyzer: Analyzer | None = None) -> SearchResults:
    """Ranked hits for `query` (see the module docstring for the order).

    Query text is literal: FTS5 syntax such as `AND`, `"` or `*` is never
    interpreted. A query of nothing but particles or punctuation finds nothing.
    """
    analyzer = analyzer or default_analyzer()
    check_file(catalogue)  # even for a query that has no terms to look up
    analysed = analyzer.query_terms(query.text)
    terms = [t for t in analysed if any(c.isalnum() for c in t)]
    if not terms:
        return SearchResults(query.text, [], [])
    words = _words(query.text, analyzer, analysed)
    rows = read(catalogue, lambda db: _rows(db, terms, words, query), analyzer=analyzer)
    page = rows[:query.limit]
    marks = analyzer.spans([row[0] for row in page], set(terms))
    hits = [_hit(row, spans, words) for row, spans in zip(page, marks, strict=True)]
    return SearchResults(query.text, hits, terms, more=len(rows) > query.limit)


def _words(text: str, analyzer: Analyzer, analysed: list[str] | None = None) -> list[str]:
    """The query's words for the substring search: as the vocabulary keeps words, those
    with a term of their own. `analysed`: the whole query's terms, which are a one-word
    query's own (not analysed again)."""
    split = nfc(text).split()
    if len(split) == 1 and analysed is not None:
        return [key for key in [word_key(split[0])] if analysed and key]
    return [key for w in split if analyzer.query_terms(w) and (key := word_key(w))]


def _rows(db: sqlite3.Connection, terms: list[str], words: list[str],
          query: SearchQuery, grouped_from: int = GROUPED_FROM) -> list[tuple[Any, ...]]:
    """The page's rows (and one more, for `more`), in ranking order.

    A common word matches much of a large archive (하다: 30% of the passages of the
    1,000-hour benchmark), so its matches are not all joined and sorted. Without a
    filter by forum or speaker, and when every term has `grouped_from` passages, the
    best `offset + limit + 1` are found group by group (see `topk`). Otherwise FTS5
    keeps them in a bounded sort, whose key is the whole ranking (phrase, score, then
    the passage id, which sorts newest forum first in programme order: see `order`).
    Only when those do not fill the page are the substring matches added, again the
    first ones only.
    """
    lookups = Lookups(db, terms, words, query.forum_id)
    top = query.offset + query.limit + 1
    ranked = _grouped(db, terms, lookups, query, top, grouped_from)
    if ranked is not None:
        sql, params = _page(ranked, query)
        return db.execute(sql, params).fetchall()
    sql, params = _sql(terms, lookups, query, top=top)
    rows = db.execute(sql, params).fetchall()
    if len(rows) > query.limit or lookups.substring is None:
        return rows
    # Fewer morphological matches than `top`: all of them are among those ranked.
    sql, params = _sql(terms, lookups, query, top=top, substring=True)
    return db.execute(sql, params).fetchall()


def _grouped(db: sqlite3.Connection, terms: list[str], lookups: Lookups, query: SearchQuery,
             top: int, grouped_from: int) -> list[Ranked] | None:
    """The page's spoken matches found group by group, or None where that does not apply:
    a forum or speaker filter (few matches), or a `since` that the passage ids cannot
    express (a forum whose date is not a day)."""
    if query.forum_id is not None or (query.speaker is not None and query.speaker.strip()):
        return None
    min_id = None
    if query.since is not None:
        min_id = first_id_from(query.since)
        (differing,) = db.execute(
            "SELECT count(*) FROM forums WHERE first_passage IS NOT NULL"
            " AND (date >= ?) != (first_passage >= ?)",
            (query.since.isoformat(), min_id)).fetchone()
        if differing:
            return None
    return best_spoken(db, terms, lookups.heads, top, min_id=min_id, grouped_from=grouped_from)


def _page(ranked: list[Ranked], query: SearchQuery) -> tuple[str, list[object]]:
    """The page of matches found by `topk`, with what a hit shows."""
    values = ", ".join(["(?, ?, 1, ?, 1)"] * len(ranked))
    params: list[object] = [x for r in ranked for x in (r.id, r.score, int(r.phrase))]
    return _page_sql([f"found (id, score, spoken, phrase, morph) AS (VALUES {values})"],
                     params, query)


def _sql(terms: list[str], lookups: Lookups, query: SearchQuery, top: int | None = None,
         substring: bool = False) -> tuple[str, list[object]]:
    """The ranked query: with `top`, the best `top` morphological matches (with
    `substring`, then the first `top` substring matches that are not among them);
    without, every match, substring matches after the morphological ones."""
    where, filter_params = _filters(query)
    ctes, params, morph = morphological(terms, lookups, query.forum_id, where, filter_params)
    key = order_key("id")
    bound, bounds = ("", []) if top is None else (" LIMIT ?", [top])
    ctes.append(f"morph AS (SELECT * FROM ({morph}) ORDER BY phrase DESC, score, {key}{bound})")
    params += bounds
    found = "SELECT id, score, spoken, phrase, morph FROM morph"
    if (substring or top is None) and lookups.substring is not None:
        sub = ("SELECT rowid AS id FROM passages_fts WHERE passages_fts MATCH ?"
               " AND rowid NOT IN (SELECT id FROM morph)")
        params.append(lookups.substring)
        if where != "1":
            sub = (f"SELECT u.id FROM ({sub}) u JOIN passages p ON p.id = u.id"
                   f" JOIN forums f ON f.id = p.forum_id WHERE {where}")
            params += filter_params
        ctes.append(f"sub AS (SELECT * FROM ({sub}) ORDER BY {key}{bound})")
        params += bounds
        found += " UNION ALL SELECT id, NULL, 0, 0, 0 FROM sub"
    ctes.append(f"found AS ({found})")
    # Both kinds of match are filtered already, and a match through a title or speakers
    # alone is already its session's (or material's) first passage (see `matching`).
    return _page_sql(ctes, params, query)


def _page_sql(ctes: list[str], params: list[object],
              query: SearchQuery) -> tuple[str, list[object]]:
    """`found` (id, score, spoken, phrase, morph), ranked, paged and joined to what a hit
    shows."""
    params = [*params, query.limit + 1, query.offset]
    sql = (
        f"WITH {', '.join(ctes)} SELECT {_COLUMNS}, found.morph, found.phrase, found.spoken"
        " FROM found JOIN passages p ON p.id = found.id"
        " JOIN forums f ON f.id = p.forum_id"
        " LEFT JOIN sessions s ON s.forum_id = p.forum_id AND s.session_id = p.session_id"
        " LEFT JOIN materials m ON m.id = p.material_id"
        f" ORDER BY found.phrase DESC, found.morph DESC, found.score, {order_key('p.id')}"
        " LIMIT ? OFFSET ?"
    )
    return sql, params


def _filters(query: SearchQuery) -> tuple[str, list[object]]:
    where = ["1"]
    params: list[object] = []
    if query.forum_id is not None:
        where.append("p.forum_id = ?")
        params.append(query.forum_id)
    if query.speaker is not None and query.speaker.strip():
        where.append("EXISTS (SELECT 1 FROM speakers sp WHERE sp.forum_id = p.forum_id"
                     " AND sp.session_id = p.session_id AND instr(lower(sp.name), ?) > 0)")
        params.append(nfc(query.speaker).strip().lower())
    if query.since is not None:
        where.append("f.date >= ?")
        params.append(query.since.isoformat())
    return " AND ".join(where), params


def _hit(row: tuple[Any, ...], term_spans: list[tuple[int, int]],
         words: list[str]) -> SearchHit:
    (text, start, end, page, forum_id, forum_title, forum_date, session_id, slug, title,
     speakers, clip_url, page_url, material, material_url, by_terms, by_phrase, spoken) = row
    spans = term_spans + substring_spans(text, words)
    if session_id is not None:
        base = page_url or clip_url
        url = f"{base.split('#', 1)[0]}#t={max(0, int(start))}" if base else None
    else:
        url = f"{material_url.split('#', 1)[0]}#page={page}" if material_url else None
    return SearchHit(
        kind="segment" if session_id is not None else "material",
        forum_id=forum_id, forum_title=forum_title, forum_date=forum_date,
        session_id=session_id, session_slug=slug, session_title=title, speaker=speakers,
        start=start, end=end, text=text, snippet=make_snippet(text, spans), url=url,
        material=material, page=page,
        match=("phrase" if by_phrase else "terms" if spoken else "title" if by_terms
               else "substring"),
    )


_facets_lock = threading.Lock()
_facets_read: dict[Path, tuple[object, float, Facets]] = {}  # state, when read, facets


def facets(catalogue: Path) -> Facets:
    """Every forum (newest first) and every speaker's name (in 가나다 order); kept while
    the file is unchanged (see `FACETS_FRESH_S`)."""
    seen = written_state(catalogue)
    with _facets_lock:
        kept = _facets_read.get(catalogue)
    if (kept is not None and seen[0] is not None and kept[0] == seen
            and time.monotonic() - kept[1] < FACETS_FRESH_S):
        return kept[2]
    found = _read_facets(catalogue)
    with _facets_lock:
        if len(_facets_read) >= FACETS_KEPT:
            _facets_read.clear()  # a process searches one catalogue, or a few (tests)
        _facets_read[catalogue] = (seen, time.monotonic(), found)
    return found


def _read_facets(catalogue: Path) -> Facets:
    def both(db: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
        return (db.execute("SELECT id, title, date FROM forums ORDER BY date DESC, id").fetchall(),
                db.execute("SELECT DISTINCT name FROM speakers").fetchall())

    forums, names = read(catalogue, both)
    return Facets(forums=[ForumFacet(*row) for row in forums],
                  speakers=sorted(name for (name,) in names))
