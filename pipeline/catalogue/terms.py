"""The catalogue's term indexes: `passages_fts`, `headings_fts` and `words`, added and removed.

`passages_fts` is a contentless FTS5 table (`content=''`): a passage's text is
kept once, in `passages`, and its terms are only indexed, not stored; keeping
them (version 2) doubled the catalogue. The price: SQLite 3.40 (Debian 12) can
delete a row of a contentless table only by naming the terms it was indexed
with (`contentless_delete` came in 3.43). They are analysed again from the
stored text, which gives the same terms only under the same analysis; so the
catalogue records the analyzer's identity (`catalogue_meta`), and a write under
another one re-indexes every passage first (`ensure_analysed_by`).

`headings_fts` holds each session's title and speakers (a material's title and
file name) once, with the range of its passages, instead of on every passage:
at 1,000 hours they made more than half of the term index. It is small, so it
keeps its content and is edited like a table.

Each passage also has its group token (`grp`, see `groups`), derived from its terms, so
a delete names it too; `passage_groups` counts each group's passages and is kept here,
with the index.

`words` is the vocabulary of written words (`word_key`, e.g. 한국가스공사의) with
the terms each stood for where it was written, in a trigram index: the substring
search looks a fragment up there (가스공사 -> 한국가스공사의 -> 한국가스공사) and
then searches the passages for those terms as phrases. It grows with the
vocabulary, not with the hours, where a trigram index over the text was 2.25x
the text. A forum's words are not removed with the forum (they may be another
forum's too); a stale word costs one phrase that matches nothing, and
`index --rebuild` starts afresh.
"""

from __future__ import annotations

import logging
import sqlite3
import unicodedata
from dataclasses import dataclass

from pipeline.catalogue.analyzer import Analyzer
from pipeline.catalogue.groups import count_groups, group_token

log = logging.getLogger("pipeline.index")
BATCH = 500  # passages analysed at once when re-indexing


def clean(text: str | None) -> str:
    """Text as the catalogue stores and analyses it: NFC, without outer whitespace."""
    return unicodedata.normalize("NFC", text or "").strip()


def material_heading(title: str | None, file_name: str) -> str:
    """What a material page is found under besides its text: its title and file name."""
    return " ".join(filter(None, [clean(title), clean(file_name)]))


@dataclass(frozen=True)
class PassageTerms:
    """One passage's terms, space-separated for FTS5, and its written words."""

    body: str
    words: tuple[tuple[str, str], ...]  # (word, the terms it stands for, space-separated)


def passage_terms(analyzer: Analyzer, bodies: list[str]) -> list[PassageTerms]:
    """Each passage's terms and written words, from its text."""
    found = []
    for words in analyzer.index_words(bodies):
        pairs = tuple((word, " ".join(terms)) for word, terms in words)
        found.append(PassageTerms(" ".join(terms for _, terms in pairs), pairs))
    return found


def insert_terms(db: sqlite3.Connection, ids: list[int], terms: list[PassageTerms],
                 known: set[tuple[str, str]] | None = None) -> None:
    """Index passages' text (rowid = passages.id), and add their new written words to the
    vocabulary. `known`: the vocabulary, when the caller keeps it across calls (it is
    updated)."""
    rows = [(i, t.body, group_token(t.body)) for i, t in zip(ids, terms, strict=True)]
    db.executemany("INSERT INTO passages_fts (rowid, body, grp) VALUES (?, ?, ?)", rows)
    count_groups(db, [grp for _, _, grp in rows], 1)
    if known is None:
        known = set(db.execute("SELECT word, terms FROM words"))
    new = sorted({pair for t in terms for pair in t.words} - known)
    db.executemany("INSERT INTO words (word, terms) VALUES (?, ?)", new)
    known.update(new)


def delete_terms(db: sqlite3.Connection, analyzer: Analyzer, first: int, last: int,
                 forum_id: str) -> None:
    """Remove a forum's passages (ids `first` to `last`) from the term indexes (their rows
    in `passages` stay)."""
    cursor = db.execute("SELECT id, text FROM passages WHERE id BETWEEN ? AND ?"
                        " AND forum_id = ? ORDER BY id", (first, last, forum_id))
    while rows := cursor.fetchmany(BATCH):
        terms = analyzer.index_terms([text for _, text in rows])
        bodies = [" ".join(t) for t in terms]
        groups = [group_token(body) for body in bodies]
        db.executemany("INSERT INTO passages_fts (passages_fts, rowid, body, grp)"
                       " VALUES ('delete', ?, ?, ?)",
                       [(i, body, grp) for (i, _), body, grp
                        in zip(rows, bodies, groups, strict=True)])
        count_groups(db, groups, -1)
    db.execute("DELETE FROM headings_fts WHERE rowid BETWEEN ? AND ?", (first, last))


def stored_analyzer(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT value FROM catalogue_meta WHERE key = 'analyzer'").fetchone()
    return None if row is None else str(row[0])


def index_headings(db: sqlite3.Connection, analyzer: Analyzer,
                   forum_id: str | None = None) -> None:
    """Index the headings of the sessions and materials with passages, of one forum or of
    all, from their stored rows: a session's title and speakers text, a material's title
    and file name."""
    where, params = ("forum_id = ? AND ", (forum_id,)) if forum_id is not None else ("", ())
    sessions = db.execute("SELECT first_passage, last_passage, title, speakers FROM sessions"
                          f" WHERE {where}first_passage IS NOT NULL", params).fetchall()
    materials = db.execute("SELECT first_passage, last_passage, title, file_name FROM materials"
                           f" WHERE {where}first_passage IS NOT NULL", params).fetchall()
    headings = sorted([(first, last, clean(title), names)
                       for first, last, title, names in sessions]
                      + [(first, last, material_heading(title, name), "")
                         for first, last, title, name in materials])
    # A speaker or a title may head several sessions: analyse each text once.
    texts = list(dict.fromkeys(t for row in headings for t in row[2:]))
    joined = dict(zip(texts, (" ".join(t) for t in analyzer.index_terms(texts)), strict=True))
    db.executemany("INSERT INTO headings_fts (rowid, last_passage, heading, speakers)"
                   " VALUES (?, ?, ?, ?)",
                   [(first, last, joined[heading], joined[names])
                    for first, last, heading, names in headings])


def reindex(db: sqlite3.Connection, analyzer: Analyzer) -> None:
    """Index every passage and heading anew under `analyzer` (in the caller's transaction)."""
    db.execute("INSERT INTO passages_fts (passages_fts) VALUES ('delete-all')")
    db.execute("DELETE FROM passage_groups")
    db.execute("DELETE FROM headings_fts")
    db.execute("DELETE FROM words")
    known: set[tuple[str, str]] = set()
    cursor = db.execute("SELECT id, text FROM passages ORDER BY id")
    while rows := cursor.fetchmany(BATCH):
        insert_terms(db, [row[0] for row in rows],
                     passage_terms(analyzer, [row[1] for row in rows]), known)
    index_headings(db, analyzer)
    db.execute("INSERT OR REPLACE INTO catalogue_meta (key, value) VALUES ('analyzer', ?)",
               (analyzer.identity,))


def ensure_analysed_by(db: sqlite3.Connection, analyzer: Analyzer) -> None:
    """Make the index one written by `analyzer`, so that its deletes are exact."""
    stored = stored_analyzer(db)
    if stored != analyzer.identity:
        (count,) = db.execute("SELECT count(*) FROM passages").fetchone()
        if count:  # minutes for a large archive: say why the write takes long
            log.info("re-analysing the catalogue's %d passages: it was indexed by %s, this is %s",
                     count, stored, analyzer.identity)
        reindex(db, analyzer)
