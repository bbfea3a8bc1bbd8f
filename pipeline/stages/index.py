"""Index stage and search: one SQLite catalogue of every archived forum.

The catalogue is a single file that grows over time, one forum per `index` run.
Each forum is written in one transaction that first deletes that forum's rows,
so re-indexing is idempotent and never touches other forums.

Korean search: Korean is agglutinative (사회적 -> 사회적기업, 사회적인), so word
tokenizers miss most real queries. Segment text is indexed with FTS5's
`trigram` tokenizer, which matches any substring of three or more characters;
query terms shorter than that fall back to a LIKE scan. Whisper's word spacing
is inconsistent (사회적 가치 / 사회적가치), so the indexed form drops
whitespace and folds case, and highlighting allows optional spaces between
characters. All text is NFC-normalised because Korean from some sources
(macOS file names, some PDFs) arrives decomposed (NFD).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import IndexError_
from pipeline.models import (
    ForumSummary,
    IndexResult,
    PublishedSession,
    PublishResult,
    SessionPlan,
    TranscribeResult,
    Transcript,
)
from pipeline.progress import Progress
from pipeline.stage import RunContext, RunReport, Stage

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0  # another run may be writing; wait rather than fail at once
TRIGRAM = 3  # the trigram tokenizer cannot match terms shorter than this
SNIPPET_BEFORE = 30  # characters of context kept before the first match
SNIPPET_MAX = 120  # longest snippet, markers excluded
_RUN_HINT = "run `sort-archive run CONFIG` first, or set SORT_ARCHIVE_CATALOGUE"
_DAMAGED_HINT = "if the file is damaged, move it aside and index the forums again"

_SCHEMA = (
    """CREATE TABLE forums (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT NOT NULL,
        organiser TEXT NOT NULL, language TEXT NOT NULL)""",
    """CREATE TABLE sessions (
        forum_id TEXT NOT NULL REFERENCES forums(id),
        session_id TEXT NOT NULL, number INTEGER NOT NULL, slug TEXT NOT NULL,
        title TEXT NOT NULL, speakers TEXT NOT NULL,
        start REAL NOT NULL, "end" REAL NOT NULL, clip_url TEXT, page_url TEXT,
        PRIMARY KEY (forum_id, session_id))""",
    # Times are relative to the clip (the session start), as Whisper wrote them.
    """CREATE TABLE segments (
        id INTEGER PRIMARY KEY, forum_id TEXT NOT NULL, session_id TEXT NOT NULL,
        start REAL NOT NULL, "end" REAL NOT NULL, text TEXT NOT NULL,
        FOREIGN KEY (forum_id, session_id) REFERENCES sessions(forum_id, session_id))""",
    "CREATE INDEX segments_by_session ON segments(forum_id, session_id, start)",
    # rowid = segments.id; `compact` is the folded text without whitespace.
    "CREATE VIRTUAL TABLE segments_fts USING fts5(compact, tokenize='trigram')",
)


@dataclass(frozen=True)
class IndexRequest:
    forum: ForumSummary
    transcripts: list[Transcript]
    published: PublishResult | None  # gives clip_url/page_url per session
    catalogue: Path


@dataclass(frozen=True)
class SearchHit:
    """One matching segment, with what a viewer needs to open it."""

    forum_id: str
    forum_title: str
    forum_date: str
    session_id: str
    session_slug: str
    session_title: str
    start: float  # seconds into the session clip
    end: float
    text: str
    snippet: str  # the text around the match, matches wrapped in [ ]
    clip_url: str | None
    page_url: str | None

    @property
    def open_url(self) -> str | None:
        """The session page (else the clip) opened at the segment's second."""
        base = self.page_url or self.clip_url
        if not base:
            return None
        return f"{base.split('#', 1)[0]}#t={max(0, int(self.start))}"


def index_forum(request: IndexRequest, progress: Progress) -> IndexResult:
    """Replace one forum's sessions and segments in the catalogue, in one transaction."""
    forum = request.forum
    ids = [t.session.id for t in request.transcripts]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise IndexError_(f"{forum.id}: more than one transcript for session(s) {', '.join(twice)}")
    links = {s.session_id: s for s in request.published.sessions} if request.published else {}
    rows = [
        (t.session, [(seg.start, seg.end, text) for seg in t.segments if (text := _nfc(seg.text))])
        for t in sorted(request.transcripts, key=lambda t: t.session.number)
    ]
    total = sum(len(segments) for _, segments in rows)
    path = request.catalogue
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexError_(f"cannot create the catalogue folder {path.parent}: {exc}") from exc
    with progress.task("index", total=total) as task, _open(path, create=True) as db, _write(db):
        _delete_forum(db, forum.id)
        db.execute(
            "INSERT INTO forums (id, title, date, organiser, language) VALUES (?, ?, ?, ?, ?)",
            (forum.id, _nfc(forum.title), forum.date, _nfc(forum.organiser), forum.language),
        )
        for plan, segments in rows:
            _insert_session(db, forum.id, plan, links.get(plan.id))
            for start, end, text in segments:
                cursor = db.execute(
                    'INSERT INTO segments (forum_id, session_id, start, "end", text)'
                    " VALUES (?, ?, ?, ?, ?)",
                    (forum.id, plan.id, start, end, text),
                )
                db.execute(
                    "INSERT INTO segments_fts (rowid, compact) VALUES (?, ?)",
                    (cursor.lastrowid, _fold(text)),
                )
            task.advance(len(segments))
    return IndexResult(catalogue=path, forum_id=forum.id, segments=total)


def search(
    catalogue: Path, query: str, *, limit: int = 20, forum_id: str | None = None
) -> list[SearchHit]:
    """Segments containing every space-separated term of `query` (substring, any case).

    Hits are ordered newest forum first, then by session number and time, so a
    result list reads like the programmes themselves. Query text is literal:
    FTS5 syntax such as `AND`, `"` or `*` is searched for, never interpreted.
    """
    terms = list(dict.fromkeys(_fold(word) for word in _nfc(query).split()))
    if not terms:
        raise IndexError_("the search query is empty", "give one or more words, e.g. 사회적가치")
    if limit < 1:
        raise IndexError_(f"the search limit must be 1 or more, not {limit}")
    if not catalogue.is_file():
        raise IndexError_(f"no catalogue at {catalogue} yet", _RUN_HINT)
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    where: list[str] = []
    params: list[object] = []
    if long_terms:
        # Double-quoted FTS5 strings are literal; a quote inside is doubled.
        where.append("segments_fts MATCH ?")
        params.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms))
    for term in terms:
        if len(term) < TRIGRAM:
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
    with _open(catalogue, create=False) as db:
        rows = db.execute(sql, [*params, limit]).fetchall()
    return [_hit(row, terms) for row in rows]


def _hit(row: tuple[Any, ...], terms: list[str]) -> SearchHit:
    forum_id, forum_title, forum_date, session_id, slug, title, start, end, text, clip, page = row
    return SearchHit(
        forum_id=forum_id,
        forum_title=forum_title,
        forum_date=forum_date,
        session_id=session_id,
        session_slug=slug,
        session_title=title,
        start=start,
        end=end,
        text=text,
        snippet=make_snippet(text, terms),
        clip_url=clip,
        page_url=page,
    )


def make_snippet(text: str, terms: list[str]) -> str:
    """`text` around the first match, each match wrapped in [ ] (plain text, no HTML)."""
    spans: list[tuple[int, int]] = []
    for term in terms:
        # Terms were indexed without spaces, so allow any whitespace between characters.
        pattern = r"\s*".join(re.escape(ch) for ch in term)
        spans += [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    left = max(0, merged[0][0] - SNIPPET_BEFORE) if merged else 0
    right = min(len(text), left + SNIPPET_MAX)
    pieces = ["…" if left else ""]
    cursor = left
    for start, end in merged:
        if start >= right:
            break
        pieces += [text[cursor:start], "[", text[start:end], "]"]
        cursor = end
    right = max(right, cursor)  # a match that crosses the limit is kept whole
    pieces += [text[cursor:right], "…" if right < len(text) else ""]
    return "".join(pieces)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _fold(text: str) -> str:
    """The indexed and queried form: NFC, case-folded, without whitespace."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return "".join(folded.split())


def _speakers(plan: SessionPlan) -> str:
    return "; ".join(
        f"{_nfc(s.name)} ({_nfc(s.organisation)})" if s.organisation else _nfc(s.name)
        for s in plan.speakers
    )


def _insert_session(
    db: sqlite3.Connection, forum_id: str, plan: SessionPlan, link: PublishedSession | None
) -> None:
    db.execute(
        "INSERT INTO sessions (forum_id, session_id, number, slug, title, speakers,"
        ' start, "end", clip_url, page_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        (
            forum_id,
            plan.id,
            plan.number,
            plan.slug,
            _nfc(plan.title),
            _speakers(plan),
            plan.start,
            plan.end,
            link.clip_url if link else None,
            link.page_url if link else None,
        ),
    )


def _delete_forum(db: sqlite3.Connection, forum_id: str) -> None:
    # Children first, so the foreign keys hold at every step.
    db.execute(
        "DELETE FROM segments_fts WHERE rowid IN (SELECT id FROM segments WHERE forum_id = ?)",
        (forum_id,),
    )
    db.execute("DELETE FROM segments WHERE forum_id = ?", (forum_id,))
    db.execute("DELETE FROM sessions WHERE forum_id = ?", (forum_id,))
    db.execute("DELETE FROM forums WHERE id = ?", (forum_id,))


@contextmanager
def _open(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    """A checked connection: WAL, busy timeout, schema created or verified.

    Every sqlite3 error inside becomes one IndexError_ naming the file, so the
    CLI can print it as a single line.
    """
    # mode=rw never creates a file, so a search cannot leave an empty catalogue behind.
    uri = path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    try:
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise _error(path, exc) from exc
    try:
        # WAL lets searches read while an index run writes.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        _check_schema(db, path, create)
        yield db
    except sqlite3.Error as exc:
        raise _error(path, exc) from exc
    finally:
        db.close()


def _check_schema(db: sqlite3.Connection, path: Path, create: bool) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise IndexError_(
            f"the catalogue {path} has schema version {version}, newer than this"
            f" sort-archive understands ({SCHEMA_VERSION})",
            "upgrade sort-archive",
        )
    if not create:
        raise IndexError_(f"{path} is not a sort-archive catalogue", _RUN_HINT)
    with _write(db):
        # Re-read under the write lock: another run may have created it meanwhile.
        if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise IndexError_(
                f"{path} is an SQLite file but not a sort-archive catalogue",
                "choose another path with SORT_ARCHIVE_CATALOGUE",
            )
        for statement in _SCHEMA:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def _write(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction; IMMEDIATE takes the lock up front so the busy timeout applies."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _error(path: Path, exc: sqlite3.Error) -> IndexError_:
    name = getattr(exc, "sqlite_errorname", "")
    if "no such module: fts5" in str(exc) or "no such tokenizer" in str(exc):
        return IndexError_(
            f"this SQLite ({sqlite3.sqlite_version}) lacks FTS5 trigram search",
            "use a Python built with SQLite 3.34 or newer",
        )
    if name.startswith("SQLITE_BUSY"):
        return IndexError_(
            f"the catalogue {path} is locked by another sort-archive run",
            "wait for it to finish and try again",
        )
    if name.startswith("SQLITE_FULL"):
        return IndexError_(f"no space left to write the catalogue {path}", "free disk space")
    if name.startswith("SQLITE_CANTOPEN") and not path.exists():
        return IndexError_(f"no catalogue at {path} yet", _RUN_HINT)
    return IndexError_(f"cannot use the catalogue {path}: {exc}", _DAMAGED_HINT)


class IndexStage(Stage[IndexResult]):
    """Declared stage: this forum's transcripts into the shared search catalogue."""

    name = "index"
    result_type = IndexResult
    needs = (TranscribeResult, PublishResult)
    always_run = True  # cheap, and its output (the shared catalogue) lives outside work/

    def inputs(self, ctx: RunContext) -> list[Any]:
        transcripts = ctx.get(TranscribeResult).transcripts
        return [str(ctx.catalogue), [ctx.checksum(t.files.json_path) for t in transcripts],
                ctx.get(PublishResult).forum_url]

    def outputs(self, result: IndexResult) -> list[Path]:
        return []

    def run(self, ctx: RunContext) -> IndexResult:
        return index_forum(IndexRequest(
            forum=ctx.config.summary(), transcripts=list(ctx.get(TranscribeResult).transcripts),
            published=ctx.get(PublishResult), catalogue=ctx.catalogue), ctx.progress)

    def describe(self, ctx: RunContext) -> str:
        return f"into {ctx.catalogue}"

    def summarise(self, result: IndexResult, ran: bool, report: RunReport) -> None:
        report.catalogue = result.catalogue
