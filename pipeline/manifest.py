"""The work directory's manifest (`state.json`): what each stage produced.

A stage, or one item of a stage (a session's clip, a session's transcript), is
recorded with a fingerprint of its inputs and the sha256 of every output file.
On a re-run the work is skipped only when the fingerprint is the same and every
output still exists with the recorded checksum, so a deleted or damaged file
is redone and nothing else is.

Hashing a multi-gigabyte recording on every run would be slow, so checksums
are cached by (size, mtime); a changed file always gets a new size or mtime.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import BusyError
from pipeline.faults import checkpoint
from pipeline.files import sha256_file

log = logging.getLogger("pipeline.manifest")
LOCK_NAME = ".lock"

MANIFEST_NAME = "state.json"
_VERSION = 1


def fingerprint(*parts: object) -> str:
    """Stable hash of JSON-serialisable inputs."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Manifest:
    """Load, query and atomically save a work directory's `state.json`."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.path = work_dir / MANIFEST_NAME
        # Two stages may record at once (split feeding transcribe, see pipeline.runner):
        # every read-modify-write and every save holds this lock.
        self._lock = threading.RLock()
        self._data: dict[str, Any] = {"version": _VERSION, "stages": {}, "items": {},
                                      "checksums": {}}
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = None
            if isinstance(loaded, dict) and loaded.get("version") == _VERSION:
                self._data = loaded
            else:
                self._set_aside()

    def _set_aside(self) -> None:
        """Keep a damaged manifest for inspection; the run redoes what it cannot prove."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        kept = self.path.with_name(f"{MANIFEST_NAME}.damaged-{stamp}")
        os.replace(self.path, kept)
        log.warning("%s is damaged or from another version; kept it as %s and will redo "
                    "the work it recorded", self.path, kept.name)

    # -- checksums -----------------------------------------------------------------
    def checksum(self, path: Path) -> str:
        stat = path.stat()
        key = self._rel(path)
        with self._lock:
            cached = self._data["checksums"].get(key)
        if cached and cached["size"] == stat.st_size and cached["mtime_ns"] == stat.st_mtime_ns:
            return str(cached["sha256"])
        digest = sha256_file(path)  # outside the lock: a recording takes seconds to read
        with self._lock:
            self._data["checksums"][key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                                            "sha256": digest}
        return digest

    def _outputs_intact(self, outputs: dict[str, str]) -> bool:
        for rel, digest in outputs.items():
            path = self._abs(rel)
            if not path.is_file() or self.checksum(path) != digest:
                return False
        return True

    # -- whole stages ----------------------------------------------------------------
    def fresh_stage_result(self, stage: str, inputs_fingerprint: str) -> Any | None:
        """The stored result of `stage` if it can be reused, else None."""
        with self._lock:
            entry = self._data["stages"].get(stage)
            if not entry or entry.get("fingerprint") != inputs_fingerprint:
                return None
            if not self._outputs_intact(entry.get("outputs", {})):
                return None
            return entry.get("result")

    def changed_since_recorded(self, item: str, inputs_fingerprint: str) -> bool:
        """True when `item` was recorded before with other inputs (not merely never)."""
        with self._lock:
            entry = self._data["items"].get(item)
            return bool(entry) and entry.get("fingerprint") != inputs_fingerprint

    def record_stage(self, stage: str, inputs_fingerprint: str, outputs: list[Path],
                     result: Any) -> None:
        self._record("stages", stage, inputs_fingerprint, outputs, result)

    def _record(self, section: str, key: str, inputs_fingerprint: str, outputs: list[Path],
                result: Any) -> None:
        """A stage's or an item's entry: its inputs, its outputs' checksums, its result.
        The outputs are hashed before the lock is taken: a clip takes seconds to read."""
        entry = {"fingerprint": inputs_fingerprint,
                 "outputs": {self._rel(p): self.checksum(p) for p in outputs},
                 "result": result}
        with self._lock:
            self._data[section][key] = entry
            self.save()

    def forget_stage(self, stage: str) -> None:
        with self._lock:
            self._data["stages"].pop(stage, None)

    # -- single items within a stage -----------------------------------------------
    def item_is_fresh(self, key: str, inputs_fingerprint: str) -> bool:
        with self._lock:
            entry = self._data["items"].get(key)
            return bool(entry and entry.get("fingerprint") == inputs_fingerprint
                        and self._outputs_intact(entry.get("outputs", {})))

    def record_item(self, key: str, inputs_fingerprint: str, outputs: list[Path],
                    result: Any = None) -> None:
        self._record("items", key, inputs_fingerprint, outputs, result)

    def item_result(self, key: str, inputs_fingerprint: str) -> Any | None:
        """What a fresh item recorded (a small typed result), or None if it is not fresh."""
        with self._lock:
            if not self.item_is_fresh(key, inputs_fingerprint):
                return None
            return self._data["items"][key].get("result")

    def save(self) -> None:
        with self._lock:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            # Write-then-rename: a crash mid-write must not destroy the record of finished work.
            fd, tmp = tempfile.mkstemp(dir=self.work_dir, prefix=".state.", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._data, handle, ensure_ascii=False, indent=1, default=str)
            checkpoint("state.save")
            os.replace(tmp, self.path)
            for stale in self.work_dir.glob(".state.*.json"):  # left by a killed run
                stale.unlink(missing_ok=True)

    def _rel(self, path: Path) -> str:
        path = path.resolve()
        try:
            return str(path.relative_to(self.work_dir.resolve()))
        except ValueError:
            return str(path)

    def _abs(self, rel: str) -> Path:
        path = Path(rel)
        return path if path.is_absolute() else self.work_dir / path


class ItemCache:
    """The per-item view of a manifest that stages receive (no stage-level access)."""

    def __init__(self, manifest: Manifest, stage: str, *, force: bool = False) -> None:
        self._manifest = manifest
        self._stage = stage
        self._force = force  # --force: redo every item, still recording the new outputs

    def is_fresh(self, item: str, inputs_fingerprint: str) -> bool:
        key = f"{self._stage}/{item}"
        return not self._force and self._manifest.item_is_fresh(key, inputs_fingerprint)

    def changed_since_recorded(self, item: str, inputs_fingerprint: str) -> bool:
        return self._manifest.changed_since_recorded(f"{self._stage}/{item}", inputs_fingerprint)

    def record(self, item: str, inputs_fingerprint: str, outputs: list[Path],
               result: Any = None) -> None:
        self._manifest.record_item(f"{self._stage}/{item}", inputs_fingerprint, outputs, result)

    def stored_result(self, item: str, inputs_fingerprint: str) -> Any | None:
        """The result recorded for a fresh item; None when it must be redone."""
        if self._force:
            return None
        return self._manifest.item_result(f"{self._stage}/{item}", inputs_fingerprint)

    def checksum(self, path: Path) -> str:
        return self._manifest.checksum(path)


@contextlib.contextmanager
def forum_lock(work_dir: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the forum's work folder for this run: one writer per forum.

    An advisory `flock` on `work_dir/.lock`, released by the kernel when the
    process dies, so a killed run never leaves a stale lock. The holder writes
    its pid and start time there, for the message the second run shows.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / LOCK_NAME
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            if not wait:
                raise BusyError(
                    f"forum {work_dir.name} is being processed by another run ({holder})",
                    "wait for it to finish, or run again with --wait to queue behind it",
                ) from None
            log.warning("forum %s is being processed by another run (%s); waiting for it",
                        work_dir.name, holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "unknown process"
    except OSError:
        return "unknown process"
