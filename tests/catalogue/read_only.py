"""A catalogue this user can only read, made for real: file modes, and a real other user.

`chmod` restricts every user but root, and tests may run as root (a container, CI).
So the code under test runs inside `as_reader()`: as itself when it is not root
(the modes apply), and as root with the effective uid and gid of `nobody`, for
whom the modes apply just the same. glibc changes the ids of every thread of the
process, so a server's worker threads read as `nobody` too. Keep the block small:
nothing inside may need root's files (load Kiwi before it, for one).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.catalogue import write_forum
from tests.catalogue.builders import forum_2024


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


@contextmanager
def as_reader() -> Iterator[None]:
    """Run the block as a user whom the file modes bind (see the module docstring)."""
    if os.geteuid() != 0:
        yield
        return
    uid, gid = _nobody()
    os.setegid(gid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@contextmanager
def as_owner() -> Iterator[None]:
    """Inside `as_reader()`, run a block as the files' owner again (to change one while it
    is being read); a no-op when `as_reader()` changed no ids."""
    if os.getuid() != 0 or os.geteuid() == 0:
        yield
        return
    uid, gid = os.geteuid(), os.getegid()
    os.seteuid(0)
    os.setegid(0)
    try:
        yield
    finally:
        os.setegid(gid)
        os.seteuid(uid)


@contextmanager
def shared_folder() -> Iterator[Path]:
    """A folder that `as_reader()` can reach: pytest's own are 0700 and root's, which
    `nobody` cannot enter. Removed afterwards, whatever its mode then."""
    folder = Path(tempfile.mkdtemp(prefix="sort-archive-readers-"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        for path in (folder, *folder.rglob("*")):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder)


def writable_by_reader(folder: Path) -> None:
    """The folder writable by whoever `as_reader()` runs as (root's folder: by everyone)."""
    folder.chmod(0o777 if os.geteuid() == 0 else 0o755)


def read_only_catalogue(folder: Path, *, folder_too: bool, journal: str = "wal") -> Path:
    """The 2024 forum's catalogue, closed, as mode 0444; with `folder_too` its folder
    0555 as well (no `-wal` or `-shm` can be made beside it), else writable. `journal`
    "delete" is the mode that a rebuild left the file in before readers were read-only."""
    path = folder / "catalogue.sqlite"
    write_forum(path, forum_2024())
    if journal != "wal":
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute(f"PRAGMA journal_mode={journal}")
    assert not any(p.name.endswith(("-wal", "-shm")) for p in folder.iterdir())
    path.chmod(0o444)
    if folder_too:
        folder.chmod(0o555)
    else:
        writable_by_reader(folder)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
