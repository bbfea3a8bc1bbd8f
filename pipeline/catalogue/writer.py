"""Write one forum into the catalogue, replacing that forum's rows and no others.

The text is analysed first (Kiwi takes about a second per thousand segments),
then the forum's old rows are deleted and the new ones inserted in one
transaction, so writing the same forum twice gives the same catalogue, a
failed write leaves the previous version, and searches running meanwhile see
one or the other (WAL), never a mix.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.catalogue.analyzer import Analyzer, default_analyzer
from pipeline.catalogue.order import forum_block, passage_ids
from pipeline.catalogue.records import ForumRecord, WriteResult
from pipeline.catalogue.schema import connect, format_speakers, transaction
from pipeline.catalogue.terms import (
    PassageTerms,
    delete_terms,
    ensure_analysed_by,
    index_headings,
    insert_terms,
    passage_terms,
)
from pipeline.catalogue.terms import clean as _clean
from pipeline.errors import CatalogueError
from pipeline.faults import checkpoint


@dataclass(frozen=True)
class Passage:
    session_id: str | None
    material: str | None  # file name
    start: float | None
    end: float | None
    page: int | None
    text: str
    terms: PassageTerms


def write_forum(catalogue: Path, record: ForumRecord, *, analyzer: Analyzer | None = None,
                advance: Callable[[int], None] | None = None) -> WriteResult:
    """Replace `record.forum`'s rows in the catalogue (created if missing).

    `advance` is called with the number of segments analysed, for a progress bar.
    """
    analyzer = analyzer or default_analyzer()
    _check_unique(record)
    passages = _analyse(record, analyzer, advance or (lambda _: None))
    try:
        catalogue.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogueError(f"cannot create the catalogue folder {catalogue.parent}: "
                          f"{exc.strerror or exc}") from exc
    with connect(catalogue, create=True, analyzer=analyzer) as db:
        write_into(db, record, passages, analyzer)
    return _result(record, passages)


def write_into(db: sqlite3.Connection, record: ForumRecord, passages: list[Passage],
               analyzer: Analyzer) -> None:
    """Replace the forum's rows with `passages` (analysed by `analyzer`) in one transaction."""
    with transaction(db):
        ensure_analysed_by(db, analyzer)
        delete_forum(db, record.forum.id, analyzer)
        # Consecutive ids in programme order, in a block of the forum's date (see `order`):
        # the forum's, each session's and each material's passages are a range.
        block = forum_block(db, record.forum.id, record.forum.date)
        ids = passage_ids(record.forum.id, block, len(passages))
        spans: Spans = {}
        for passage_id, passage in zip(ids, passages, strict=True):
            place = (passage.session_id, passage.material)
            spans[place] = (spans.get(place, (passage_id,))[0], passage_id)
        _insert_forum(db, record, ids, spans)
        material_ids = _insert_materials(db, record, spans)
        db.executemany(
            'INSERT INTO passages (id, forum_id, session_id, start, "end", material_id, page,'
            " text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(passage_id, record.forum.id, p.session_id, p.start, p.end,
              material_ids.get(p.material or ""), p.page, p.text)
             for passage_id, p in zip(ids, passages, strict=True)])
        checkpoint("index.write")
        insert_terms(db, ids, [p.terms for p in passages])
        index_headings(db, analyzer, record.forum.id)


def analyse(record: ForumRecord, analyzer: Analyzer | None = None,
            advance: Callable[[int], None] | None = None) -> list[Passage]:
    """The forum's passages with their terms, ready for `write_into` (a rebuild's path)."""
    _check_unique(record)
    return _analyse(record, analyzer or default_analyzer(), advance or (lambda _: None))


def _analyse(record: ForumRecord, analyzer: Analyzer,
             advance: Callable[[int], None]) -> list[Passage]:
    passages: list[Passage] = []
    for session in sorted(record.sessions, key=lambda s: s.number):
        kept = [(s, text) for s in sorted(session.segments, key=lambda s: s.start)
                if (text := _clean(s.text))]
        terms = passage_terms(analyzer, [text for _, text in kept])
        passages += [Passage(session.id, None, segment.start, segment.end, None, text, row)
                     for (segment, text), row in zip(kept, terms, strict=True)]
        advance(len(session.segments))
    for material in sorted(record.materials, key=lambda m: m.file_name):
        pages = [(page.number, text) for page in material.pages if (text := _clean(page.text))]
        terms = passage_terms(analyzer, [text for _, text in pages])
        passages += [Passage(None, material.file_name, None, None, number, text, row)
                     for (number, text), row in zip(pages, terms, strict=True)]
    return passages


def _result(record: ForumRecord, passages: list[Passage]) -> WriteResult:
    segments = sum(1 for p in passages if p.session_id is not None)
    return WriteResult(record.forum.id, segments, len(passages) - segments)


def _check_unique(record: ForumRecord) -> None:
    forum = record.forum.id
    ids = [s.id for s in record.sessions]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise CatalogueError(f"{forum}: more than one transcript for session(s) {', '.join(twice)}")
    names = [m.file_name for m in record.materials]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise CatalogueError(f"{forum}: two materials are both named {', '.join(twice)}")


Spans = dict[tuple[str | None, str | None], tuple[int, int]]  # place: first, last passage


def _insert_forum(db: sqlite3.Connection, record: ForumRecord, ids: list[int],
                  spans: Spans) -> None:
    forum = record.forum
    db.execute(
        "INSERT INTO forums (id, title, date, organiser, language, url, first_passage,"
        " last_passage) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (forum.id, _clean(forum.title), forum.date, _clean(forum.organiser), forum.language,
         record.url, ids[0] if ids else None, ids[-1] if ids else None))
    for session in record.sessions:
        speakers = [(_clean(s.name), _clean(s.organisation) or None) for s in session.speakers]
        db.execute(
            "INSERT INTO sessions (forum_id, session_id, number, slug, title, speakers,"
            ' start, "end", clip_url, page_url, first_passage, last_passage)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (forum.id, session.id, session.number, session.slug, _clean(session.title),
             format_speakers(speakers), session.start, session.end, session.clip_url,
             session.page_url, *spans.get((session.id, None), (None, None))))
        db.executemany("INSERT INTO speakers VALUES (?, ?, ?, ?, ?)",
                       [(forum.id, session.id, position, name, organisation)
                        for position, (name, organisation) in enumerate(speakers)])


def _insert_materials(db: sqlite3.Connection, record: ForumRecord,
                      spans: Spans) -> dict[str, int]:
    ids = {}
    for material in record.materials:
        cursor = db.execute(
            "INSERT INTO materials (forum_id, file_name, kind, title, url, first_passage,"
            " last_passage) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.forum.id, material.file_name, material.kind, material.title, material.url,
             *spans.get((None, material.file_name), (None, None))))
        assert cursor.lastrowid is not None
        ids[material.file_name] = cursor.lastrowid
    return ids


def delete_forum(db: sqlite3.Connection, forum_id: str, analyzer: Analyzer) -> None:
    """Remove one forum's rows; children first, so the foreign keys hold at every step."""
    span = db.execute("SELECT first_passage, last_passage FROM forums WHERE id = ?",
                      (forum_id,)).fetchone()
    if span is not None and span[0] is not None:
        delete_terms(db, analyzer, span[0], span[1], forum_id)
        db.execute("DELETE FROM passages WHERE id BETWEEN ? AND ? AND forum_id = ?",
                   (*span, forum_id))
    for statement in ("DELETE FROM materials WHERE forum_id = ?",
                      "DELETE FROM speakers WHERE forum_id = ?",
                      "DELETE FROM sessions WHERE forum_id = ?",
                      "DELETE FROM forums WHERE id = ?"):
        db.execute(statement, (forum_id,))
