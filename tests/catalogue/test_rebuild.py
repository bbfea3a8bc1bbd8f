"""Rebuilding the catalogue from a real published archive: a local folder, and S3 (moto)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.catalogue import SearchHit, SearchQuery, facets, search, write_forum
from pipeline.catalogue.archive import Archive
from pipeline.catalogue.rebuild import rebuild
from pipeline.cli import main
from pipeline.config.forum import Storage
from pipeline.errors import CatalogueError, PublishError
from pipeline.results import ForumSummary, PublishResult
from pipeline.stages.index import IndexRequest, index_forum
from pipeline.stages.publish import PublishRequest, publish
from tests.archive_fixtures import s3_storage
from tests.catalogue.builders import FORUM_2024, FORUM_2025, forum_2024
from tests.catalogue.published import publish_request
from tests.progress_recorder import RecordingProgress

QUERIES = ["사회적 가치", "선언문 채택", "만들다", "김민지", "가스공사", "자료집", "측정"]


@pytest.fixture
def forum_request(tmp_path: Path, clip_file: Path) -> Callable[[ForumSummary, Storage],
                                                                PublishRequest]:
    """A forum's real outputs (clips, transcripts, a Korean PDF, a damaged one) to publish."""

    def build(forum: ForumSummary, storage: Storage) -> PublishRequest:
        return publish_request(tmp_path, clip_file, forum, storage)

    return build


def publish_and_index(request: PublishRequest, catalogue: Path) -> PublishResult:
    """What `sort-archive run` does for publish and index."""
    published = publish(request, RecordingProgress())
    index_forum(IndexRequest(request.forum, request.transcripts, published, catalogue,
                             request.materials), RecordingProgress())
    return published


def results(catalogue: Path) -> dict[str, list[SearchHit]]:
    return {query: search(catalogue, SearchQuery(query)).hits for query in QUERIES}


def test_a_rebuild_from_a_local_archive_equals_what_the_index_stage_wrote(
        tmp_path: Path, forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    storage = Storage(local=tmp_path / "archive")
    indexed = tmp_path / "indexed.sqlite"
    for forum in (FORUM_2024, FORUM_2025):
        publish_and_index(forum_request(forum, storage), indexed)
    rebuilt = tmp_path / "rebuilt.sqlite"
    progress = RecordingProgress()
    result = rebuild(rebuilt, [Archive(storage)], progress)
    assert (result.forums, result.segments, result.pages) == (["sort-2024", "sort-2025"], 6, 4)
    assert result.warnings == [f"{f}: 발표.pdf: the PDF cannot be read (PdfReadError: startxref"
                               " not found); its text is not searchable"
                               for f in ("sort-2024", "sort-2025")]
    assert progress.tasks == [("rebuild", 2)]
    expected = results(indexed)
    assert all(expected.values())
    assert results(rebuilt) == expected
    (page,) = [hit for hit in expected["선언문 채택"] if hit.forum_id == "sort-2025"
               and hit.kind == "material"]
    assert page.url == (tmp_path / "archive/sort-2025/materials/자료집.pdf").as_uri() + "#page=3"
    assert facets(rebuilt) == facets(indexed)
    assert sorted(p.name for p in tmp_path.iterdir() if "rebuild" in p.name) == []


def test_a_rebuild_from_s3_equals_what_the_index_stage_wrote(
        tmp_path: Path, s3_endpoint: str, bucket: str,
        forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    storage = s3_storage(s3_endpoint, bucket, prefix="/archive/2025/",
                         public_base_url="https://media.example.org/sort/")
    indexed = tmp_path / "indexed.sqlite"
    for forum in (FORUM_2024, FORUM_2025):
        publish_and_index(forum_request(forum, storage), indexed)
    rebuilt = tmp_path / "rebuilt.sqlite"
    result = rebuild(rebuilt, [Archive(storage)], RecordingProgress())
    assert result.forums == ["sort-2024", "sort-2025"]
    expected = results(indexed)
    assert results(rebuilt) == expected
    (hit,) = [h for h in expected["만들다"] if h.forum_id == "sort-2025"]
    assert hit.url is not None
    assert hit.url.startswith("https://media.example.org/sort/archive/2025/sort-2025/sessions/"
                              "01-opening/index.html#t=0")


def test_presigned_links_are_signed_afresh_by_a_rebuild(
        tmp_path: Path, s3_endpoint: str, bucket: str,
        forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    storage = s3_storage(s3_endpoint, bucket)
    publish(forum_request(FORUM_2025, storage), RecordingProgress())
    rebuilt = tmp_path / "rebuilt.sqlite"
    rebuild(rebuilt, [Archive(storage)], RecordingProgress())
    (hit,) = search(rebuilt, SearchQuery("채택하다")).hits[:1]
    assert hit.url is not None and "X-Amz-Signature=" in hit.url
    assert hit.url.startswith(f"{s3_endpoint}/{bucket}/sort-2025/")


def test_a_failed_rebuild_leaves_the_old_catalogue_as_it_was(
        tmp_path: Path, forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    storage = Storage(local=tmp_path / "archive")
    for forum in (FORUM_2024, FORUM_2025):
        publish(forum_request(forum, storage), RecordingProgress())
    (tmp_path / "archive/sort-2025/forum.json").write_text("{not json", encoding="utf-8")
    catalogue = tmp_path / "catalogue.sqlite"
    write_forum(catalogue, forum_2024())
    before = results(catalogue)
    with pytest.raises(CatalogueError, match=r"sort-2025/forum\.json is not a forum manifest"):
        rebuild(catalogue, [Archive(storage)], RecordingProgress())
    assert results(catalogue) == before
    # The searches read through read-only connections, which leave the catalogue's `-wal`
    # and `-shm` to the next writer to remove; the failed rebuild leaves nothing of its own.
    left = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in left if not n.endswith(("-wal", "-shm"))] == [
        "archive", "catalogue.sqlite", "work"]
    assert not any("rebuild" in n for n in left)


def test_an_archive_without_forums_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    catalogue = tmp_path / "catalogue.sqlite"
    with pytest.raises(CatalogueError, match="no published forum") as caught:
        rebuild(catalogue, [Archive(Storage(local=tmp_path / "empty"))], RecordingProgress())
    assert "catalogue was not changed" in caught.value.one_line()
    assert not catalogue.exists()
    with pytest.raises(PublishError, match="does not exist"):
        rebuild(catalogue, [Archive(Storage(local=tmp_path / "nowhere"))], RecordingProgress())
    assert not (tmp_path / "nowhere").exists()


def test_a_forum_published_in_two_storages_is_refused(
        tmp_path: Path, forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    old, new = Storage(local=tmp_path / "old"), Storage(local=tmp_path / "new")
    for storage in (old, new):
        publish(forum_request(FORUM_2025, storage), RecordingProgress())
    with pytest.raises(CatalogueError, match="forum 'sort-2025' is published twice"):
        rebuild(tmp_path / "c.sqlite", [Archive(old), Archive(new)], RecordingProgress())
    assert not (tmp_path / "c.sqlite").exists()


def test_a_damaged_catalogue_is_replaced(
        tmp_path: Path, forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    storage = Storage(local=tmp_path / "archive")
    publish(forum_request(FORUM_2025, storage), RecordingProgress())
    catalogue = tmp_path / "catalogue.sqlite"
    catalogue.write_bytes(b"this is not a database" * 100)
    rebuild(catalogue, [Archive(storage)], RecordingProgress())
    assert [f.id for f in facets(catalogue).forums] == ["sort-2025"]


def test_a_catalogue_in_use_is_not_replaced(
        tmp_path: Path, forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    storage = Storage(local=tmp_path / "archive")
    publish(forum_request(FORUM_2025, storage), RecordingProgress())
    catalogue = tmp_path / "catalogue.sqlite"
    write_forum(catalogue, forum_2024())
    reader = sqlite3.connect(catalogue)  # e.g. the web app, between two requests
    try:
        reader.execute("SELECT count(*) FROM forums").fetchone()
        with pytest.raises(CatalogueError, match="in use by another process") as caught:
            rebuild(catalogue, [Archive(storage)], RecordingProgress())
        assert "not changed" in caught.value.one_line()
    finally:
        reader.close()
    assert [f.id for f in facets(catalogue).forums] == ["sort-2024"]


def test_a_rebuild_waits_for_a_search_to_finish(
        tmp_path: Path, forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    storage = Storage(local=tmp_path / "archive")
    publish(forum_request(FORUM_2025, storage), RecordingProgress())
    catalogue = tmp_path / "catalogue.sqlite"
    write_forum(catalogue, forum_2024())
    reader = sqlite3.connect(catalogue, check_same_thread=False)
    reader.execute("SELECT count(*) FROM forums").fetchone()
    closing = threading.Timer(1.0, reader.close)  # a slow search, done in a second
    closing.start()
    try:
        rebuild(catalogue, [Archive(storage)], RecordingProgress())
    finally:
        closing.join()
    assert [f.id for f in facets(catalogue).forums] == ["sort-2025"]
    assert not any(p.name.endswith(("-wal", "-shm")) and "rebuild" in p.name
                   for p in tmp_path.iterdir())


def test_a_manifest_cannot_make_the_rebuild_read_outside_its_forum(
        tmp_path: Path, forum_request: Callable[[ForumSummary, Storage], PublishRequest]) -> None:
    storage = Storage(local=tmp_path / "archive")
    for forum in (FORUM_2024, FORUM_2025):
        publish(forum_request(forum, storage), RecordingProgress())
    path = tmp_path / "archive/sort-2025/forum.json"
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    manifest["sessions"][0]["keys"]["json"] = "sort-2024/sessions/01-opening/01-opening.json"
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogueError, match="outside the forum's folder"):
        rebuild(tmp_path / "c.sqlite", [Archive(storage)], RecordingProgress())


def test_index_rebuild_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               forum_request: Callable[[ForumSummary, Storage], PublishRequest]
                               ) -> None:
    archive = tmp_path / "archive"
    publish(forum_request(FORUM_2025, Storage(local=archive)), RecordingProgress())
    config = tmp_path / "forum.yaml"
    config.write_text("id: sort-2025\ntitle: 시험\ndate: 2025-11-19\norganiser: SORT\n"
                      "source: {file: master.mp4}\nsessions:\n"
                      "  - {id: opening, title: 개회, start: 0, end: 1}\n"
                      "storage: {local: ./archive}\n", encoding="utf-8")
    catalogue = tmp_path / "catalogue.sqlite"
    assert main(["index", "--rebuild", str(config), "--storage", str(archive),
                 "--catalogue", str(catalogue), "-q"]) == 0
    out = capsys.readouterr().out
    assert f"catalogue rebuilt: {catalogue}" in out
    assert "1 forum(s): sort-2025" in out and "3 transcript segment(s), 2 material page(s)" in out
    assert "check:       sort-2025: 발표.pdf: the PDF cannot be read" in out
    assert main(["search", "선언문 채택", "--catalogue", str(catalogue), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["query"] == "선언문 채택"
    assert [(h["kind"], h["page"], h["start"]) for h in data["hits"]] == [
        ("segment", None, 0.2), ("material", 3, None)]


def test_index_needs_an_archive_to_rebuild_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--rebuild"]) == 2
    assert "name the archive to rebuild from" in capsys.readouterr().err
