"""The local folder backend: the embedded default, an archive a web server can serve as is.

Keys are paths under the folder. A local file keeps no metadata, so its sha256 is
always read from the file itself. Every write goes to a temporary file beside
the target and is renamed over it, so readers see the old file or the new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import DiskFullError, PublishError
from pipeline.files import CHUNK, sha256_file
from pipeline.storage.backend import ObjectInfo, StoredItem
from pipeline.storage.keys import check_key

_LOCAL_HINT = "fix the folder's permissions or set storage.local in the forum config elsewhere"
_TEMP = re.compile(r"^\..+\.[0-9a-f]{8}\.part$")


class LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.where = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise PublishError(f"archive folder {self.root} exists but is not a folder",
                               "move that file away, or set storage.local in the forum "
                               "config to a folder") from None
        except OSError as exc:
            raise _local_error(exc, self.root, "cannot create the archive folder") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PublishError(f"archive folder {self.root} is not writable", _LOCAL_HINT)

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            return ObjectInfo(path.stat().st_size, None) if path.is_file() else None
        except OSError:
            return None

    def is_current(self, item: StoredItem) -> bool:
        path = self._path(item.key)
        try:
            if path.stat().st_size != item.size:
                return False
            return sha256_file(path) == item.sha256
        except OSError:
            return False  # absent or unreadable: writing it anew says what is wrong, if anything

    def put(self, item: StoredItem, advance: Callable[[int], None]) -> None:
        target = self._path(item.key)
        # The temporary file sits beside the target so os.replace is an atomic
        # rename: readers see the old file or the new one, never half of one.
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # os.open with 0o666 honours the umask; tempfile would leave 0600
            # files that a web server in front of the folder could not read.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with item.open() as source, os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    advance(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            raise _local_error(exc, target, "cannot write") from exc

    def read(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _local_error(exc, path, "cannot read") from exc

    def digest(self, key: str, advance: Callable[[int], None]) -> str | None:
        path = self._path(key)
        try:
            return sha256_file(path, advance)
        except (FileNotFoundError, IsADirectoryError):
            return None
        except OSError as exc:
            raise _local_error(exc, path, "cannot read") from exc

    def list(self, prefix: str) -> tuple[str, ...]:
        """The keys of the files under `prefix` (`a/b/`, or "" for all), in key order;
        publish's unfinished temporary files are left out. Reads only: a missing
        archive folder is an error, not created."""
        if not self.root.is_dir():
            raise PublishError(f"archive folder {self.root} does not exist",
                               "give the folder publish wrote to (storage.local)")
        folder = prefix.rpartition("/")[0]  # walk only the folder the prefix names
        base = self._path(folder) if folder else self.root
        found = []
        try:
            for path in base.rglob("*"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix) and not _TEMP.match(path.name) and path.is_file():
                    found.append(key)
        except OSError as exc:
            raise _local_error(exc, self.root, "cannot list") from exc
        return tuple(sorted(found))

    def link(self, key: str, sha256: str | None = None) -> str:
        return self._path(key).as_uri()  # no caches between a browser and a file

    def sweep(self, root: str) -> int:
        """Remove the temporary files a killed run left under `root`."""
        removed = 0
        for path in self._path(root).rglob(".*.part"):
            if _TEMP.match(path.name):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed


def _local_error(exc: OSError, path: Path, action: str) -> PublishError | DiskFullError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"no space left on the device holding {path}",
                             "free some space and run again; the files already written are kept")
    return PublishError(f"{action} {path}: {exc.strerror or exc}", _LOCAL_HINT)
