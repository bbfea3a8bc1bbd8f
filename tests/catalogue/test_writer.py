"""Writing forums: one transaction per forum, replacing its rows and no other forum's."""

from __future__ import annotations

import dataclasses
import sqlite3
import unicodedata
from pathlib import Path

import pytest

from pipeline.catalogue import ForumRecord, SearchQuery, SegmentRecord, search, write_forum
from pipeline.catalogue.analyzer import default_analyzer
from pipeline.errors import CatalogueError
from tests.catalogue.builders import FORUM_2025, forum_2024, indexed_terms, session

TABLES = ("forums", "sessions", "speakers", "materials", "passages", "passages_fts",
          "headings_fts")


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {t: int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES}


def dump(path: Path) -> list[tuple[object, ...]]:
    """Each passage with the terms indexed for it."""
    with sqlite3.connect(path) as db:
        terms = indexed_terms(db)
        rows = db.execute("SELECT id, forum_id, session_id, start, page, text FROM passages"
                          " ORDER BY id").fetchall()
    assert set(terms) <= {row[0] for row in rows}  # nothing indexed for a passage now gone
    return [(*row[1:], *terms.get(row[0], ("", "", ""))) for row in rows]


def forum_2025() -> ForumRecord:
    return ForumRecord(forum=FORUM_2025, sessions=(
        session(FORUM_2025, 1, "opening", "개회",
                [(9.0, 12.0, "올해도 사회적가치를 이야기합니다")]),
        session(FORUM_2025, 2, "closing", "폐회", [(1.0, 4.0, "사회적가치 확산을 위한 제언")]),
    ))


def test_a_forum_is_written_with_its_sessions_speakers_and_pages(catalogue: Path) -> None:
    assert counts(catalogue) == {"forums": 1, "sessions": 2, "speakers": 3, "materials": 1,
                                 "passages": 8, "passages_fts": 8, "headings_fts": 3}
    with sqlite3.connect(catalogue) as db:
        speakers = db.execute("SELECT speakers FROM sessions ORDER BY number").fetchall()
    assert speakers == [("김민지 (한국사회가치연구원)",), ("윤태범 (정책기획위원회); 이준호",)]
    first = dump(catalogue)[1]
    assert first[:5] == ("sort-2024", "keynote", 12.6, None,
                         "사회적 기업에 대해서 사람들한테 얘기를 해보면")
    assert str(first[5]).split() == ["사회", "사회적", "기업", "대하다", "사람", "사람들", "얘기",
                                     "하다", "보다"]
    assert str(first[6]).split() == ["기조연설", "사회", "사회적", "기업", "오늘"]
    assert str(first[7]).split() == ["김민지", "한국", "사회", "가치", "연구원"]


def test_writing_the_same_forum_again_changes_nothing(catalogue: Path) -> None:
    before, rows = counts(catalogue), dump(catalogue)
    result = write_forum(catalogue, forum_2024())
    assert (result.forum_id, result.segments, result.pages) == ("sort-2024", 6, 2)
    assert counts(catalogue) == before
    assert [row[:5] for row in dump(catalogue)] == [row[:5] for row in rows]


def test_rewriting_a_forum_removes_what_it_no_longer_has(catalogue: Path) -> None:
    record = forum_2024()
    write_forum(catalogue, dataclasses.replace(record, sessions=record.sessions[:1],
                                               materials=()))
    assert counts(catalogue) == {"forums": 1, "sessions": 1, "speakers": 1, "materials": 0,
                                 "passages": 3, "passages_fts": 3, "headings_fts": 1}
    assert search(catalogue, SearchQuery("지표")).hits == []
    assert search(catalogue, SearchQuery("선언문")).hits == []


def test_other_forums_are_left_alone(catalogue: Path) -> None:
    write_forum(catalogue, forum_2025())
    assert counts(catalogue)["forums"] == 2
    write_forum(catalogue, dataclasses.replace(forum_2025(), sessions=()))
    hits = search(catalogue, SearchQuery("사회적가치")).hits
    assert {h.forum_id for h in hits} == {"sort-2024"}
    assert counts(catalogue)["passages"] == 8


def test_a_failed_write_keeps_the_previous_version(catalogue: Path) -> None:
    before, rows = counts(catalogue), dump(catalogue)
    record = forum_2024()
    broken = dataclasses.replace(record.sessions[1], start=float("nan"))  # NOT NULL in SQLite
    with pytest.raises(CatalogueError, match=r"catalogue\.sqlite"):
        write_forum(catalogue, dataclasses.replace(record, sessions=(record.sessions[0],
                                                                       broken)))
    assert counts(catalogue) == before
    assert dump(catalogue) == rows


def test_duplicate_sessions_or_material_names_are_refused(tmp_path: Path) -> None:
    record = forum_2024()
    twice = dataclasses.replace(record, sessions=(record.sessions[0], record.sessions[0]))
    with pytest.raises(CatalogueError, match="more than one transcript for session"):
        write_forum(tmp_path / "c.sqlite", twice)
    twice = dataclasses.replace(record, materials=record.materials * 2)
    with pytest.raises(CatalogueError, match=r"two materials are both named 자료집\.pdf"):
        write_forum(tmp_path / "c.sqlite", twice)
    assert not (tmp_path / "c.sqlite").exists()


def test_blank_segments_are_skipped_and_progress_counts_every_segment(tmp_path: Path) -> None:
    record = forum_2024()
    blank = session(record.forum, 3, "blank", "빈", [(0, 1, "  "), (1, 2, "네.")])
    advanced: list[int] = []
    result = write_forum(tmp_path / "c.sqlite",
                         dataclasses.replace(record, sessions=(*record.sessions, blank)),
                         advance=advanced.append)
    assert result.segments == 7
    assert advanced == [3, 3, 2]


def test_decomposed_hangul_is_stored_composed(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    nfd = unicodedata.normalize("NFD", "사회적가치 성과 측정 및 지표")
    write_forum(path, ForumRecord(forum=FORUM_2025, sessions=(
        session(FORUM_2025, 1, "a", unicodedata.normalize("NFD", "가치"), [(0, 1, nfd)]),)))
    (hit,) = search(path, SearchQuery("성과 측정")).hits
    assert hit.text == "사회적가치 성과 측정 및 지표"
    assert hit.session_title == "가치"


def by_content(path: Path) -> list[tuple[object, ...]]:
    """Passages with their indexed terms, without ids (those differ between catalogues)."""
    return sorted(dump(path), key=repr)


def test_rewrites_leave_the_index_a_fresh_write_gives(catalogue: Path, tmp_path: Path) -> None:
    # The term index stores no text: a rewrite must remove exactly the old terms.
    write_forum(catalogue, forum_2025())
    record = forum_2024()
    changed = dataclasses.replace(record.sessions[1], title="토론: 새 제목", segments=(
        *record.sessions[1].segments[:1], SegmentRecord(60.0, 61.0, "새로 말한 문장입니다")))
    write_forum(catalogue, dataclasses.replace(record, sessions=(record.sessions[0], changed)))
    write_forum(catalogue, forum_2025())
    fresh = tmp_path / "fresh.sqlite"
    write_forum(fresh, forum_2025())
    write_forum(fresh, dataclasses.replace(record, sessions=(record.sessions[0], changed)))
    assert by_content(catalogue) == by_content(fresh)
    assert search(catalogue, SearchQuery("토론 잴")).hits == []  # the old title is gone


def test_an_index_from_another_analyzer_is_redone_before_a_write(
        catalogue: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # What a kiwipiepy upgrade leaves: terms the current analysis would not give.
    with sqlite3.connect(catalogue) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM passages")]
        db.execute("INSERT INTO passages_fts (passages_fts) VALUES ('delete-all')")
        db.executemany("INSERT INTO passages_fts (rowid, body) VALUES (?, '낡은 분석')",
                       [(i,) for i in ids])
        db.execute("UPDATE headings_fts SET heading = '낡은 제목'")
        db.execute("UPDATE catalogue_meta SET value = 'kiwipiepy 0.1, terms 1'"
                   " WHERE key = 'analyzer'")
    with caplog.at_level("INFO", logger="pipeline.index"):
        write_forum(catalogue, forum_2025())
    assert "re-analysing the catalogue's 8 passages: it was indexed by kiwipiepy 0.1" in caplog.text
    fresh = tmp_path / "fresh.sqlite"
    write_forum(fresh, forum_2024())
    write_forum(fresh, forum_2025())
    assert by_content(catalogue) == by_content(fresh)
    assert search(catalogue, SearchQuery("낡은")).hits == []
    assert search(catalogue, SearchQuery("기조연설")).hits  # the heading is indexed again
    with sqlite3.connect(catalogue) as db:
        assert db.execute("SELECT value FROM catalogue_meta").fetchall() == [
            (default_analyzer().identity,)]


def test_written_words_are_kept_once_with_their_terms(catalogue: Path) -> None:
    write_forum(catalogue, forum_2024())
    with sqlite3.connect(catalogue) as db:
        words = db.execute("SELECT word, terms FROM words").fetchall()
    assert len(words) == len(set(words))
    assert ("사회적가치", "사회 사회적 가치") in words
    assert ('"평가"', "평가") not in words and ("평가", "평가") in words  # quotes trimmed
