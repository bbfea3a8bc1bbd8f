"""The best spoken matches of a frequent query, found group by group instead of scoring
every match (schema version 4).

bm25 costs 1 to 2 µs a match (FTS5 reads each match's length and positions): 하다 has
226,764 matches at 1,000 hours, 0.2 to 0.4 s, for a page of 20. Every passage belongs to
a group that bounds its score (see `groups`), so the page is searched for among the
groups whose bound is best first:

1. A round scores the matches in the next groups only (FTS5 intersects the terms with
   `grp : (g1 OR g2 ...)`) and keeps the best `top` of all rounds so far. The first
   round takes enough groups to hold about twice `top` matches (from each group's count
   and the rarest term's share of the passages), each further round 8 times more: a
   group's bound is loose when its most frequent term is another one, so the page's
   groups are found in a few rounds, not guessed from the first.
2. Once `top` are kept and the next group's bound cannot reach the worst of them, no
   passage left unscored can rank among them: that is the page. A round that would cost
   more than scoring every match (many groups, for a term whose matches lie in groups of
   weak bounds: see `ROUND_GROUPS`) scores every match instead. Ties included: a group
   whose bound equals the worst kept score (to within `TOLERANCE`) is scored.

So the page is the one ranking every match gives (`tests/catalogue/test_topk.py`
compares them), at the cost of the matches in the page's groups. The order is the
search's: the query's terms as a phrase first, then the score, then the passage id
(see `order`). For a query of several terms, when fewer than `GROUPED_FROM` passages
hold the phrase, they are all scored in one statement (cheaper than rounds: each round
counts its terms' passages again); when they fill the page, that is all (whatever the
number of passages with the terms apart), and when not, the groups are searched for the
rest.

Sessions whose heading covers some of the terms (`matching.Head`) are scored whole, as
`matching` does, and left out of the rounds. This path is only taken when at least
`GROUPED_FROM` passages have every term: scoring fewer matches costs less than the
rounds (each statement counts its terms' passages again for bm25's idf; at 1,000 hours
a query of 5,017 matches took 349 ms in rounds). It returns None when fewer than `top`
spoken matches exist: the caller ranks everything then (title-only and substring
matches come after the spoken ones, and are needed only then).
"""

from __future__ import annotations

import dataclasses
import heapq
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.catalogue.groups import Group, fts_totals, groups, idf, term_buckets
from pipeline.catalogue.matching import SCORE, TITLE_WEIGHT, Head, in_text, quote
from pipeline.catalogue.order import POSITION_BITS

GROUPED_FROM = 20_000  # the passages with every term from which the groups are used
TOLERANCE = 1e-9  # the bound is computed here, the score in FTS5: allow for rounding
PHRASES_COUNTED = 20_000  # a phrase's passages are counted up to this (for the rounds' size)
MARGIN = 2.0  # the first round's groups should hold this many times the matches needed
GROWTH = 8.0  # and each further round's this many times more than the one before
# FTS5 steps through an OR of group tokens child by child: a round costs about its groups
# times the steps (the fewer of its passages and the matches) times 23 ns, and scoring a
# match about 1 µs. At 4,000 hours 월 (24,456 matches) took 621 ms in a round of 1,107
# groups; scoring all its matches, about 30.
ROUND_GROUPS = 43  # the ratio of the two


@dataclass(frozen=True)
class Ranked:
    """A spoken match, as the page needs it."""

    id: int
    score: float
    phrase: bool

    def key(self) -> tuple[bool, float, int, int]:
        return (not self.phrase, self.score, -(self.id >> POSITION_BITS), self.id)


@dataclass(frozen=True)
class _Search:
    """One query against the groups: what every round repeats."""

    match: str  # the text's terms, all of them
    restrict: str  # SQL after WHERE ... MATCH ?: the rowids allowed
    params: tuple[object, ...]
    phrase: bool  # what the rows found are
    weights: tuple[tuple[float, frozenset[str]], ...]  # each term's idf and buckets
    share: float  # what share of a group's passages is expected to match
    average_length: float
    grouped_from: int  # the matches from which rounds are worth their statements
    matches: int  # how many passages have every term (at least)

    def bound(self, group: Group) -> float:
        """The best score (negated) a passage of `group` can have."""
        return sum(idf_ * group.fraction(self.average_length, buckets)
                   for idf_, buckets in self.weights)


def best_spoken(db: sqlite3.Connection, terms: Sequence[str], heads: Sequence[Head],
                top: int, *, min_id: int | None = None,
                grouped_from: int = GROUPED_FROM) -> list[Ranked] | None:
    """The best `top` spoken matches of `terms`, in the page's order (passages from
    `min_id` on). None when the caller had better rank every match: fewer than
    `grouped_from` passages have all the terms (and their phrase does not fill the page),
    or fewer than `top` spoken matches exist."""
    unique = list(dict.fromkeys(terms))
    restrict, params = _restriction(heads, min_id)
    match = in_text(" AND ".join(map(quote, unique)))
    in_phrase = None
    if len(terms) > 1:
        phrase = in_text(quote(" ".join(terms)))
        in_phrase = _count(db, phrase, restrict, params, up_to=max(top, PHRASES_COUNTED))
        if top <= in_phrase < grouped_from:  # a page of phrases, few: all scored at once
            whole = _Search(match, restrict, params, True, (), 0.0, 1.0, grouped_from,
                            in_phrase)
            return _page(_score(db, whole, None, _PhraseSet(phrase, inside=True), top)
                         + _head_rows(db, unique, terms, heads, min_id), top)
    counts = []
    for term in unique:  # each term's passages: bm25's idf, and so the bound's
        counts.append(_count(db, in_text(quote(term))))
        if counts[-1] < grouped_from:
            return None
    rows, tokens = fts_totals(db)
    together = counts[0] if in_phrase is None else in_phrase
    if together < grouped_from:  # two frequent words may seldom meet (가지 다: 483)
        together = _count(db, match, restrict, params, up_to=grouped_from)
    if rows <= 0 or together < grouped_from:
        return None
    search = _Search(match, restrict, params, phrase=len(terms) == 1,
                     weights=tuple((idf(rows, n), term_buckets(t))
                                   for t, n in zip(unique, counts, strict=True)),
                     share=together / rows, average_length=tokens / rows,
                     grouped_from=grouped_from, matches=together)
    ordered = sorted(groups(db), key=lambda g: -search.bound(g))
    return _page(_body(db, search, ordered, terms, top, rows, in_phrase)
                 + _head_rows(db, unique, terms, heads, min_id), top)


def _page(found: list[Ranked], top: int) -> list[Ranked] | None:
    """The best `top` of `found`; None when fewer spoken matches than that exist (then
    title matches may follow them on the page)."""
    if len(found) < top:
        return None
    return sorted(found, key=Ranked.key)[:top]


@dataclass(frozen=True)
class _PhraseSet:
    """The passages holding the query's terms as a phrase: only those, or all but those."""

    match: str
    inside: bool


def _body(db: sqlite3.Connection, search: _Search, ordered: list[Group],
          terms: Sequence[str], top: int, rows: int, in_phrase: int | None) -> list[Ranked]:
    """The best `top` matches outside the heads' sessions, phrases first (all of them,
    when there are fewer)."""
    if in_phrase is None:
        return _rounds(db, search, ordered, top, None)
    phrase = in_text(quote(" ".join(terms)))
    holding = dataclasses.replace(search, phrase=True, share=in_phrase / rows)
    if in_phrase >= max(top, search.grouped_from):  # a page of phrases: among the groups
        return _rounds(db, holding, ordered, top, _PhraseSet(phrase, inside=True))
    # Fewer than the rounds need: every one is scored, in one statement.
    phrases = _score(db, holding, None, _PhraseSet(phrase, inside=True), top)
    if len(phrases) >= top:
        return phrases
    return phrases + _rounds(db, search, ordered, top - len(phrases),
                             _PhraseSet(phrase, inside=False))


def _rounds(db: sqlite3.Connection, search: _Search, ordered: list[Group], need: int,
            phrase_set: _PhraseSet | None) -> list[Ranked]:
    """The best `need` matches, round by round over the groups (see the module's text)."""
    if need <= 0:
        return []
    remaining, found, margin = list(ordered), list[Ranked](), MARGIN
    while remaining:
        worst = -found[need - 1].score * (1 - TOLERANCE) if len(found) >= need else 0.0
        if search.bound(remaining[0]) < worst:
            break  # no group left can hold a better match (bounds fall along the list)
        taken, expected = [], 0.0
        for group in remaining:
            if search.bound(group) < worst:
                break  # nor can this one or any after it
            taken.append(group)
            expected += group.passages * search.share
            if expected >= margin * need:
                break
        margin *= GROWTH
        if _costlier_than_all(search, taken):
            return _score(db, search, None, phrase_set, need)
        remaining = remaining[len(taken):]
        scored = _score(db, search, taken, phrase_set, need)
        found = heapq.nsmallest(need, found + scored, key=Ranked.key)
    return found  # all there are, when fewer than `need`


def _costlier_than_all(search: _Search, taken: list[Group]) -> bool:
    """Whether a round of `taken` would cost more than scoring every match."""
    passages = sum(group.passages for group in taken)
    return len(taken) * min(search.matches, passages) > ROUND_GROUPS * search.matches


def _score(db: sqlite3.Connection, search: _Search, taken: list[Group] | None,
           phrase_set: _PhraseSet | None, limit: int) -> list[Ranked]:
    """The best `limit` matches in the groups `taken` (None: in every group)."""
    within = "" if taken is None else (
        " AND grp : (" + " OR ".join(quote(g.token) for g in taken) + ")")
    sql = (f"SELECT rowid, {SCORE} AS score FROM passages_fts WHERE passages_fts MATCH ?"
           f"{search.restrict}")
    params: list[object] = [search.match + within, *search.params]
    if phrase_set is not None:
        # The phrase set the rows must be in is limited to the same groups; the one they
        # must not be in is smaller than a page, and is not. `+rowid`: a filter, never a
        # list of rowids to look up one by one (each lookup would set up bm25 again).
        sql += (f" AND +rowid {'' if phrase_set.inside else 'NOT '}IN (SELECT rowid FROM"
                " passages_fts WHERE passages_fts MATCH ?)")
        params.append(phrase_set.match + within if phrase_set.inside else phrase_set.match)
    sql += f" ORDER BY score, rowid >> {POSITION_BITS} DESC, rowid LIMIT ?"
    rows = db.execute(sql, [*params, limit])
    return [Ranked(int(i), float(score), search.phrase) for i, score in rows]


def _head_rows(db: sqlite3.Connection, unique: list[str], terms: Sequence[str],
               heads: Sequence[Head], min_id: int | None) -> list[Ranked]:
    """Every spoken match in the sessions whose heading covers some of the terms, scored
    as `matching` scores them. Sessions whose headings cover the same terms are scored in
    one statement: each statement counts its terms' passages again for bm25."""
    alike: dict[frozenset[str], list[tuple[int, int]]] = {}
    for head in heads:
        first = head.first if min_id is None else max(head.first, min_id)
        if first <= head.last:
            alike.setdefault(head.covered, []).append((first, head.last))
    phrase = in_text(quote(" ".join(terms)))
    found = []
    for covered, ranges in alike.items():
        rest = [t for t in unique if t not in covered]
        query = " AND ".join(map(quote, rest)) if rest else " OR ".join(map(quote, unique))
        within = (" AND rowid BETWEEN ? AND ? AND ("
                  + " OR ".join(["rowid BETWEEN ? AND ?"] * len(ranges)) + ")")
        bounds = [ranges[0][0], ranges[-1][1], *(n for pair in ranges for n in pair)]
        phrases: set[int] | None = None
        if len(terms) > 1:
            phrases = {int(i) for (i,) in db.execute(
                f"SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?{within}",
                (phrase, *bounds))}
        boost = 1 + TITLE_WEIGHT * len(covered) / len(unique)
        for i, score in db.execute(
                f"SELECT rowid, {SCORE} * ? FROM passages_fts WHERE passages_fts MATCH ?"
                f"{within}", (boost, in_text(query), *bounds)):
            found.append(Ranked(int(i), float(score), phrases is None or int(i) in phrases))
    return found


def _restriction(heads: Sequence[Head], min_id: int | None) -> tuple[str, tuple[object, ...]]:
    """The rowids a round may find: from `min_id` on, outside the heads' sessions."""
    sql, params = "", list[object]()
    if min_id is not None:
        sql += " AND rowid >= ?"
        params.append(min_id)
    for head in heads:
        sql += " AND NOT (rowid BETWEEN ? AND ?)"
        params += [head.first, head.last]
    return sql, tuple(params)


def _count(db: sqlite3.Connection, match: str, restrict: str = "",
           params: tuple[object, ...] = (), up_to: int | None = None) -> int:
    """How many passages match (at most `up_to`: counting stops there)."""
    sql = f"SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?{restrict}"
    if up_to is not None:
        sql = (f"SELECT count(*) FROM (SELECT rowid FROM passages_fts WHERE passages_fts"
               f" MATCH ?{restrict} LIMIT {int(up_to)})")
    (count,) = db.execute(sql, (match, *params)).fetchone()
    return int(count)
