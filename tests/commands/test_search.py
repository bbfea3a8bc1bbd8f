"""`sort-archive search` as staff use it, in-process against a real catalogue.

(`sort-archive index --rebuild` is exercised in tests/catalogue/test_rebuild.py, next
to the published archives it reads.)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from pipeline.catalogue import write_forum
from pipeline.cli import main
from pipeline.errors import ExitCode
from tests.catalogue.builders import BASE, forum_2024
from tests.catalogue.read_only import as_reader, read_only_catalogue, shared_folder


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "catalogue.sqlite"
    write_forum(path, forum_2024())
    return path


def test_hits_show_forum_session_time_speaker_snippet_and_link(
        catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "측정 지표", "--catalogue", str(catalogue)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "sort-2024  02-panel  [00:00:05]  사회적가치 성과 [측정] 및 [지표]",
        "    2024-11-20 · 토론: 성과를 어떻게 잴 것인가 · 윤태범 (정책기획위원회); 이준호",
        f"    {BASE}/sort-2024/sessions/02-panel/index.html#t=5",
    ]


def test_a_material_hit_shows_its_file_and_page(catalogue: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "선언문", "--catalogue", str(catalogue)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "sort-2024  자료집.pdf  [p. 4]  여섯 개 기관이 공동 [선언문]을 채택하였다."
    assert lines[2].endswith("/materials/자료집.pdf?v=abcdefabcdef#page=4")


def test_json_output_and_filters(catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "사회적", "--catalogue", str(catalogue), "--json",
                 "--speaker", "윤태범", "--since", "2024-01-01", "--forum", "sort-2024"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["query", "hits"]
    assert [(h["session_id"], h["start"]) for h in data["hits"]] == [("panel", 40.25),
                                                                     ("panel", 5.0)]
    assert main(["search", "사회적", "--catalogue", str(catalogue), "--json",
                 "--since", "2025-01-01"]) == 0
    assert json.loads(capsys.readouterr().out) == {"query": "사회적", "hits": []}


def test_no_hits_and_more_hits_are_said(catalogue: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "을", "--catalogue", str(catalogue)]) == 0
    assert capsys.readouterr().out == "nothing matches '을'\n"
    assert main(["search", "사회적", "--catalogue", str(catalogue), "--limit", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(more hits: --limit 2)"


def test_a_bad_date_or_limit_is_a_usage_error(catalogue: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["search", "가치", "--catalogue", str(catalogue), "--since", "2024-13-01"])
    assert caught.value.code == 2
    assert "not a date: '2024-13-01' (use YYYY-MM-DD)" in capsys.readouterr().err
    for limit in ("0", "-1", "99999999999999999999", "x"):
        with pytest.raises(SystemExit) as caught:
            main(["search", "가치", "--catalogue", str(catalogue), "--limit", limit])
        assert caught.value.code == 2
        assert "--limit must be a whole number from 1 to 100" in capsys.readouterr().err


@pytest.mark.parametrize(("query", "problem"), [
    ("가치\udcff", "the query is not UTF-8 text"),  # what Python makes of $'가치\xff'
    ("", "the query is empty"), (" \x00 ", "the query is empty"),
    ("가치 " * 100, "the query is 299 characters long; give at most 200"),
])
def test_a_bad_query_is_a_usage_error(catalogue: Path, capsys: pytest.CaptureFixture[str],
                                      query: str, problem: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["search", query, "--catalogue", str(catalogue)])
    assert caught.value.code == 2 and problem in capsys.readouterr().err


def test_control_characters_in_a_query_are_spaces(catalogue: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "사회적\x00가치", "--catalogue", str(catalogue), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["query"] == "사회적 가치"


@pytest.mark.parametrize(("folder_too", "journal"), [(False, "delete"), (True, "wal")],
                         ids=["file-0444-rollback-journal", "folder-0555-too-wal"])
def test_a_catalogue_this_user_can_only_read_is_searched(
        catalogue: Path, capsys: pytest.CaptureFixture[str], folder_too: bool,
        journal: str) -> None:
    assert main(["search", "측정 지표", "--catalogue", str(catalogue)]) == 0
    expected = capsys.readouterr().out  # and every module the command needs is loaded now
    with shared_folder() as folder:
        path = read_only_catalogue(folder, folder_too=folder_too, journal=journal)
        with as_reader():
            code = main(["search", "측정 지표", "--catalogue", str(path)])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    assert captured.out == expected and "[측정] 및 [지표]" in expected


@pytest.mark.parametrize(("kind", "said"), [("folder", "is a folder, not a catalogue file"),
                                            ("fifo", "is a named pipe (FIFO), not a catalogue"
                                                     " file")])
def test_a_folder_or_a_pipe_as_the_catalogue_is_one_line_saying_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, said: str) -> None:
    path = tmp_path / "catalogue.sqlite"
    if kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)  # opened to read, a pipe would wait for a writer: it is never opened
    began = time.monotonic()
    assert main(["search", "가치", "--catalogue", str(path)]) == ExitCode.INDEX
    assert time.monotonic() - began < 10
    err = capsys.readouterr().err
    assert err == (f"sort-archive: error: {path} {said}; name the catalogue file with"
                   f" --catalogue or SORT_ARCHIVE_CATALOGUE"
                   + (f", e.g. {path / 'catalogue.sqlite'}" if kind == "folder" else "") + "\n")
