"""search.py's baseline: the index sort-archive had before (git 7fc476c,
pipeline/stages/index.py), kept here as it was, deliberately: the same tables, an FTS5
`trigram` table over whitespace-free case-folded text, the same write per forum and the
same query (trigram MATCH for terms of 3+ characters, `LIKE` for shorter ones; newest
forum first), and its snippets."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.catalogue import ForumRecord
from pipeline.catalogue.schema import V1_SCHEMA

BASELINE_SCHEMA = V1_SCHEMA  # the schema of git 7fc476c, which the migrations start from
OLD_TRIGRAM = 3
OLD_SNIPPET_BEFORE, OLD_SNIPPET_MAX = 30, 120


def _old_nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _old_fold(text: str) -> str:
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return "".join(folded.split())


@contextmanager
def _old_open(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    uri = path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    db = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != 1:
            if not create:
                raise RuntimeError(f"{path} is not a baseline catalogue")
            db.execute("BEGIN IMMEDIATE")
            for statement in BASELINE_SCHEMA:
                db.execute(statement)
            db.execute("PRAGMA user_version = 1")
            db.execute("COMMIT")
        yield db
    finally:
        db.close()


def old_index_forum(db: sqlite3.Connection, record: ForumRecord) -> None:
    """The old `index_forum`: delete the forum's rows, insert them again, one transaction."""
    forum = record.forum
    rows = [(session, [(seg.start, seg.end, text) for seg in session.segments
                       if (text := _old_nfc(seg.text))])
            for session in sorted(record.sessions, key=lambda s: s.number)]
    db.execute("BEGIN IMMEDIATE")
    db.execute("DELETE FROM segments_fts WHERE rowid IN"
               " (SELECT id FROM segments WHERE forum_id = ?)", (forum.id,))
    db.execute("DELETE FROM segments WHERE forum_id = ?", (forum.id,))
    db.execute("DELETE FROM sessions WHERE forum_id = ?", (forum.id,))
    db.execute("DELETE FROM forums WHERE id = ?", (forum.id,))
    db.execute("INSERT INTO forums (id, title, date, organiser, language) VALUES (?, ?, ?, ?, ?)",
               (forum.id, _old_nfc(forum.title), forum.date, _old_nfc(forum.organiser),
                forum.language))
    for session, segments in rows:
        speakers = "; ".join(f"{_old_nfc(s.name)} ({_old_nfc(s.organisation)})"
                             if s.organisation else _old_nfc(s.name) for s in session.speakers)
        db.execute(
            "INSERT INTO sessions (forum_id, session_id, number, slug, title, speakers,"
            ' start, "end", clip_url, page_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            (forum.id, session.id, session.number, session.slug, _old_nfc(session.title),
             speakers, session.start, session.end, session.clip_url, session.page_url))
        for start, end, text in segments:
            cursor = db.execute('INSERT INTO segments (forum_id, session_id, start, "end", text)'
                                " VALUES (?, ?, ?, ?, ?)",
                                (forum.id, session.id, start, end, text))
            db.execute("INSERT INTO segments_fts (rowid, compact) VALUES (?, ?)",
                       (cursor.lastrowid, _old_fold(text)))
    db.execute("COMMIT")


def old_search(catalogue: Path, query: str, *, limit: int = 20,
               forum_id: str | None = None) -> list[dict[str, Any]]:
    """The old `search`: every space-separated term as a substring, newest forum first."""
    terms = list(dict.fromkeys(_old_fold(word) for word in _old_nfc(query).split()))
    if not catalogue.is_file():
        raise RuntimeError(f"no catalogue at {catalogue}")
    long_terms = [t for t in terms if len(t) >= OLD_TRIGRAM]
    where: list[str] = []
    params: list[object] = []
    if long_terms:
        where.append("segments_fts MATCH ?")
        params.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms))
    for term in terms:
        if len(term) < OLD_TRIGRAM:
            where.append("segments_fts.compact LIKE ? ESCAPE '\\'")
            params.append("%" + re.sub(r"([\\%_])", r"\\\1", term) + "%")
    if forum_id is not None:
        where.append("seg.forum_id = ?")
        params.append(forum_id)
    sql = (
        "SELECT f.id, f.title, f.date, s.session_id, s.slug, s.title,"
        ' seg.start, seg."end", seg.text, s.clip_url, s.page_url'
        " FROM segments_fts JOIN segments seg ON seg.id = segments_fts.rowid"
        " JOIN sessions s ON s.forum_id = seg.forum_id AND s.session_id = seg.session_id"
        " JOIN forums f ON f.id = seg.forum_id"
        f" WHERE {' AND '.join(where)}"
        " ORDER BY f.date DESC, f.id, s.number, seg.start, seg.id LIMIT ?"
    )
    with _old_open(catalogue, create=False) as db:
        rows = db.execute(sql, [*params, limit]).fetchall()
    keys = ("forum_id", "forum_title", "forum_date", "session_id", "session_slug",
            "session_title", "start", "end", "text", "clip_url", "page_url")
    return [{**dict(zip(keys, row, strict=True)), "snippet": _old_snippet(row[8], terms)}
            for row in rows]


def _old_snippet(text: str, terms: list[str]) -> str:
    spans: list[tuple[int, int]] = []
    for term in terms:
        pattern = r"\s*".join(re.escape(ch) for ch in term)
        spans += [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    left = max(0, merged[0][0] - OLD_SNIPPET_BEFORE) if merged else 0
    right = min(len(text), left + OLD_SNIPPET_MAX)
    pieces = ["…" if left else ""]
    cursor = left
    for start, end in merged:
        if start >= right:
            break
        pieces += [text[cursor:start], "[", text[start:end], "]"]
        cursor = end
    right = max(right, cursor)
    pieces += [text[cursor:right], "…" if right < len(text) else ""]
    return "".join(pieces)
