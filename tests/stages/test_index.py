"""The index stage: transcripts, published links and material PDFs into the catalogue.

The catalogue's own behaviour (Korean search, ranking, migrations) is tested in
tests/catalogue/; here, what the stage gathers and hands over.
"""

from __future__ import annotations

import shutil
import sqlite3
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.catalogue import SearchQuery, search
from pipeline.config.forum import Storage
from pipeline.errors import CatalogueError
from pipeline.results import MaterialFile, PublishResult
from pipeline.settings import Settings
from pipeline.stages.index import IndexRequest, index_forum
from pipeline.stages.publish import PublishRequest, publish
from tests.archive_fixtures import FORUM
from tests.catalogue.builders import make_pdf
from tests.progress_recorder import RecordingProgress


@pytest.fixture
def published(tmp_path: Path, make_request: Callable[[Storage], PublishRequest]
              ) -> tuple[PublishRequest, PublishResult]:
    """The two-session forum of tests/archive_fixtures.py, with a real Korean PDF added,
    published to a local folder."""
    request = make_request(Storage(local=tmp_path / "archive"))
    # macOS hands out decomposed names; publish and index must both compose them.
    pdf = make_pdf(tmp_path / unicodedata.normalize("NFD", "선언문.pdf"),
                   ["표지", "여섯 기관은 공동 선언문을 채택하였다."])
    request = PublishRequest(request.forum, request.clips, request.transcripts,
                             [*request.materials, MaterialFile(path=pdf, kind="declaration")],
                             request.storage)
    return request, publish(request, RecordingProgress())


def index(request: PublishRequest, result: PublishResult | None, catalogue: Path,
          progress: RecordingProgress | None = None) -> None:
    index_forum(IndexRequest(request.forum, request.transcripts, result, catalogue,
                             request.materials), progress or RecordingProgress())


def test_segments_are_found_with_the_links_publish_gave(
        tmp_path: Path, published: tuple[PublishRequest, PublishResult]) -> None:
    request, result = published
    catalogue = tmp_path / "catalogue.sqlite"
    progress = RecordingProgress()
    index(request, result, catalogue, progress)
    assert progress.tasks == [("index", 4)] and progress.advanced == 4
    (hit,) = search(catalogue, SearchQuery("협력")).hits
    assert (hit.forum_id, hit.session_id, hit.session_title) == (
        FORUM.id, "panel", "패널 토론: <사회적 가치> & 공공기관")
    assert (hit.start, hit.speaker) == (0.4, "이준호")
    page = next(s.page_url for s in result.sessions if s.session_id == "panel")
    assert hit.url == f"{page}#t=0"


def test_material_pages_are_found_at_their_published_url(
        tmp_path: Path, published: tuple[PublishRequest, PublishResult]) -> None:
    request, result = published
    catalogue = tmp_path / "catalogue.sqlite"
    progress = RecordingProgress()
    index(request, result, catalogue, progress)
    (hit,) = search(catalogue, SearchQuery("선언문 채택")).hits
    (pdf,) = [o for o in result.objects if o.key.endswith("/materials/선언문.pdf")]
    assert (hit.kind, hit.material, hit.page, hit.url) == (
        "material", "선언문.pdf", 2, f"{pdf.url}#page=2")
    # The fixture's other material is not a readable PDF: noted, and the forum is indexed.
    assert [n for n in progress.notes if "자료집.pdf" in n] == [
        "index: 자료집.pdf: the PDF cannot be read (PdfReadError: startxref not found); "
        "its text is not searchable"]


def test_an_unpublished_forum_is_indexed_without_links(
        tmp_path: Path, published: tuple[PublishRequest, PublishResult]) -> None:
    request, _ = published
    catalogue = tmp_path / "catalogue.sqlite"
    index(request, None, catalogue)
    hits = search(catalogue, SearchQuery("협력")).hits + search(
        catalogue, SearchQuery("선언문")).hits
    assert {h.kind for h in hits} == {"segment", "material"}
    assert [h.url for h in hits] == [None] * len(hits)


def test_indexing_again_replaces_the_forum(
        tmp_path: Path, published: tuple[PublishRequest, PublishResult]) -> None:
    request, result = published
    catalogue = tmp_path / "catalogue.sqlite"
    index(request, result, catalogue)
    with sqlite3.connect(catalogue) as db:
        before = db.execute("SELECT count(*) FROM passages").fetchone()[0]
    index(request, result, catalogue)
    with sqlite3.connect(catalogue) as db:
        assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == before == 6
    fewer = PublishRequest(request.forum, request.clips, request.transcripts[:1], [],
                           request.storage)
    index(fewer, result, catalogue)
    assert search(catalogue, SearchQuery("협력")).hits == []
    assert search(catalogue, SearchQuery("선언문")).hits == []


def test_duplicate_sessions_are_refused(
        tmp_path: Path, published: tuple[PublishRequest, PublishResult]) -> None:
    request, result = published
    twice = PublishRequest(request.forum, request.clips, request.transcripts * 2, [],
                           request.storage)
    with pytest.raises(CatalogueError, match="more than one transcript"):
        index(twice, result, tmp_path / "c.sqlite")


def test_a_missing_material_file_is_a_note_not_a_failure(
        tmp_path: Path, published: tuple[PublishRequest, PublishResult]) -> None:
    request, result = published
    gone = tmp_path / "moved"
    shutil.move(request.materials[-1].path, gone)
    progress = RecordingProgress()
    index(request, result, tmp_path / "c.sqlite", progress)
    assert any("선언문.pdf: cannot read the file" in note for note in progress.notes)
    assert len(search(tmp_path / "c.sqlite", SearchQuery("협력")).hits) == 1


def test_default_catalogue_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SORT_ARCHIVE_CATALOGUE", str(tmp_path / "mine.sqlite"))
    assert Settings.from_environ().catalogue == tmp_path / "mine.sqlite"
    monkeypatch.delenv("SORT_ARCHIVE_CATALOGUE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert (Settings.from_environ().catalogue
            == tmp_path / ".local/share/sort-archive/catalogue.sqlite")
