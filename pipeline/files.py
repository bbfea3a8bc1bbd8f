"""File helpers shared by the core and the domain packages: the one sha256 of a file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 20  # 1 MiB reads: large enough for disks, small enough for progress bars


def sha256_file(path: Path, advance: Callable[[int], None] | None = None) -> str:
    """The sha256 of the file at `path`, read in chunks; `advance` is told each chunk's size.

    Raises `OSError` (`FileNotFoundError`, `IsADirectoryError`, ...) as reading does.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            if advance is not None:
                advance(len(block))
    return digest.hexdigest()
