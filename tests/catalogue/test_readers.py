"""Searches read the catalogue read-only: a file the user can only read is searched, a file
replaced meanwhile is read again, and what is not a catalogue file is said in one line.

Real files and real users: see tests/catalogue/read_only.py for how a test as root
reads as a user whom the file modes bind.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.catalogue import Facets, SearchHit, SearchQuery, facets, search, write_forum
from pipeline.catalogue.reader import read
from pipeline.catalogue.schema import sqlite_error
from pipeline.errors import CatalogueError
from tests.catalogue.builders import FORUM_2025, forum_2024, v1_catalogue
from tests.catalogue.read_only import (
    as_owner,
    as_reader,
    mode,
    read_only_catalogue,
    shared_folder,
)

QUERIES = ["사회적", "측정 지표", "선언문 채택", "윤태범", "자료집", "회적가"]
WAL, ROLLBACK = 2, 1  # the file header's byte 18: the journal mode SQLite opens it in


def results(path: Path) -> tuple[dict[str, list[SearchHit]], Facets]:
    return {q: search(path, SearchQuery(q)).hits for q in QUERIES}, facets(path)


def journal(path: Path) -> int:
    return path.read_bytes()[18]


def forum_ids(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT id FROM forums ORDER BY id")]


def two_forums(path: Path) -> Path:
    write_forum(path, forum_2024())
    write_forum(path, dataclasses.replace(forum_2024(), forum=FORUM_2025))
    return path


def rollback_mode(path: Path) -> Path:
    """As a rebuild leaves the old file before it renames the new one over it."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    return path


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
@pytest.mark.parametrize("folder_too", [False, True], ids=["file-0444", "folder-0555-too"])
def test_a_catalogue_this_user_can_only_read_is_searched(catalogue: Path, journal_mode: str,
                                                         folder_too: bool) -> None:
    expected = results(catalogue)
    assert all(expected[0].values())
    with shared_folder() as folder:
        path = read_only_catalogue(folder, folder_too=folder_too, journal=journal_mode)
        content = path.read_bytes()
        with as_reader():
            assert results(path) == expected
            with pytest.raises(CatalogueError, match="read-only to this user") as caught:
                write_forum(path, forum_2024())  # a write, and only a write, is refused
        assert "\n" not in caught.value.one_line()
        assert path.read_bytes() == content and mode(path) == 0o444  # changed in nothing
        if folder_too:
            assert sorted(p.name for p in folder.iterdir()) == ["catalogue.sqlite"]


def test_a_search_never_changes_the_journal_mode_and_a_writer_sets_wal(catalogue: Path) -> None:
    rollback_mode(catalogue)
    before = results(catalogue)
    assert journal(catalogue) == ROLLBACK
    write_forum(catalogue, forum_2024())
    assert journal(catalogue) == WAL
    assert results(catalogue) == before


def test_a_read_is_done_again_when_the_file_was_replaced_meanwhile(tmp_path: Path) -> None:
    path = rollback_mode(tmp_path / "catalogue.sqlite")
    write_forum(path, forum_2024())
    rollback_mode(path)
    newer = two_forums(tmp_path / ".catalogue.sqlite.rebuild")
    seen: list[list[str]] = []

    def work(db: sqlite3.Connection) -> list[str]:
        seen.append(forum_ids(db))
        if len(seen) == 1:
            os.replace(newer, path)  # the rebuild's rename, while this search has the file
        return seen[-1]

    assert read(path, work) == ["sort-2024", "sort-2025"]
    assert seen == [["sort-2024"], ["sort-2024", "sort-2025"]]


def test_a_file_replaced_during_every_read_is_said_to_be(tmp_path: Path) -> None:
    template = two_forums(tmp_path / "template.sqlite")
    path = tmp_path / "catalogue.sqlite"
    shutil.copy(template, path)

    def work(db: sqlite3.Connection) -> list[str]:
        os.replace(shutil.copy(template, tmp_path / "next.sqlite"), path)
        return forum_ids(db)

    with pytest.raises(CatalogueError, match="changed while it was read, twice") as caught:
        read(path, work)
    assert "try again" in caught.value.one_line()


def test_in_a_read_only_folder_a_file_written_during_the_read_is_read_again() -> None:
    """There the file is opened immutable (no `-wal` or `-shm` can be made): the read
    counts only if the file is unchanged after it."""
    with shared_folder() as folder:
        path = read_only_catalogue(folder, folder_too=True)
        calls: list[int] = []

        def work(db: sqlite3.Connection) -> list[str]:
            calls.append(1)
            if len(calls) == 1:
                with as_owner():  # someone who may write it touches it meanwhile
                    later = path.stat().st_mtime_ns + 1_000_000_000
                    os.utime(path, ns=(later, later))
            return forum_ids(db)

        with as_reader():
            assert read(path, work) == ["sort-2024"]
        assert len(calls) == 2


def test_a_writer_at_work_is_read_through_its_log_in_a_read_only_folder() -> None:
    with shared_folder() as folder:
        path = folder / "catalogue.sqlite"
        write_forum(path, forum_2024())
        writer = sqlite3.connect(path, isolation_level=None)
        try:  # committed, still in the `-wal` only: an immutable read would not see it
            writer.execute("PRAGMA wal_autocheckpoint=0")
            writer.execute("UPDATE forums SET title = '2024 포럼 (개정)'")
            assert (folder / "catalogue.sqlite-wal").stat().st_size > 0
            folder.chmod(0o555)
            with as_reader():
                titles = [f.title for f in facets(path).forums]
        finally:
            writer.close()
        assert titles == ["2024 포럼 (개정)"]


def test_changes_left_in_a_log_in_a_read_only_folder_are_refused_not_missed() -> None:
    """A writer stopped mid-way left a `-wal` and no `-shm`: the reader cannot apply it."""
    with shared_folder() as folder, shared_folder() as crashed:
        write_forum(folder / "catalogue.sqlite", forum_2024())
        writer = sqlite3.connect(folder / "catalogue.sqlite", isolation_level=None)
        try:
            writer.execute("PRAGMA wal_autocheckpoint=0")
            writer.execute("UPDATE forums SET title = '2024 포럼 (개정)'")
            for name in ("catalogue.sqlite", "catalogue.sqlite-wal"):  # as the crash left them
                shutil.copy(folder / name, crashed / name)
        finally:
            writer.close()
        crashed.chmod(0o555)
        with as_reader(), pytest.raises(CatalogueError) as caught:
            search(crashed / "catalogue.sqlite", SearchQuery("사회적"))
    line = caught.value.one_line()
    assert "its last changes are still in catalogue.sqlite-wal" in line
    assert "as a user who can write the folder" in line


def test_an_older_catalogue_that_this_user_cannot_upgrade_says_what_to_do() -> None:
    with shared_folder() as folder:
        path = v1_catalogue(folder / "old.sqlite")
        path.chmod(0o444)
        folder.chmod(0o555)
        with as_reader(), pytest.raises(CatalogueError) as caught:
            search(path, SearchQuery("만들다"))
    line = caught.value.one_line()
    assert "schema version 1, older than this sort-archive reads (4)" in line
    assert "cannot upgrade it" in line and "index --rebuild" in line


def within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """What `call` raised, asserting that it returned within `seconds` (no hang)."""
    raised: list[BaseException | None] = [None]

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test, which says what it expected
            raised[0] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return raised[0]


@pytest.mark.parametrize(("kind", "said"), [("folder", "is a folder, not a catalogue file"),
                                            ("fifo", "is a named pipe (FIFO), not a catalogue"
                                                     " file")])
def test_a_folder_or_a_pipe_named_as_the_catalogue_is_said_to_be_one(
        tmp_path: Path, kind: str, said: str) -> None:
    path = tmp_path / "catalogue.sqlite"
    if kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)
    for call in (lambda: search(path, SearchQuery("사회적")), lambda: facets(path),
                 lambda: write_forum(path, forum_2024())):
        error = within(10, call)
        assert isinstance(error, CatalogueError), error
        assert error.one_line().startswith(f"{path} {said}; name the catalogue file")


def test_a_file_replaced_under_a_writer_is_said_to_be_replaced(tmp_path: Path) -> None:
    path = rollback_mode(tmp_path / "catalogue.sqlite")
    write_forum(path, forum_2024())
    rollback_mode(path)
    newer = two_forums(tmp_path / "newer.sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    try:
        assert forum_ids(db) == ["sort-2024"]
        os.replace(newer, path)
        with pytest.raises(sqlite3.OperationalError) as caught:
            db.execute("INSERT INTO catalogue_meta VALUES ('note', 'x')")
    finally:
        db.close()
    assert caught.value.sqlite_errorname == "SQLITE_READONLY_DBMOVED"
    line = sqlite_error(path, caught.value).one_line()
    assert line == (f"the catalogue {path} was replaced (by `sort-archive index --rebuild`?)"
                    " while in use; try again: the new one is in place")
