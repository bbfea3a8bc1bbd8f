"""Where publish puts a forum's materials: one by one, in materials.zip, under safe keys.

Real files in a real local folder (the keys are the same in a bucket); the zip
is checked down to the flag bits of its headers.
"""

from __future__ import annotations

import struct
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from pipeline.config.forum import Storage
from pipeline.errors import PublishError
from pipeline.results import MaterialFile
from pipeline.stages.publish import PublishRequest, publish
from tests.archive_fixtures import MATERIAL, Tags, uploaded
from tests.progress_recorder import RecordingProgress


def test_materials_one_by_one_and_in_a_zip_with_korean_names(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    full = make_request(Storage(local=tmp_path / "archive"))
    name = "자료집 (최종).pdf"
    decomposed = tmp_path / "from-a-mac" / unicodedata.normalize("NFD", name)
    decomposed.parent.mkdir()
    decomposed.write_bytes(b"%PDF-1.4\n% final\n%%EOF\n")
    assert decomposed.name != name  # the bytes of the name differ, the text looks the same
    request = PublishRequest(forum=full.forum, clips=full.clips, transcripts=full.transcripts,
                             materials=[*full.materials, MaterialFile(path=decomposed,
                                                                      kind="proceedings")],
                             storage=full.storage)
    result = publish(request, RecordingProgress())

    forum = tmp_path / "archive" / "sort-2025"
    assert {o.key for o in result.objects} >= {f"sort-2025/materials/{name}",
                                               f"sort-2025/materials/{MATERIAL}"}
    assert sorted(p.name for p in (forum / "materials").iterdir()) == sorted([MATERIAL, name])
    with zipfile.ZipFile(forum / "materials.zip") as bundle:
        assert [i.filename for i in bundle.infolist()] == [MATERIAL, name]
        assert bundle.read(name) == decomposed.read_bytes()
        assert all(i.flag_bits & 0x800 for i in bundle.infolist())  # central directory
        raw = (forum / "materials.zip").read_bytes()
        for info in bundle.infolist():  # and each entry's own local header
            header = raw[info.header_offset:info.header_offset + 30]
            assert header[:4] == b"PK\x03\x04"
            assert struct.unpack("<H", header[6:8])[0] & 0x800, info.filename
            length = struct.unpack("<H", header[26:28])[0]
            assert raw[info.header_offset + 30:][:length] == info.filename.encode("utf-8")
    hrefs = [a["href"] or "" for a in Tags((forum / "index.html").read_text("utf-8")).all("a")]
    escaped = "%EC%9E%90%EB%A3%8C%EC%A7%91%20%28%EC%B5%9C%EC%A2%85%29.pdf"
    assert quote(name) == escaped
    assert any(h.startswith(f"materials/{escaped}?v=") for h in hrefs), hrefs
    assert any(h.startswith("materials.zip?v=") for h in hrefs), hrefs
    # A re-run builds the same zip, byte for byte: nothing is uploaded again.
    assert not uploaded(publish(request, RecordingProgress()))


def test_two_materials_with_one_name_are_refused(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    full = make_request(Storage(local=tmp_path / "archive"))
    other = tmp_path / "other" / MATERIAL
    other.parent.mkdir()
    other.write_bytes(b"%PDF-1.4\n%%EOF\n")
    request = PublishRequest(forum=full.forum, clips=full.clips, transcripts=full.transcripts,
                             materials=[*full.materials, MaterialFile(path=other, kind="other")],
                             storage=full.storage)

    with pytest.raises(PublishError, match=f"both named '{MATERIAL}'"):
        publish(request, RecordingProgress())


@pytest.mark.parametrize("name", ["..\\..\\evil.pdf", "a\x00b.pdf", "x\\y.pdf"])
def test_material_names_that_could_leave_the_archive_are_refused(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest], name: str,
) -> None:
    full = make_request(Storage(local=tmp_path / "archive"))
    if "\x00" in name:  # no file system stores it; such a name could only come from code
        path = Path(tmp_path / name)
    else:
        path = tmp_path / name
        path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    request = PublishRequest(forum=full.forum, clips=full.clips, transcripts=full.transcripts,
                             materials=[*full.materials, MaterialFile(path=path, kind="other")],
                             storage=full.storage)

    with pytest.raises(PublishError, match="cannot be used in an object key"):
        publish(request, RecordingProgress())
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").rglob("*"))


def test_material_paths_with_dot_dot_or_absolute_land_under_materials(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    full = make_request(Storage(local=tmp_path / "archive" / "inside"))
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(b"%PDF-1.4\n%%EOF\n")
    climbing = tmp_path / "work" / ".." / ".." / tmp_path.name / "outside.pdf"
    assert ".." in climbing.parts and climbing.is_file()
    for path in (climbing, outside.absolute()):
        request = PublishRequest(forum=full.forum, clips=full.clips, transcripts=[],
                                 materials=[MaterialFile(path=path, kind="other")],
                                 storage=full.storage)
        result = publish(request, RecordingProgress())
        assert "sort-2025/materials/outside.pdf" in {o.key for o in result.objects}
    archive = tmp_path / "archive" / "inside"
    written = {p.resolve() for p in (tmp_path / "archive").rglob("*")}
    assert all(archive.resolve() in (p, *p.parents) for p in written)
    assert outside.read_bytes() == b"%PDF-1.4\n%%EOF\n"
