"""The catalogue file: its numbered migrations, and checked connections to it.

The schema version lives in SQLite's `PRAGMA user_version`. Opening a
catalogue applies every migration above its version, in one transaction, so an
older catalogue is upgraded in place (a failed upgrade leaves it as it was),
and a new file is created by the same path: migration 1 is the original
schema. A catalogue newer than this code is refused with what to do.

Version 1: forums, sessions, segments, and `segments_fts` (FTS5 trigram over
each segment's whitespace-free text).
Version 2: `passages` replaces `segments` and also holds material pages;
`passages_fts` holds each passage's Korean terms (see `analyzer`), with the
session title and speakers as columns of their own, for ranking; the trigram
table becomes `passages_trigram`; `speakers` and `materials` tables; a forum URL.
Version 3 (see `terms`; at 1,000 hours the catalogue went from 7.6x the text to
about 2x): `passages_fts` becomes contentless and holds the spoken text's terms
only; session titles and speakers go to `headings_fts`, once per session;
`passages_trigram` gives way to `words`, a vocabulary of written words in a
trigram index; passages are renumbered so that their ids sort like search
results (see `order`), and forums, sessions and materials record their first
and last passage instead of two indexes on `passages`; `catalogue_meta` names
the analyzer the terms came from.
Version 4 (see `groups`): `passages_fts` gets a second column, `grp`, each
passage's group (its length and its most frequent term's count), which bounds
its bm25 score, and `passage_groups` counts the passages of each group: a page of
a frequent term scores a few hundred matches instead of all of them. The terms
are indexed again, which for a large archive takes minutes (Kiwi).

Writers and readers. `connect` is the one write connection (the index stage's
writer, the rebuild, a migration): it creates or upgrades the file and puts it
in WAL mode, once (the mode is kept in the file), so that searches read while
an index run writes. Searches and facets read through `reader`, read-only
(`mode=ro`): a reader never changes the journal mode or anything else, so a
catalogue the user can only read (a 0444 file, a read-only folder or share) can
be searched, and a reader that opened a file that `index --rebuild` then renamed
over is not refused a write (SQLITE_READONLY_DBMOVED): it reads the old file or
the new one, and `reader` reads again when the file was replaced meanwhile.

Every sqlite3 error raised inside `connect` becomes one `CatalogueError` naming
the file, so the command line prints it as one line: `sqlite_error` says what is
really wrong (a file replaced while in use, a write refused, a folder or a pipe
named as the catalogue, a missing or damaged file).
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.catalogue.analyzer import Analyzer, default_analyzer
from pipeline.catalogue.order import renumber
from pipeline.catalogue.terms import reindex
from pipeline.errors import CatalogueError

BUSY_TIMEOUT_S = 10.0  # another run may be writing; wait rather than fail at once
RUN_HINT = "run `sort-archive run CONFIG` first, or set SORT_ARCHIVE_CATALOGUE"
_DAMAGED_HINT = ("if the file is damaged, move it aside and rebuild it with "
                 "`sort-archive index --rebuild CONFIG ...`")

# Version 1, as sort-archive 0.1 created it (the stage before this package); the
# migrations start from it, and the search benchmark builds its baseline with it.
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

_V2 = (
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
    # One searchable passage: a transcript segment (session_id, times in seconds
    # from the start of the clip) or a material page (material_id, page from 1).
    """CREATE TABLE passages (
        id INTEGER PRIMARY KEY, forum_id TEXT NOT NULL REFERENCES forums(id),
        session_id TEXT, start REAL, "end" REAL,
        material_id INTEGER REFERENCES materials(id), page INTEGER,
        text TEXT NOT NULL,
        FOREIGN KEY (forum_id, session_id) REFERENCES sessions(forum_id, session_id),
        CHECK ((session_id IS NULL) != (material_id IS NULL)))""",
    """INSERT INTO passages (id, forum_id, session_id, start, "end", text)
        SELECT id, forum_id, session_id, start, "end", text FROM segments""",
    "DROP TABLE segments",
    "CREATE INDEX passages_by_place ON passages(forum_id, session_id, start)",
    "CREATE INDEX passages_by_material ON passages(material_id, page)",
    # rowid = passages.id in both. Terms are written space-separated by the analyzer.
    "ALTER TABLE segments_fts RENAME TO passages_trigram",
    """CREATE VIRTUAL TABLE passages_fts USING fts5(
        body, heading, speakers, tokenize='unicode61 remove_diacritics 0')""",
)

_V3 = (
    "CREATE TABLE catalogue_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Each forum's, session's and material's passages have consecutive ids (see `order`):
    # their ranges stand in for two indexes on `passages` (35 MB at 1,000 hours).
    "ALTER TABLE forums ADD COLUMN first_passage INTEGER",
    "ALTER TABLE forums ADD COLUMN last_passage INTEGER",
    "ALTER TABLE sessions ADD COLUMN first_passage INTEGER",
    "ALTER TABLE sessions ADD COLUMN last_passage INTEGER",
    "ALTER TABLE materials ADD COLUMN first_passage INTEGER",
    "ALTER TABLE materials ADD COLUMN last_passage INTEGER",
)
# After the passages are renumbered (see `order`).
_V3_INDEXES = (
    """UPDATE sessions SET
        first_passage = (SELECT min(id) FROM passages p WHERE p.forum_id = sessions.forum_id
                         AND p.session_id = sessions.session_id),
        last_passage = (SELECT max(id) FROM passages p WHERE p.forum_id = sessions.forum_id
                        AND p.session_id = sessions.session_id)""",
    """UPDATE materials SET
        first_passage = (SELECT min(id) FROM passages p WHERE p.material_id = materials.id),
        last_passage = (SELECT max(id) FROM passages p WHERE p.material_id = materials.id)""",
    "DROP INDEX passages_by_place",
    "DROP INDEX passages_by_material",
    "DROP TABLE passages_trigram",
    "DROP TABLE passages_fts",
    # The spoken text's terms, indexed and not stored (see `terms`).
    """CREATE VIRTUAL TABLE passages_fts USING fts5(
        body, content='', tokenize='unicode61 remove_diacritics 0')""",
    # A session's title and speakers (a material's title and file name), once per session:
    # rowid = its first passage.
    """CREATE VIRTUAL TABLE headings_fts USING fts5(
        heading, speakers, last_passage UNINDEXED, tokenize='unicode61 remove_diacritics 0')""",
    """CREATE VIRTUAL TABLE words USING fts5(
        word, terms UNINDEXED, tokenize='trigram', columnsize=0)""",
)

# Each passage's group (see `groups`) in a second column, weighted 0 in bm25, and each
# group's count of passages.
_V4 = (
    "DROP TABLE passages_fts",
    """CREATE VIRTUAL TABLE passages_fts USING fts5(
        body, grp, content='', tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TABLE passage_groups (
        grp TEXT PRIMARY KEY, passages INTEGER NOT NULL) WITHOUT ROWID""",
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite3.Connection, Analyzer], None]


def _create_v1(db: sqlite3.Connection, analyzer: Analyzer) -> None:
    for statement in V1_SCHEMA:
        db.execute(statement)


def _upgrade_to_v2(db: sqlite3.Connection, analyzer: Analyzer) -> None:
    # `passages_fts` is left empty: migration 3 replaces it and indexes every passage,
    # and the migrations always run to the latest version in one transaction.
    for statement in _V2:
        db.execute(statement)
    for forum_id, session_id, text in db.execute(
            "SELECT forum_id, session_id, speakers FROM sessions").fetchall():
        for position, (name, organisation) in enumerate(parse_speakers(text)):
            db.execute("INSERT INTO speakers VALUES (?, ?, ?, ?, ?)",
                       (forum_id, session_id, position, name, organisation))


def _upgrade_to_v3(db: sqlite3.Connection, analyzer: Analyzer) -> None:
    # The term indexes are left empty: migration 4 replaces `passages_fts` and indexes
    # everything (the migrations always run to the latest version in one transaction).
    for statement in _V3:
        db.execute(statement)
    renumber(db)
    for statement in _V3_INDEXES:
        db.execute(statement)


def _upgrade_to_v4(db: sqlite3.Connection, analyzer: Analyzer) -> None:
    for statement in _V4:
        db.execute(statement)
    reindex(db, analyzer)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "forums, sessions, segments; trigram search", _create_v1),
    Migration(2, "Korean morphological search, material pages, speakers", _upgrade_to_v2),
    Migration(3, "contentless term index, word vocabulary for substrings", _upgrade_to_v3),
    Migration(4, "passage groups: a frequent term's page without scoring every match",
              _upgrade_to_v4),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
COMPACTED_BY = 3  # a catalogue upgraded past this version is vacuumed: it shrank


_SPEAKER = re.compile(r"^(.*?)(?: \((.*)\))?$")


def format_speakers(speakers: list[tuple[str, str | None]]) -> str:
    """`name (organisation); name`: the speakers text shown with each hit."""
    return "; ".join(f"{name} ({org})" if org else name for name, org in speakers)


def parse_speakers(text: str) -> list[tuple[str, str | None]]:
    """The inverse of `format_speakers` (version 1 kept only the text)."""
    found = []
    for part in filter(None, (p.strip() for p in text.split("; "))):
        match = _SPEAKER.match(part)
        assert match is not None  # the pattern matches any string
        found.append((match.group(1), match.group(2)))
    return found


class CatalogueReadOnly(CatalogueError):
    """A write to the catalogue that the file system refused (the file, or its folder)."""


class CatalogueReplaced(CatalogueError):
    """The catalogue was renamed over (by `index --rebuild`) while this connection used it."""


@contextmanager
def connect(path: Path, *, create: bool,
            analyzer: Analyzer | None = None) -> Iterator[sqlite3.Connection]:
    """The write connection: WAL, busy timeout, schema created or brought up to date.

    `create=False` never creates a file, so a search cannot leave an empty
    catalogue behind. `analyzer` is used only by a migration that indexes text.
    Searches read through `reader.read` instead, which never writes.
    """
    check_file(path, missing_ok=create)  # a folder or a pipe: said, and never opened
    uri = path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    try:
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise sqlite_error(path, exc) from exc
    try:
        db.execute("PRAGMA foreign_keys=ON")
        # Only once the file is known to be a catalogue: another program's database named
        # by mistake is refused unchanged (journal_mode=WAL rewrites the file header).
        _migrate(db, path, create, analyzer)
        _wal(db)
        yield db
    except sqlite3.Error as exc:
        raise sqlite_error(path, exc) from exc
    finally:
        db.close()


def _wal(db: sqlite3.Connection) -> None:
    """WAL mode, set once by a writer: searches read while an index run writes. Readers
    never set it (a read-only user could not, and the file may have been renamed over)."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode=WAL")


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _migrate(db: sqlite3.Connection, path: Path, create: bool,
             analyzer: Analyzer | None) -> None:
    version = _version(db)
    if version == SCHEMA_VERSION:
        return
    refuse_newer(path, version)
    if version == 0 and not create:
        raise CatalogueError(f"{path} is not a sort-archive catalogue", RUN_HINT)
    with transaction(db):
        version = _version(db)  # another process may have upgraded it meanwhile
        refuse_newer(path, version)
        if version == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise CatalogueError(f"{path} is an SQLite file but not a sort-archive catalogue",
                              "choose another path with --catalogue or SORT_ARCHIVE_CATALOGUE")
        for migration in MIGRATIONS:
            if migration.version > version:
                migration.apply(db, analyzer or default_analyzer())
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    if 0 < version < COMPACTED_BY:
        db.execute("VACUUM")  # give the dropped tables' pages back: the file shrinks


def refuse_newer(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise CatalogueError(
            f"the catalogue {path} has schema version {version}, newer than this sort-archive"
            f" understands ({SCHEMA_VERSION})",
            "upgrade sort-archive, or build a catalogue for this version elsewhere with"
            " `sort-archive index --rebuild --catalogue NEW-PATH CONFIG ...`")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction; IMMEDIATE takes the lock up front so the busy timeout applies."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def sqlite_error(path: Path, exc: sqlite3.Error) -> CatalogueError:
    """One line for staff: what is really wrong, and what to do."""
    name = getattr(exc, "sqlite_errorname", "")
    if "no such module: fts5" in str(exc) or "no such tokenizer" in str(exc):
        return CatalogueError(f"this SQLite ({sqlite3.sqlite_version}) lacks FTS5 trigram search",
                           "use a Python built with SQLite 3.34 or newer")
    if name.startswith("SQLITE_BUSY"):
        return CatalogueError(f"the catalogue {path} is locked by another sort-archive run",
                           "wait for it to finish and try again")
    if name.startswith("SQLITE_FULL"):
        return CatalogueError(f"no space left to write the catalogue {path}", "free disk space")
    if name == "SQLITE_READONLY_DBMOVED":
        return CatalogueReplaced(f"the catalogue {path} was replaced (by `sort-archive index"
                                 " --rebuild`?) while in use", "try again: the new one is in place")
    if name == "SQLITE_READONLY_DIRECTORY":
        return CatalogueReadOnly(f"the folder of the catalogue {path} is read-only to this user,"
                                 " who cannot write beside it", "give this user write access to"
                                 " the folder")
    if name in ("SQLITE_READONLY_CANTINIT", "SQLITE_READONLY_RECOVERY",
                "SQLITE_READONLY_CANTLOCK"):  # a reader that must set up the `-shm` file
        return CatalogueError(f"cannot read the catalogue {path} now: its shared-memory file"
                              f" ({path.name}-shm) must be set up again, and this user cannot"
                              " write it", "try again when the index run has finished, or"
                              " run one search as a user who can write the folder")
    if name.startswith("SQLITE_READONLY"):
        return CatalogueReadOnly(f"the catalogue {path} is read-only to this user, who cannot"
                                 " write it", "give this user write access to it and its folder")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_AUTH")):
        problem = file_problem(path)
        if problem is not None:
            return problem
    return CatalogueError(f"cannot use the catalogue {path}: {exc}", _DAMAGED_HINT)


_ANOTHER = "name the catalogue file with --catalogue or SORT_ARCHIVE_CATALOGUE"
_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def file_problem(path: Path, *, missing_ok: bool = False) -> CatalogueError | None:
    """Why `path` cannot be a catalogue file (missing, a folder, a pipe, unreadable), or
    None. Asked before SQLite opens it: opening a pipe to read waits for a writer, forever."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None if missing_ok else CatalogueError(f"no catalogue at {path} yet", RUN_HINT)
    except NotADirectoryError:
        return CatalogueError(f"no catalogue can be at {path}: a part of that path is a file,"
                           " not a folder", _ANOTHER)
    except OSError as exc:
        return CatalogueError(f"cannot reach the catalogue {path}: {exc.strerror or exc}",
                           "give this user access to it and its folders")
    if stat.S_ISDIR(mode):
        return CatalogueError(f"{path} is a folder, not a catalogue file",
                           f"{_ANOTHER}, e.g. {path / 'catalogue.sqlite'}")
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        return CatalogueError(f"{path} is {kind}, not a catalogue file", _ANOTHER)
    if not os.access(path, os.R_OK, effective_ids=os.access in os.supports_effective_ids):
        return CatalogueError(f"this user cannot read the catalogue {path}",
                           "give this user read access to it")
    return None


def check_file(path: Path, *, missing_ok: bool = False) -> None:
    """Raise `file_problem`'s error, if any."""
    problem = file_problem(path, missing_ok=missing_ok)
    if problem is not None:
        raise problem
