"""The catalogue file: migrations, refusal of newer files, and one-line errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.catalogue import SearchQuery, facets, search, write_forum
from pipeline.catalogue.analyzer import default_analyzer
from pipeline.catalogue.schema import MIGRATIONS, SCHEMA_VERSION, connect, sqlite_error
from pipeline.errors import CatalogueError
from tests.catalogue.builders import forum_2024, indexed_terms, v1_catalogue, v2_catalogue


def version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master")}


def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == 4


def test_a_new_catalogue_is_the_latest_version_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "catalogue.sqlite"
    write_forum(path, forum_2024())
    assert version(path) == SCHEMA_VERSION
    assert {"forums", "sessions", "speakers", "materials", "passages", "passages_fts",
            "words", "catalogue_meta"} <= tables(path)
    assert not {"segments", "passages_trigram"} & tables(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_version_1_catalogue_is_upgraded_in_place(tmp_path: Path) -> None:
    path = v1_catalogue(tmp_path / "old.sqlite")
    assert version(path) == 1
    hits = search(path, SearchQuery("만들다")).hits  # version 1 could only match substrings
    assert version(path) == SCHEMA_VERSION
    assert [(h.forum_id, h.session_id, h.start, h.text) for h in hits] == [
        ("sort-2021", "keynote", 1.0, "사회적가치를 만들어 가는 공공기관")]
    assert hits[0].url == "file:///a/01-keynote/index.html#t=1"
    assert hits[0].speaker == "윤태범 (정책기획위원회 사회적 가치 TF); 김민지"
    (adopted,) = search(path, SearchQuery("선언문 채택")).hits
    assert adopted.snippet == "여섯 개 기관이 [선언문]을 [채택]했습니다."
    # The upgrade builds the vocabulary of written words: substrings are found.
    assert [h.text for h in search(path, SearchQuery("가스공사")).hits] == [
        "한국가스공사의 사례를 보겠습니다."]
    assert facets(path).speakers == ["김민지", "윤태범"]
    # The writer works on the upgraded file, and keeps the old forum.
    write_forum(path, forum_2024())
    assert {f.id for f in facets(path).forums} == {"sort-2021", "sort-2024"}


def test_a_failed_upgrade_leaves_the_old_catalogue_as_it_was(tmp_path: Path) -> None:
    path = v1_catalogue(tmp_path / "old.sqlite")
    with sqlite3.connect(path) as db:  # something in the way of version 2's tables
        db.execute("CREATE TABLE passages (x)")
    before = tables(path)
    with pytest.raises(CatalogueError, match=r"old\.sqlite"):
        search(path, SearchQuery("사회적가치"))
    assert version(path) == 1
    assert tables(path) == before
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM segments").fetchone()[0] == 3


def test_a_newer_catalogue_is_refused_with_what_to_do(catalogue: Path) -> None:
    with sqlite3.connect(catalogue) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for attempt in (lambda: search(catalogue, SearchQuery("사회적")),
                    lambda: write_forum(catalogue, forum_2024()),
                    lambda: facets(catalogue)):
        with pytest.raises(CatalogueError) as caught:
            attempt()
        line = caught.value.one_line()
        assert "\n" not in line
        assert f"schema version {SCHEMA_VERSION + 1}, newer" in line
        assert "upgrade sort-archive" in line and "index --rebuild" in line
        assert caught.value.exit_code == 7
    assert version(catalogue) == SCHEMA_VERSION + 1  # left alone


def test_a_missing_catalogue_is_one_line_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "catalogue.sqlite"
    with pytest.raises(CatalogueError) as caught:
        search(path, SearchQuery("사회적"))
    line = caught.value.one_line()
    assert str(path) in line and "SORT_ARCHIVE_CATALOGUE" in line
    assert not path.exists()
    with pytest.raises(CatalogueError, match="no catalogue"):
        facets(path)


def test_damaged_or_foreign_files_are_index_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogueError, match=r"garbage\.sqlite.*rebuild") as caught:
        search(garbage, SearchQuery("사회적"))
    assert "\n" not in caught.value.one_line()
    with pytest.raises(CatalogueError):
        write_forum(garbage, forum_2024())

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(CatalogueError, match="not a sort-archive catalogue"):
        write_forum(foreign, forum_2024())
    with pytest.raises(CatalogueError, match="not a sort-archive catalogue"):
        search(foreign, SearchQuery("사회적"))
    assert tables(foreign) == {"notes"}


def test_a_version_2_catalogue_is_upgraded_in_place_and_shrinks(tmp_path: Path) -> None:
    path = v2_catalogue(tmp_path / "v2.sqlite")
    expected = {q: [(h.session_id, h.start, h.page, h.match) for h in
                    search(write_fresh(tmp_path / "fresh.sqlite"), SearchQuery(q)).hits]
                for q in ("사회적가치", "선언문 채택", "윤태범", "얘기하다", "회적기", "자료집")}
    assert version(path) == 2
    for query, hits in expected.items():  # the first search upgrades it
        assert [(h.session_id, h.start, h.page, h.match)
                for h in search(path, SearchQuery(query)).hits] == hits, query
    assert version(path) == SCHEMA_VERSION
    assert not {"passages_trigram", "passages_by_place", "passages_by_material"} & tables(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0  # vacuumed
        firsts = db.execute("SELECT session_id, first_passage FROM sessions ORDER BY number"
                            ).fetchall()
        # Renumbered into the block of 2024-11-20 (see `order`), in programme order.
        block = 20241120 * 1000 << 20
        assert firsts == [("keynote", block), ("panel", block + 3)]
        assert db.execute("SELECT first_passage, last_passage FROM forums").fetchall() == [
            (block, block + 7)]
        assert db.execute("SELECT first_passage FROM materials").fetchall() == [(block + 6,)]
        assert db.execute("SELECT value FROM catalogue_meta WHERE key = 'analyzer'"
                          ).fetchone()[0] == default_analyzer().identity
    # The upgraded index is exact: a version 4 writer replaces the forum cleanly.
    write_forum(path, forum_2024())
    with sqlite3.connect(path) as db, sqlite3.connect(tmp_path / "fresh.sqlite") as fresh:
        assert sorted(indexed_terms(db).values()) == sorted(indexed_terms(fresh).values())


# `passages_fts` as version 3 created it (schema.py `_V3_INDEXES` at git 9621cd6), verbatim.
V3_PASSAGES_FTS = """CREATE VIRTUAL TABLE passages_fts USING fts5(
        body, content='', tokenize='unicode61 remove_diacritics 0')"""


def v3_catalogue(path: Path) -> Path:
    """A catalogue as version 3 wrote it: today's, less the groups (version 4's change)."""
    write_forum(path, forum_2024())
    db = sqlite3.connect(path, isolation_level=None)
    texts = db.execute("SELECT id, text FROM passages ORDER BY id").fetchall()
    bodies = default_analyzer().index_terms([text for _, text in texts])
    db.execute("DROP TABLE passages_fts")
    db.execute("DROP TABLE passage_groups")
    db.execute(V3_PASSAGES_FTS)
    db.executemany("INSERT INTO passages_fts (rowid, body) VALUES (?, ?)",
                   [(i, " ".join(b)) for (i, _), b in zip(texts, bodies, strict=True)])
    db.execute("PRAGMA user_version = 3")
    db.close()
    return path


def test_a_version_3_catalogue_gets_its_groups(tmp_path: Path) -> None:
    path = v3_catalogue(tmp_path / "v3.sqlite")
    fresh = write_fresh(tmp_path / "fresh.sqlite")
    queries = ("사회적가치", "선언문 채택", "윤태범", "얘기하다", "회적기", "자료집")
    expected = {q: [h.as_json() for h in search(fresh, SearchQuery(q)).hits] for q in queries}
    for query, hits in expected.items():  # the first search upgrades it
        assert [h.as_json() for h in search(path, SearchQuery(query)).hits] == hits, query
    assert version(path) == SCHEMA_VERSION
    with sqlite3.connect(path) as db, sqlite3.connect(fresh) as other:
        assert indexed_terms(db) == indexed_terms(other)
        assert (db.execute("SELECT * FROM passage_groups ORDER BY grp").fetchall()
                == other.execute("SELECT * FROM passage_groups ORDER BY grp").fetchall())


def write_fresh(path: Path) -> Path:
    write_forum(path, forum_2024())
    return path


def test_a_locked_catalogue_says_so(catalogue: Path) -> None:
    writer = sqlite3.connect(catalogue, isolation_level=None)
    other = sqlite3.connect(catalogue, isolation_level=None, timeout=0)
    try:
        writer.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as caught:
            other.execute("BEGIN IMMEDIATE")
        error = sqlite_error(catalogue, caught.value)
        assert "locked by another sort-archive run" in error.one_line()
        assert "wait for it to finish" in error.one_line()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        other.close()


def test_a_full_disk_says_so(tmp_path: Path) -> None:
    path = tmp_path / "small.sqlite"
    with connect(path, create=True) as db:
        db.execute("PRAGMA max_page_count = 30")  # SQLite's own limit: a real SQLITE_FULL
        with pytest.raises(sqlite3.OperationalError) as caught:
            db.execute("INSERT INTO words (word, terms) VALUES (?, '')", ("가" * 200_000,))
    error = sqlite_error(path, caught.value)
    assert error.one_line().startswith(f"no space left to write the catalogue {path}")


def test_search_reads_while_another_run_is_writing(catalogue: Path) -> None:
    before = search(catalogue, SearchQuery("사회적")).hits
    assert len(before) == 4
    writer = sqlite3.connect(catalogue, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO passages_fts (passages_fts) VALUES ('delete-all')")
        # WAL: the reader sees the last committed state and is not blocked.
        assert search(catalogue, SearchQuery("사회적")).hits == before
    finally:
        writer.execute("ROLLBACK")
        writer.close()
