"""`sort-archive review CONFIG` as staff start it: one address with the token, on
127.0.0.1 only; a forum with nothing transcribed yet is one line, not a traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.errors import ExitCode
from tests.review.workfolder import FORUM_TITLE, OPENING, PANEL, build_work_folder, make_clip
from tests.test_cli import ROOT, assert_one_line_error, sort_archive


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("review-clip"))


ADDRESS = re.compile(r"^http://127\.0\.0\.1:(\d+)/#token=([A-Za-z0-9_-]{43})$", re.M)


def test_the_command_prints_one_address_with_a_token(tmp_path: Path, clip: Path) -> None:
    work = build_work_folder(tmp_path, clip)
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "review", str(work.config), "--work-dir",
             str(tmp_path / "work"), "--no-align"], stdout=stdout, stderr=stderr, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not ADDRESS.search(out.read_text()):
            assert process.poll() is None, err.read_text()
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        found = ADDRESS.search(out.read_text())
        assert found is not None and len(ADDRESS.findall(out.read_text())) == 1
        base, token = f"http://127.0.0.1:{found[1]}", found[2]
        with urllib.request.urlopen(f"{base}/", timeout=10) as page:
            assert FORUM_TITLE in page.read().decode("utf-8")
        request = urllib.request.Request(f"{base}/api/sessions",
                                         headers={"X-Review-Token": token})
        with urllib.request.urlopen(request, timeout=10) as answer:
            sessions = json.loads(answer.read())["sessions"]
        assert [s["slug"] for s in sessions] == [OPENING.slug, PANEL.slug]
        first = sessions[0]
        assert (first["reviewed"], first["total"], first["flagged"]) == (0, 4, 1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in err.read_text()


def test_a_forum_with_nothing_transcribed_is_one_line(tmp_path: Path, clip: Path) -> None:
    work = build_work_folder(tmp_path / "forum", clip)
    result = sort_archive("review", str(work.config), "--work-dir", str(tmp_path / "empty"))
    assert_one_line_error(result, ExitCode.CONFIG, "no transcribed session", "sort-archive run")
