"""Where a forum's material files may come from: the config's folder, then the operator's
materials root, and never anywhere a symlink leads out of them (the bad-input corpus runs
the same through the command line)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.archive.materials import forum_materials
from pipeline.config.loader import load_config
from pipeline.errors import ConfigError

CONFIG = """\
id: materials-test
title: 자료 시험
date: 2021-07-02
organiser: 한국사회적기업진흥원
source: {{file: master.mp4}}
sessions: [{{id: keynote, title: 기조강연, start: 0, end: 10}}]
materials: [{{path: "{path}", kind: proceedings}}]
storage: {{local: ./archive}}
"""


def write_forum(folder: Path, material: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "forum.yaml"
    config.write_text(CONFIG.format(path=material), encoding="utf-8")
    return config


def test_a_file_in_the_config_folder_is_found_before_the_materials_root(
        tmp_path: Path) -> None:
    config = write_forum(tmp_path / "forum", "자료/자료집.pdf")
    (tmp_path / "forum" / "자료").mkdir()
    (tmp_path / "forum" / "자료" / "자료집.pdf").write_bytes(b"%PDF-1.4 forum")
    root = tmp_path / "root"
    (root / "자료").mkdir(parents=True)
    (root / "자료" / "자료집.pdf").write_bytes(b"%PDF-1.4 root")
    [material] = forum_materials(load_config(config, materials_root=root), require=True)
    assert material.path.read_bytes() == b"%PDF-1.4 forum"


def test_the_materials_root_is_searched_second(tmp_path: Path) -> None:
    config = write_forum(tmp_path / "forum", "자료집.pdf")
    root = tmp_path / "root"
    root.mkdir()
    (root / "자료집.pdf").write_bytes(b"%PDF-1.4 root")
    [material] = forum_materials(load_config(config, materials_root=root), require=True)
    assert material.path == (root / "자료집.pdf").resolve()
    with pytest.raises(ConfigError, match=r"materials\[0\]\.path: file 자료집.pdf not found"):
        forum_materials(load_config(config), require=True)  # no root named: not found


def test_a_symlink_that_stays_inside_its_root_is_followed(tmp_path: Path) -> None:
    config = write_forum(tmp_path / "forum", "latest.pdf")
    (tmp_path / "forum" / "2021").mkdir()
    (tmp_path / "forum" / "2021" / "자료집.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "forum" / "latest.pdf").symlink_to("2021/자료집.pdf")
    [material] = forum_materials(load_config(config), require=True)
    assert material.path == (tmp_path / "forum" / "2021" / "자료집.pdf").resolve()


def test_a_symlink_from_the_forum_into_the_materials_root_is_refused(tmp_path: Path) -> None:
    """Each root keeps its own files: a link is judged by the root it was found in."""
    config = write_forum(tmp_path / "forum", "자료집.pdf")
    root = tmp_path / "root"
    root.mkdir()
    (root / "자료집.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "forum" / "자료집.pdf").symlink_to(root / "자료집.pdf")
    with pytest.raises(ConfigError, match="leads outside"):
        forum_materials(load_config(config, materials_root=root), require=True)


def test_a_dangling_symlink_is_one_line(tmp_path: Path) -> None:
    config = write_forum(tmp_path / "forum", "자료집.pdf")
    (tmp_path / "forum" / "자료집.pdf").symlink_to("gone.pdf")
    with pytest.raises(ConfigError, match=r"cannot read 자료집\.pdf"):
        forum_materials(load_config(config), require=True)


@pytest.mark.parametrize(("given", "words"), [
    ("/etc/passwd", "is an absolute path"),
    ("자료/../../secret.pdf", "climbs out with '..'"),
    ("..", "climbs out with '..'"),
])
def test_paths_that_leave_the_folder_are_refused_when_read(tmp_path: Path, given: str,
                                                          words: str) -> None:
    config = write_forum(tmp_path / "forum", given)
    with pytest.raises(ConfigError, match=r"materials\[0\]\.path") as caught:
        load_config(config)
    assert words in str(caught.value)


def test_without_require_a_missing_file_is_listed_but_a_link_out_is_not(
        tmp_path: Path) -> None:
    config = write_forum(tmp_path / "forum", "자료집.pdf")
    [material] = forum_materials(load_config(config), require=False)
    assert material.path == tmp_path / "forum" / "자료집.pdf"
    os.symlink("/etc/hostname", tmp_path / "forum" / "자료집.pdf")
    with pytest.raises(ConfigError, match="leads outside"):
        forum_materials(load_config(config), require=False)
