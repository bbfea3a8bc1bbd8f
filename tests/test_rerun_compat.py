"""A work folder, archive and catalogue made before a change of the code's layout are
reused: nothing is fetched, cut or transcribed again, no clip is uploaded again, and
the catalogue's passages stay as they were. What newer code writes differently is
rewritten from what was kept: the captions from the transcript JSON (the cue rules of
pipeline.transcripts.cues), and the pages; a second run then skips every stage.

tests/data/layout-v1.tar.gz was made by scripts/make_layout_fixture.py with the code as
it stood before the packages were reorganised (one flat `pipeline/`). The work manifest
records absolute paths, so the fixture is unpacked where it was made.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest

from pipeline.cli import main

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "data" / "layout-v1.tar.gz"
ROOT = Path("/tmp/sort-archive-layout-fixture")  # where make_layout_fixture.py built it


def digests(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def rows(catalogue: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(catalogue) as db:
        return db.execute("SELECT * FROM passages ORDER BY id").fetchall()


@pytest.fixture
def unpacked(monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.rmtree(ROOT, ignore_errors=True)
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(ROOT.parent, filter="tar")
    monkeypatch.setenv("SORT_ARCHIVE_WORK_DIR", str(ROOT / "work"))
    monkeypatch.setenv("SORT_ARCHIVE_CATALOGUE", str(ROOT / "catalogue.sqlite"))
    return ROOT


def test_a_run_made_before_the_reorganisation_is_reused(
        unpacked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive_before = digests(unpacked / "archive")
    work_before = digests(unpacked / "work")
    passages = rows(unpacked / "catalogue.sqlite")
    assert passages, "the fixture's catalogue holds the keynote's passages"

    assert main(["run", str(unpacked / "forum.yaml"), "--quiet"]) == 0
    out = capsys.readouterr().out
    for stage in ("fetch", "plan", "split"):
        assert f"{stage:<11} skipped (up to date)" in out, out
    assert "transcribed 0 session(s)" in out, out  # captions rewritten from the JSON only
    archive_after, work_after = digests(unpacked / "archive"), digests(unpacked / "work")
    for before, after in ((archive_before, archive_after), (work_before, work_after)):
        kept = [name for name in before if name.endswith((".mp4", ".json", ".jpg"))
                and not name.endswith(("forum.json", "state.json", "search-index.json"))]
        assert kept and {name: after[name] for name in kept} == \
            {name: before[name] for name in kept}
    assert rows(unpacked / "catalogue.sqlite") == passages

    assert main(["run", str(unpacked / "forum.yaml"), "--quiet"]) == 0
    again = capsys.readouterr().out
    for stage in ("fetch", "plan", "split", "transcribe", "publish"):
        assert f"{stage:<11} skipped (up to date)" in again, again
    assert "transcribed 0 session(s), uploaded 0 object(s)" in again, again
    assert digests(unpacked / "archive") == archive_after
    shutil.rmtree(ROOT, ignore_errors=True)
