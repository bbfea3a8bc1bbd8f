"""Small, real inputs for catalogue tests: forum records, Korean PDFs, a v1 catalogue."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fpdf import FPDF

from pipeline.catalogue import (
    ForumRecord,
    MaterialPage,
    MaterialRecord,
    SegmentRecord,
    SessionRecord,
    SpeakerRecord,
)
from pipeline.catalogue.analyzer import fold
from pipeline.results import ForumSummary

FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
# The schema sort-archive 0.1 shipped (pipeline/stages/index.py, `_SCHEMA`), verbatim.
V1_SCHEMA = (
    """CREATE TABLE forums (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT NOT NULL,
        organiser TEXT NOT NULL, language TEXT NOT NULL)""",
    """CREATE TABLE sessions (
        forum_id TEXT NOT NULL REFERENCES forums(id),
        session_id TEXT NOT NULL, number INTEGER NOT NULL, slug TEXT NOT NULL,
        title TEXT NOT NULL, speakers TEXT NOT NULL,
        start REAL NOT NULL, "end" REAL NOT NULL, clip_url TEXT, page_url TEXT,
        PRIMARY KEY (forum_id, session_id))""",
    """CREATE TABLE segments (
        id INTEGER PRIMARY KEY, forum_id TEXT NOT NULL, session_id TEXT NOT NULL,
        start REAL NOT NULL, "end" REAL NOT NULL, text TEXT NOT NULL,
        FOREIGN KEY (forum_id, session_id) REFERENCES sessions(forum_id, session_id))""",
    "CREATE INDEX segments_by_session ON segments(forum_id, session_id, start)",
    "CREATE VIRTUAL TABLE segments_fts USING fts5(compact, tokenize='trigram')",
)
BASE = "https://archive.example.org"

FORUM_2024 = ForumSummary(id="sort-2024", title="2024 공공기관 사회적가치 포럼",
                          date="2024-11-20", organiser="SORT", language="ko")
FORUM_2025 = ForumSummary(id="sort-2025", title="2025 공공기관 사회적가치 포럼",
                          date="2025-11-19", organiser="SORT", language="ko")


def session(forum: ForumSummary, number: int, session_id: str, title: str,
            segments: list[tuple[float, float, str]],
            speakers: tuple[tuple[str, str | None], ...] = (("김민지", "한국사회가치연구원"),),
            published: bool = True) -> SessionRecord:
    slug = f"{number:02d}-{session_id}"
    base = f"{BASE}/{forum.id}/sessions/{slug}"
    return SessionRecord(
        id=session_id, number=number, slug=slug, title=title,
        start=600.0 * number, end=600.0 * number + 540.0,
        speakers=tuple(SpeakerRecord(name, org) for name, org in speakers),
        clip_url=f"{base}/{slug}.mp4?v=0123456789ab" if published else None,
        page_url=f"{base}/index.html" if published else None,
        segments=tuple(SegmentRecord(s, e, t) for s, e, t in segments))


def forum_2024(*, published: bool = True) -> ForumRecord:
    return ForumRecord(forum=FORUM_2024, sessions=(
        session(FORUM_2024, 1, "keynote", "기조연설: 사회적 기업의 오늘", [
            (3.2, 7.9, "안녕하십니까, 오늘 포럼에 와 주셔서 감사합니다."),
            (12.6, 18.4, "사회적 기업에 대해서 사람들한테 얘기를 해보면"),
            (18.4, 22.0, "돈을 많이 벌 수도 있는 모델도 있고"),
        ], published=published),
        session(FORUM_2024, 2, "panel", "토론: 성과를 어떻게 잴 것인가", [
            (5.0, 9.5, "사회적가치 성과 측정 및 지표"),
            (40.25, 44.0, "사회적인 책임과 ESG 경영은 다릅니다."),
            (50.0, 55.0, 'ESG "평가" 점수가 100% 반영되는 것은 아닙니다.'),
        ], speakers=(("윤태범", "정책기획위원회"), ("이준호", None)), published=published),
    ), materials=(
        MaterialRecord("자료집.pdf", "proceedings", "포럼 자료집",
                       f"{BASE}/{FORUM_2024.id}/materials/자료집.pdf?v=abcdefabcdef" if published
                       else None,
                       (MaterialPage(1, "2024 포럼 자료집 차례"),
                        MaterialPage(4, "여섯 개 기관이 공동 선언문을 채택하였다."))),
    ), url=f"{BASE}/{FORUM_2024.id}/index.html")


def make_pdf(path: Path, pages: list[str], *, password: str | None = None) -> Path:
    """A real PDF with Korean text (NanumGothic), one page per entry ('' = a blank page)."""
    pdf = FPDF()
    pdf.add_font("Nanum", fname=FONT)
    pdf.set_font("Nanum", size=14)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
    if password is not None:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    pdf.output(str(path))
    return path


def v1_catalogue(path: Path) -> Path:
    """A catalogue as sort-archive wrote it before version 2: migration 1's schema, and
    rows written the way its index stage wrote them (speakers as text, folded trigram)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for statement in V1_SCHEMA:
        db.execute(statement)
    db.execute("INSERT INTO forums VALUES ('sort-2021', '2021년 제1회 SORT', '2021-07-02',"
               " '한국사회적기업진흥원', 'ko')")
    db.execute("INSERT INTO sessions VALUES ('sort-2021', 'keynote', 1, '01-keynote',"
               " '공공기관 혁신과 사회적 가치', '윤태범 (정책기획위원회 사회적 가치 TF); 김민지',"
               " 750.0, 2890.0, 'file:///a/01-keynote.mp4', 'file:///a/01-keynote/index.html')")
    for start, end, text in [(1.0, 4.0, "사회적가치를 만들어 가는 공공기관"),
                             (4.0, 9.0, "여섯 개 기관이 선언문을 채택했습니다."),
                             (9.0, 12.0, "한국가스공사의 사례를 보겠습니다.")]:
        cursor = db.execute('INSERT INTO segments (forum_id, session_id, start, "end", text)'
                            " VALUES ('sort-2021', 'keynote', ?, ?, ?)", (start, end, text))
        db.execute("INSERT INTO segments_fts (rowid, compact) VALUES (?, ?)",
                   (cursor.lastrowid, fold(text)))
    db.execute("PRAGMA user_version = 1")
    db.close()
    return path


def indexed_terms(db: sqlite3.Connection) -> dict[int, tuple[str, str, str]]:
    """What the term indexes hold for each passage: its text's terms, read back from
    `passages_fts` itself (fts5vocab: the table is contentless and stores no text), and
    the heading and speakers terms of the `headings_fts` row whose range holds it."""
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.indexed"
               " USING fts5vocab(main, passages_fts, instance)")
    bodies: dict[int, list[str]] = {}
    for term, doc in db.execute("SELECT term, doc FROM temp.indexed WHERE col = 'body'"
                                " ORDER BY doc, offset"):
        bodies.setdefault(int(doc), []).append(str(term))
    headings = db.execute("SELECT rowid, last_passage, heading, speakers FROM headings_fts"
                          ).fetchall()
    found = {}
    for doc in sorted({*bodies, *(i for first, last, _, _ in headings
                                  for i in range(first, last + 1))}):
        heads = [(h, s) for first, last, h, s in headings if first <= doc <= last]
        assert len(heads) <= 1, f"passage {doc} is under {len(heads)} headings"
        heading, speakers = heads[0] if heads else ("", "")
        found[doc] = (" ".join(bodies.get(doc, [])), heading, speakers)
    return found


# What version 2 added to version 1 (pipeline/catalogue/schema.py `_V2` at git efc17b7),
# verbatim but for the copy of `segments` into `passages`: there are no segments to copy.
V2_ADDITIONS = (
    "ALTER TABLE forums ADD COLUMN url TEXT",
    """CREATE TABLE speakers (
        forum_id TEXT NOT NULL, session_id TEXT NOT NULL, position INTEGER NOT NULL,
        name TEXT NOT NULL, organisation TEXT,
        PRIMARY KEY (forum_id, session_id, position),
        FOREIGN KEY (forum_id, session_id) REFERENCES sessions(forum_id, session_id))""",
    """CREATE TABLE materials (
        id INTEGER PRIMARY KEY, forum_id TEXT NOT NULL REFERENCES forums(id),
        file_name TEXT NOT NULL, kind TEXT NOT NULL, title TEXT, url TEXT,
        UNIQUE (forum_id, file_name))""",
    """CREATE TABLE passages (
        id INTEGER PRIMARY KEY, forum_id TEXT NOT NULL REFERENCES forums(id),
        session_id TEXT, start REAL, "end" REAL,
        material_id INTEGER REFERENCES materials(id), page INTEGER,
        text TEXT NOT NULL,
        FOREIGN KEY (forum_id, session_id) REFERENCES sessions(forum_id, session_id),
        CHECK ((session_id IS NULL) != (material_id IS NULL)))""",
    "DROP TABLE segments",
    "CREATE INDEX passages_by_place ON passages(forum_id, session_id, start)",
    "CREATE INDEX passages_by_material ON passages(material_id, page)",
    "ALTER TABLE segments_fts RENAME TO passages_trigram",
    """CREATE VIRTUAL TABLE passages_fts USING fts5(
        body, heading, speakers, tokenize='unicode61 remove_diacritics 0')""",
)


def v2_catalogue(path: Path) -> Path:
    """A catalogue as version 2 wrote it: terms stored in `passages_fts`, a trigram table
    over the folded text, and the two indexes on `passages`; the 2024 forum's keynote,
    panel and material page, written the way version 2's writer wrote them."""
    from pipeline.catalogue.analyzer import default_analyzer

    analyzer = default_analyzer()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for statement in (*V1_SCHEMA, *V2_ADDITIONS):
        db.execute(statement)
    record = forum_2024()
    db.execute("INSERT INTO forums VALUES (?, ?, ?, ?, ?, ?)",
               (FORUM_2024.id, FORUM_2024.title, FORUM_2024.date, FORUM_2024.organiser, "ko",
                record.url))
    rows: list[tuple[str | None, float | None, int | None, str, str, str]] = []
    for item in record.sessions:
        names = "; ".join(f"{s.name} ({s.organisation})" if s.organisation else s.name
                          for s in item.speakers)
        db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (FORUM_2024.id, item.id, item.number, item.slug, item.title, names,
                    item.start, item.end, item.clip_url, item.page_url))
        for position, speaker in enumerate(item.speakers):
            db.execute("INSERT INTO speakers VALUES (?, ?, ?, ?, ?)",
                       (FORUM_2024.id, item.id, position, speaker.name, speaker.organisation))
        rows += [(item.id, s.start, None, s.text, item.title, names) for s in item.segments]
    (material,) = record.materials
    cursor = db.execute("INSERT INTO materials (forum_id, file_name, kind, title, url)"
                        " VALUES (?, ?, ?, ?, ?)", (FORUM_2024.id, material.file_name,
                                                    material.kind, material.title, material.url))
    rows += [(None, None, p.number, p.text, f"{material.title} {material.file_name}", "")
             for p in material.pages]
    for session_id, start, page, text, heading, names in rows:
        cursor_row = db.execute(
            'INSERT INTO passages (forum_id, session_id, start, "end", material_id, page, text)'
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (FORUM_2024.id, session_id, start, None if start is None else start + 1,
             None if session_id else cursor.lastrowid, page, text))
        body, title, speakers = (" ".join(t) for t in analyzer.index_terms([text, heading, names]))
        db.execute("INSERT INTO passages_fts (rowid, body, heading, speakers) VALUES (?, ?, ?, ?)",
                   (cursor_row.lastrowid, body, title, speakers))
        db.execute("INSERT INTO passages_trigram (rowid, compact) VALUES (?, ?)",
                   (cursor_row.lastrowid, fold(text)))
    db.execute("PRAGMA user_version = 2")
    db.close()
    return path
