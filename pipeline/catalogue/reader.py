"""Read-only connections to the catalogue, for searches and facets.

A reader opens the file with `mode=ro` and never writes: not the journal mode
(the writer set WAL once, see `schema`), not a migration of its own. So:

- a catalogue the user can only read is searched: a 0444 file, a read-only
  folder, a share mounted read-only;
- a file that `sort-archive index --rebuild` renamed over while a search had it
  open cannot refuse that search a write (SQLITE_READONLY_DBMOVED, which once
  came out as "the catalogue is read-only"): the search read the old file, whole
  (the rebuild switched it out of WAL mode first), and reads again, once, on a
  fresh connection, because the file at the path is no longer the one it read.

WAL in a read-only folder. A WAL-mode file is read through its `-wal` and
`-shm` files, which SQLite (3.22 and newer) can use read-only when they exist,
but cannot create in a folder the user cannot write (SQLITE_READONLY_DIRECTORY).
They exist while a writer has the file open; when none has, the whole catalogue
is in the main file and there is no `-wal`. Only then is the file opened with
`immutable=1`, which reads it with no locks and no `-shm`: safe while nothing
writes it, and nothing can write it without making a `-wal` first (a WAL
writer) or changing its size or time (a rollback-journal writer). The read is
kept only if the file is the same (device, inode, size, modification and change
times) and still has no `-wal` after it; otherwise it is read again. A `-wal`
left behind by a writer that stopped mid-way may hold committed changes that
`immutable=1` would not see: that is refused with what to do, never read.
(`PRAGMA query_only` is not needed: `mode=ro` refuses every write already.)

A reader finding an older schema upgrades the file through the write
connection, as searches always did; a user who cannot write it is told to let
someone who can run `index --rebuild` or a search once.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pipeline.catalogue.analyzer import Analyzer
from pipeline.catalogue.schema import (
    BUSY_TIMEOUT_S,
    RUN_HINT,
    SCHEMA_VERSION,
    CatalogueReadOnly,
    CatalogueReplaced,
    check_file,
    connect,
    refuse_newer,
    sqlite_error,
)
from pipeline.errors import CatalogueError

T = TypeVar("T")
# Searches that were in flight when the file was replaced may read it again, once.
ATTEMPTS = 2
# What SQLite says when a read-only connection can neither use nor make `-wal`/`-shm`.
_NO_SIDECARS = ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN", "SQLITE_READONLY_CANTINIT")


@dataclass(frozen=True)
class Stamp:
    """Which file is at the path, and whether it was written: what a reader compares."""

    device: int
    inode: int
    size: int
    modified_ns: int
    changed_ns: int

    @classmethod
    def of(cls, path: Path) -> Stamp | None:
        try:
            found = os.stat(path)
        except OSError:
            return None
        return cls(found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns,
                   found.st_ctime_ns)

    def same_file(self, other: Stamp | None) -> bool:
        return other is not None and (self.device, self.inode) == (other.device, other.inode)


def written_state(path: Path) -> tuple[Stamp | None, Stamp | None]:
    """The file's stamp and its `-wal`'s: one of them changes whenever the catalogue is
    written (a WAL writer appends to `-wal`; a checkpoint, a rollback-journal writer or a
    rebuild changes the file)."""
    return Stamp.of(path), Stamp.of(_sidecar(path, "-wal"))


class _ReadAgain(Exception):
    """The file was replaced (or, opened immutable, written) during the read."""


def read(path: Path, work: Callable[[sqlite3.Connection], T], *,
         analyzer: Analyzer | None = None) -> T:
    """`work` done on a read-only connection to the catalogue at `path`; done again on a
    fresh connection if the file was replaced meanwhile. Errors are `CatalogueError`."""
    for _ in range(ATTEMPTS):
        try:
            return _read_once(path, work, analyzer)
        except _ReadAgain:
            continue
    raise CatalogueError(f"the catalogue {path} changed while it was read, twice (an index"
                         " run or a rebuild replacing it?)", "try again in a moment")


def _read_once(path: Path, work: Callable[[sqlite3.Connection], T],
               analyzer: Analyzer | None) -> T:
    check_file(path)  # a folder or a pipe: said, and never opened (a pipe would hang)
    before = Stamp.of(path)
    opened: list[bool] = []  # whether it was opened immutable, once it is open
    try:
        with _reading(path, analyzer) as (db, immutable):
            opened.append(immutable)
            result = work(db)
    except (sqlite3.Error, CatalogueReplaced) as exc:
        # An error from a file that was replaced (or, read immutable, written) meanwhile
        # says nothing about the file there now: read that one.
        if isinstance(exc, CatalogueReplaced) or not _unchanged(path, before, any(opened)):
            raise _ReadAgain from exc
        raise sqlite_error(path, exc) from exc
    if not _unchanged(path, before, any(opened)):
        raise _ReadAgain
    return result


def _unchanged(path: Path, before: Stamp | None, immutable: bool) -> bool:
    after = Stamp.of(path)
    if before is None or not before.same_file(after):
        return False
    return not immutable or (after == before and not _sidecar(path, "-wal").exists())


@contextmanager
def _reading(path: Path, analyzer: Analyzer | None
             ) -> Iterator[tuple[sqlite3.Connection, bool]]:
    """A read-only connection to a catalogue of this version (an older one upgraded first),
    and whether it was opened immutable."""
    db, immutable, version = _open(path)
    try:
        if version < SCHEMA_VERSION:
            db.close()
            _upgrade(path, version, analyzer)
            db, immutable, version = _open(path)
        refuse_newer(path, version)
        if version != SCHEMA_VERSION:
            raise CatalogueError(f"{path} is not a sort-archive catalogue", RUN_HINT)
        yield db, immutable
    finally:
        db.close()


def _open(path: Path) -> tuple[sqlite3.Connection, bool, int]:
    """Opened `mode=ro`; `immutable=1` only as the module docstring says."""
    base = path.resolve().as_uri() + "?mode=ro"
    db = _connect(base)
    try:
        return db, False, _version(db)  # the first read: where `-wal` and `-shm` are opened
    except sqlite3.OperationalError as exc:
        db.close()
        if getattr(exc, "sqlite_errorname", "") not in _NO_SIDECARS:
            raise
        wal = _sidecar(path, "-wal")
        if wal.exists():
            raise CatalogueError(
                f"cannot read the catalogue {path}: its last changes are still in {wal.name},"
                " which this user cannot apply (the folder is read-only to it)",
                "wait for the index run to finish, or run one search as a user who can write"
                " the folder") from exc
    db = _connect(base + "&immutable=1")
    try:
        return db, True, _version(db)
    except BaseException:
        db.close()
        raise


def _connect(uri: str) -> sqlite3.Connection:
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _upgrade(path: Path, version: int, analyzer: Analyzer | None) -> None:
    """Bring an older catalogue up to date through the write connection (a migration)."""
    if version == 0:
        raise CatalogueError(f"{path} is not a sort-archive catalogue", RUN_HINT)
    try:
        with connect(path, create=False, analyzer=analyzer):
            pass
    except CatalogueReadOnly as exc:
        raise CatalogueError(
            f"the catalogue {path} has schema version {version}, older than this sort-archive"
            f" reads ({SCHEMA_VERSION}), and this user cannot upgrade it ({exc.message})",
            "run one search, or `sort-archive index --rebuild CONFIG ...`, as a user who can"
            " write it and its folder") from exc
