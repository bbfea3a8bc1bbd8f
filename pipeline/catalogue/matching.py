"""Which passages match a query, as SQL: the morphological matches and the substring ones.

A passage matches when every term of the query is in its text (`passages_fts`)
or in its session's title or speakers (a material page: the material's title
and file name), which are indexed once per session in `headings_fts`, not on
each passage (at 1,000 hours they made more than half of the term index). So a
query first looks its terms up among the headings (`Lookups.heads`, a few
hundred rows at most); a session whose heading has some of them ("covers" them)
is searched, within its range of passages, for the rest only; every other
passage needs all of them in its text.

Scores are FTS5's bm25 over the text, lower is better. A passage in a session
whose heading covers some of the query's terms scores as if its text weighed
`1 + TITLE_WEIGHT x covered / terms` times more. A session whose heading covers
them all also matches through its first passage alone (a "title" match: one hit
for the session, not one per passage), with score 0, after every spoken match.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

TITLE_WEIGHT = 0.5  # what a query term in the session's title or speakers adds
TRIGRAM = 3  # the vocabulary's trigram index cannot match shorter fragments; those scan it
# A fragment is searched as at most this many written words holding it, the shortest
# first (the closest to what was typed): 사 alone is inside thousands.
WORD_MATCHES = 200
SCORE = "bm25(passages_fts, 1.0, 0.0)"  # the text's terms; a group token weighs nothing
_FORUM_RANGE = ("BETWEEN (SELECT first_passage FROM forums WHERE id = ?)"
                " AND (SELECT last_passage FROM forums WHERE id = ?)")


def quote(text: str) -> str:
    """An FTS5 string: literal, whatever it contains."""
    return '"' + text.replace('"', '""') + '"'


def in_text(expression: str) -> str:
    """An FTS5 query of `passages_fts` that looks at the text's terms only, never at the
    group tokens beside them (see `groups`)."""
    return f"body : ({expression})"


@dataclass(frozen=True)
class Head:
    """A session (or material) whose heading has some of the query's terms."""

    first: int  # its passages' ids: first to last
    last: int
    covered: frozenset[str]


class Lookups:
    """What the catalogue says about a query before its passages are searched. The
    substring query is looked up only when asked for: most pages are filled by the
    morphological matches, and a fragment of one or two syllables scans the vocabulary."""

    def __init__(self, db: sqlite3.Connection, terms: list[str], words: list[str],
                 forum_id: str | None) -> None:
        self.heads = _heads(db, terms, forum_id)
        self._db, self._words = db, words
        self._substring: tuple[str | None] | None = None

    @property
    def substring(self) -> str | None:
        """The FTS5 query of the substring matches; None: there are none."""
        if self._substring is None:
            self._substring = (substring_match(self._db, self._words),)
        return self._substring[0]


def _heads(db: sqlite3.Connection, terms: list[str], forum_id: str | None) -> tuple[Head, ...]:
    covered: dict[tuple[int, int], set[str]] = {}
    sql = "SELECT rowid, last_passage FROM headings_fts WHERE headings_fts MATCH ?"
    if forum_id is not None:
        sql += f" AND rowid {_FORUM_RANGE}"
    for term in dict.fromkeys(terms):
        params = (quote(term),) if forum_id is None else (quote(term), forum_id, forum_id)
        for first, last in db.execute(sql, params):
            covered.setdefault((int(first), int(last)), set()).add(term)
    return tuple(Head(first, last, frozenset(found))
                 for (first, last), found in sorted(covered.items()))


def substring_match(db: sqlite3.Connection, words: list[str]) -> str | None:
    """The FTS5 query for passages holding every one of `words` inside a written word,
    or None when one of them is inside none: each is looked up in the vocabulary
    (`words`, see `terms`), and the terms of the written words it is part of are
    searched as phrases in the passages' text."""
    parts = []
    for word in words:
        if len(word) >= TRIGRAM:
            found = db.execute(
                "SELECT terms FROM words WHERE words MATCH ? ORDER BY length(word) LIMIT ?",
                (quote(word), WORD_MATCHES))
        else:  # too short for the trigram index: the vocabulary is scanned
            found = db.execute(
                "SELECT terms FROM words WHERE instr(word, ?) > 0 ORDER BY length(word)"
                " LIMIT ?", (word, WORD_MATCHES))
        phrases = list(dict.fromkeys(terms for (terms,) in found))
        if not phrases:
            return None
        parts.append("(" + " OR ".join(map(quote, phrases)) + ")")
    return in_text(" AND ".join(parts)) if parts else None


def morphological(terms: list[str], lookups: Lookups, forum_id: str | None, where: str,
                  filter_params: list[object]) -> tuple[list[str], list[object], str]:
    """The morphological matches of `terms` as a SELECT of (id, score, spoken, phrase,
    morph), with the CTEs and the parameters it needs, in the order they appear."""
    unique = list(dict.fromkeys(terms))
    ctes: list[str] = []
    params: list[object] = []
    if len(terms) == 1:
        phrase = "1"  # one term in the text is the phrase
    else:
        ctes.append("in_order AS (SELECT rowid AS id FROM passages_fts"
                    " WHERE passages_fts MATCH ?)")
        params.append(in_text(quote(" ".join(terms))))
        phrase = "id IN (SELECT id FROM in_order)"
    everywhere = in_text(" AND ".join(map(quote, unique)))
    main = (f"SELECT rowid AS id, {SCORE} AS score FROM passages_fts"
            " WHERE passages_fts MATCH ?")
    main_params: list[object] = [everywhere]
    if forum_id is not None:  # a forum's passages lie between its first and last
        main += f" AND rowid {_FORUM_RANGE}"
        main_params += [forum_id, forum_id]
    selects = []
    if lookups.heads:
        rows = ", ".join(["(?, ?, ?, ?, ?)"] * len(lookups.heads))
        ctes.append(f"heads (first, last, boost, q, whole) AS (VALUES {rows})")
        for head in lookups.heads:
            rest = [t for t in unique if t not in head.covered]
            # Covered whole: its passages that say any of the terms are spoken matches.
            query = " AND ".join(map(quote, rest)) if rest else " OR ".join(map(quote, unique))
            params += [head.first, head.last, 1 + TITLE_WEIGHT * len(head.covered) / len(unique),
                       in_text(query), not rest]
        ctes.append(
            "head_rows AS MATERIALIZED (SELECT passages_fts.rowid AS id,"
            f" {SCORE} * h.boost AS score FROM heads h JOIN passages_fts"
            " ON passages_fts MATCH h.q AND passages_fts.rowid BETWEEN h.first AND h.last)")
        main += " AND rowid NOT IN (SELECT id FROM head_rows)"
        selects += [f"SELECT id, score, 1 AS spoken, {phrase} AS phrase, 1 AS morph"
                    " FROM head_rows",
                    "SELECT first, 0.0, 0, 0, 1 FROM heads WHERE whole"
                    " AND first NOT IN (SELECT id FROM head_rows)"]
    ctes.append(f"body_rows AS ({main})")
    params += main_params
    selects.insert(0, f"SELECT id, score, 1 AS spoken, {phrase} AS phrase, 1 AS morph"
                      " FROM body_rows")
    morph = " UNION ALL ".join(selects)
    if where != "1":
        morph = (f"SELECT u.* FROM ({morph}) u JOIN passages p ON p.id = u.id"
                 f" JOIN forums f ON f.id = p.forum_id WHERE {where}")
        params += filter_params
    return ctes, params, morph
