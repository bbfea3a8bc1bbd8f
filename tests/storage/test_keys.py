"""Object keys: every part validated, nothing can leave the forum's folder."""

from __future__ import annotations

import unicodedata

import pytest

from pipeline.errors import PublishError
from pipeline.storage import keys


@pytest.mark.parametrize("name", ["..", ".", "", "../passwd", "/etc/passwd", "a\\..\\b.pdf",
                                  "tab\there.pdf", "nul\x00.pdf", "가" * 90])
def test_unusable_names_are_refused_with_the_fix(name: str) -> None:
    with pytest.raises(PublishError) as caught:
        keys.segment(name, "material")
    assert "rename the file" in caught.value.one_line()


def test_names_are_nfc_and_otherwise_kept() -> None:
    name = "자료집 (최종).pdf"
    assert keys.segment(unicodedata.normalize("NFD", name), "material") == name
    assert keys.segment("...pdf", "material") == "...pdf"  # dots, but not a dot segment


@pytest.mark.parametrize("key", ["a/../b", "a//b", "/a", "a/", "a/./b", "a/b\\c",
                                 unicodedata.normalize("NFD", "a/자료집.pdf")])
def test_keys_with_unsafe_segments_are_refused(key: str) -> None:
    with pytest.raises(PublishError, match="is refused"):
        keys.check_key(key)


def test_forum_root_takes_a_slug_and_a_clean_prefix() -> None:
    assert keys.forum_root("/archive/2025/", "sort-2025") == "archive/2025/sort-2025"
    assert keys.forum_root("", "sort-2025") == "sort-2025"
    for prefix, forum in (("a/../..", "sort"), ("", "../sort"), ("", "Sort"), ("", "a/b")):
        with pytest.raises(PublishError):
            keys.forum_root(prefix, forum)


def test_session_folders_take_numbered_slugs_only() -> None:
    assert keys.session_folder("f", "01-keynote") == "f/sessions/01-keynote"
    for slug in ("keynote", "01-../x", "1-a", "01-A"):
        with pytest.raises(PublishError):
            keys.session_folder("f", slug)
