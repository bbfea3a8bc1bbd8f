"""Rebuild the whole catalogue from what was published, and nothing else.

Every forum found in the archive (each `{forum}/forum.json`, with the
transcript JSON and material PDFs it lists) is indexed into a new file beside
the catalogue, which replaces the old one only once every forum is in. A
failed rebuild leaves the old catalogue as it was.

The old file is replaced by a rename, under its lock: it is first switched out
of WAL mode (which needs every other connection closed: a running search, web
app or index run makes the rebuild stop and say so, changing nothing), so no
`-wal` file of the old catalogue can be replayed into the new one. The new file
is renamed in whole (its log written back) and in WAL mode, as `connect` makes a
catalogue. A search that opened the old file meanwhile reads it, whole, and then
reads the new one (see `reader`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from pipeline.archive.forum_json import MANIFEST_NAME, ForumManifest, SessionEntry, parse_manifest
from pipeline.catalogue.analyzer import Analyzer, default_analyzer
from pipeline.catalogue.archive import Archive
from pipeline.catalogue.gather import MaterialSource, SessionSource, forum_record
from pipeline.catalogue.records import ForumRecord
from pipeline.catalogue.schema import BUSY_TIMEOUT_S, connect, sqlite_error
from pipeline.catalogue.writer import analyse, write_into
from pipeline.errors import CatalogueError
from pipeline.progress import Progress
from pipeline.results import Segment
from pipeline.transcripts.formats import segments_from_json

_REPUBLISH = "publish the forum again with `sort-archive run CONFIG --only publish --force`"


@dataclass
class RebuildResult:
    catalogue: Path
    forums: list[str] = field(default_factory=list)
    segments: int = 0
    pages: int = 0
    warnings: list[str] = field(default_factory=list)  # materials whose text was not read


def rebuild(catalogue: Path, archives: Sequence[Archive], progress: Progress, *,
            analyzer: Analyzer | None = None) -> RebuildResult:
    """A new catalogue holding every forum published in `archives`, replacing `catalogue`."""
    analyzer = analyzer or default_analyzer()
    found = [(archive, key) for archive in archives for key in archive.manifests()]
    if not found:
        places = ", ".join(archive.where for archive in archives)
        raise CatalogueError(f"no published forum (no {{forum}}/forum.json) in {places}",
                          "check the storage; the catalogue was not changed")
    try:
        catalogue.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogueError(f"cannot create the catalogue folder {catalogue.parent}: "
                          f"{exc.strerror or exc}") from exc
    temp = catalogue.with_name(f".{catalogue.name}.rebuild-{secrets.token_hex(4)}")
    result = RebuildResult(catalogue)
    try:
        with connect(temp, create=True, analyzer=analyzer) as db, \
                progress.task("rebuild", total=len(found)) as task:
            for archive, key in found:
                record = published_record(archive, key, result.warnings)
                if record.forum.id in result.forums:
                    raise CatalogueError(f"forum '{record.forum.id}' is published twice "
                                      f"(again in {archive.where})",
                                      "name each storage once, or remove the stale copy")
                passages = analyse(record, analyzer)
                write_into(db, record, passages, analyzer)
                result.forums.append(record.forum.id)
                result.segments += sum(1 for p in passages if p.session_id is not None)
                result.pages += sum(1 for p in passages if p.session_id is None)
                task.advance(1)
            # One self-contained file to rename (DELETE writes the log back into it), then
            # marked WAL again with nothing in its log: readers never set the mode (schema).
            db.execute("PRAGMA journal_mode=DELETE")
            db.execute("PRAGMA journal_mode=WAL")
        _replace(temp, catalogue)
    finally:
        for leftover in (temp, *_sidecars(temp)):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
    for warning in result.warnings:
        progress.note(f"rebuild: {warning}")
    return result


def published_record(archive: Archive, key: str, warnings: list[str]) -> ForumRecord:
    """One published forum as the writer takes it: manifest, transcripts, material pages."""
    manifest = _manifest(archive, key)
    forum_id = manifest.forum.id
    root = archive.root(forum_id)
    if key != f"{root}/{MANIFEST_NAME}":
        raise CatalogueError(f"{archive.where}: {key} describes forum '{forum_id}'", _REPUBLISH)
    sha = {listed.key: listed.sha256 for listed in manifest.objects}
    sha |= {m.key: m.sha256 for m in manifest.materials}
    sessions = [_session(archive, root, session, sha) for session in manifest.sessions]
    materials = []
    for material in manifest.materials:
        _inside(archive, root, material.key)
        materials.append(MaterialSource(
            material.file_name, material.kind, material.title,
            archive.link(material.key, sha.get(material.key)),
            functools.partial(archive.read, material.key)))
    return forum_record(manifest.forum, sessions, materials,
                        url=archive.link(f"{root}/index.html"),
                        warn=lambda warning: warnings.append(f"{forum_id}: {warning}"))


def _manifest(archive: Archive, key: str) -> ForumManifest:
    """forum.json of version 1 or 2 (a catalogue needs no list of objects)."""
    try:
        return parse_manifest(archive.read(key), listing=False)
    except ValueError as exc:
        problem = " ".join(str(exc).split())[:200]
        raise CatalogueError(f"{archive.where}: {key} is not a forum manifest ({problem})",
                          _REPUBLISH) from exc


def _inside(archive: Archive, root: str, key: str) -> None:
    """A manifest is data from storage: it may not steer reads outside its forum."""
    if not key.startswith(f"{root}/"):
        raise CatalogueError(f"{archive.where}: {root}/{MANIFEST_NAME} names {key!r}, outside"
                          " the forum's folder", _REPUBLISH)


def _session(archive: Archive, root: str, session: SessionEntry,
             sha: dict[str, str]) -> SessionSource:
    keys = session.keys
    for key in keys.values():
        _inside(archive, root, key)
    segments: tuple[Segment, ...] = ()
    if "json" in keys:
        try:
            segments = segments_from_json(archive.read(keys["json"]).decode("utf-8"))
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise CatalogueError(f"{archive.where}: {keys['json']} is not a transcript ({exc})",
                              _REPUBLISH) from exc
    return SessionSource(
        session, segments,
        clip_url=archive.link(keys["video"], sha.get(keys["video"])) if "video" in keys
        else None,
        page_url=archive.link(keys["page"]) if "page" in keys else None)


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def _replace(temp: Path, catalogue: Path) -> None:
    """Rename `temp` over `catalogue`, holding the old file's exclusive lock meanwhile."""
    old = _lock(catalogue) if catalogue.exists() else None
    if old is None:  # no catalogue yet, or a damaged one: no connection can use it
        for stale in _sidecars(catalogue):
            stale.unlink(missing_ok=True)
    try:
        os.replace(temp, catalogue)
    except OSError as exc:
        raise CatalogueError(f"cannot replace the catalogue {catalogue}: {exc.strerror or exc}",
                          "check the folder's permissions; the catalogue was not changed"
                          ) from exc
    finally:
        if old is not None:
            old.close()


def _lock(catalogue: Path) -> sqlite3.Connection | None:
    """The old catalogue out of WAL mode (no `-wal` or `-shm` left) and locked so that no
    one opens it until it is replaced; None when it is not an SQLite file at all."""
    uri = catalogue.resolve().as_uri() + "?mode=rw"
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        old = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            old.execute("PRAGMA journal_mode=DELETE")  # needs every other connection closed
            old.execute("BEGIN EXCLUSIVE")
            if old.execute("PRAGMA journal_mode").fetchone()[0] == "delete":
                return old
            name = "SQLITE_BUSY"  # someone switched it back to WAL meanwhile: again
        except sqlite3.DatabaseError as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
                old.close()
                return None  # a damaged catalogue is what a rebuild is for
            if not name.startswith("SQLITE_BUSY"):
                old.close()
                raise sqlite_error(catalogue, exc) from exc
        old.close()
        if time.monotonic() > deadline:
            raise CatalogueError(
                f"the catalogue {catalogue} is in use by another process (a search, the web"
                " app or an index run)",
                "stop it and run the rebuild again; the catalogue was not changed")
        time.sleep(0.2)  # a search holds it for milliseconds
