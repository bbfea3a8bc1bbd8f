"""The catalogue's term indexes: what `passages_fts` and `words` hold, added and removed.

`passages_fts` is a contentless FTS5 table (`content=''`): a passage's text is
kept once, in `passages`, and its terms are only indexed, not stored; keeping
them (version 2) doubled the catalogue. The price: SQLite 3.40 (Debian 12) can
delete a row of a contentless table only by naming the terms it was indexed
with (`contentless_delete` came in 3.43). They are analysed again from the
stored text, session title and speakers, which gives the same terms only under
the same analysis; so the catalogue records the analyzer's identity
(`catalogue_meta`), and a write under another one re-indexes every passage first
(`ensure_analysed_by`).

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

import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pipeline.catalogue.analyzer import Analyzer

BATCH = 500  # passages analysed at once when re-indexing
_NO_PROGRESS: Callable[[int], None] = lambda _: None  # noqa: E731


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
    heading: str
    speakers: str
    words: tuple[tuple[str, str], ...]  # (word, the terms it stands for, space-separated)


def passage_terms(analyzer: Analyzer, bodies: list[str], headings: list[str],
                  speakers: list[str]) -> list[PassageTerms]:
    """Each passage's terms, from its text, its session's title (a material: its heading)
    and its session's speakers text."""
    body_words = analyzer.index_words(bodies)
    # A session's title and speakers repeat on each of its passages: analyse them once.
    others = list(dict.fromkeys([*headings, *speakers]))
    joined = dict(zip(others, (" ".join(t) for t in analyzer.index_terms(others)), strict=True))
    found = []
    for words, heading, names in zip(body_words, headings, speakers, strict=True):
        pairs = tuple((word, " ".join(terms)) for word, terms in words)
        found.append(PassageTerms(" ".join(terms for _, terms in pairs), joined[heading],
                                  joined[names], pairs))
    return found


def insert_terms(db: sqlite3.Connection, ids: list[int], terms: list[PassageTerms],
                 known: set[tuple[str, str]] | None = None) -> None:
    """Index passages (rowid = passages.id), and add their new words to the vocabulary.

    `known`: the vocabulary, when the caller keeps it across calls (it is updated).
    """
    db.executemany(
        "INSERT INTO passages_fts (rowid, body, heading, speakers) VALUES (?, ?, ?, ?)",
        [(i, t.body, t.heading, t.speakers) for i, t in zip(ids, terms, strict=True)])
    if known is None:
        known = set(db.execute("SELECT word, terms FROM words"))
    new = sorted({pair for t in terms for pair in t.words} - known)
    db.executemany("INSERT INTO words (word, terms) VALUES (?, ?)", new)
    known.update(new)


_STORED = (
    "SELECT p.id, p.text, s.title, s.speakers, m.title, m.file_name FROM passages p"
    " LEFT JOIN sessions s ON s.forum_id = p.forum_id AND s.session_id = p.session_id"
    " LEFT JOIN materials m ON m.id = p.material_id"
)


def _stored(db: sqlite3.Connection, where: str, params: tuple[object, ...]
            ) -> Iterator[tuple[list[int], list[str], list[str], list[str]]]:
    """The stored passages matching `where`, in batches: ids, texts, headings, speakers."""
    cursor = db.execute(f"{_STORED} WHERE {where} ORDER BY p.id", params)
    while rows := cursor.fetchmany(BATCH):
        yield ([row[0] for row in rows], [row[1] for row in rows],
               [clean(row[2]) if row[5] is None else material_heading(row[4], row[5])
                for row in rows],
               [row[3] or "" for row in rows])


def delete_terms(db: sqlite3.Connection, analyzer: Analyzer, where: str,
                 params: tuple[object, ...]) -> None:
    """Remove the passages matching `where` from `passages_fts` (their rows stay)."""
    for ids, bodies, headings, speakers in _stored(db, where, params):
        terms = passage_terms(analyzer, bodies, headings, speakers)
        db.executemany(
            "INSERT INTO passages_fts (passages_fts, rowid, body, heading, speakers)"
            " VALUES ('delete', ?, ?, ?, ?)",
            [(i, t.body, t.heading, t.speakers) for i, t in zip(ids, terms, strict=True)])


def stored_analyzer(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT value FROM catalogue_meta WHERE key = 'analyzer'").fetchone()
    return None if row is None else str(row[0])


def reindex(db: sqlite3.Connection, analyzer: Analyzer,
            advance: Callable[[int], None] = _NO_PROGRESS) -> None:
    """Index every passage anew under `analyzer` (inside the caller's transaction)."""
    db.execute("INSERT INTO passages_fts (passages_fts) VALUES ('delete-all')")
    db.execute("DELETE FROM words")
    known: set[tuple[str, str]] = set()
    for ids, bodies, headings, speakers in _stored(db, "1", ()):
        insert_terms(db, ids, passage_terms(analyzer, bodies, headings, speakers), known)
        advance(len(ids))
    db.execute("INSERT OR REPLACE INTO catalogue_meta (key, value) VALUES ('analyzer', ?)",
               (analyzer.identity,))


def ensure_analysed_by(db: sqlite3.Connection, analyzer: Analyzer) -> None:
    """Make the index one written by `analyzer`, so that its deletes are exact."""
    if stored_analyzer(db) != analyzer.identity:
        reindex(db, analyzer)
