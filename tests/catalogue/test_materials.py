"""Material PDFs, made with fpdf2 and read with pypdf: text per page, warnings, hits."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from pipeline.catalogue import ForumRecord, MaterialRecord, SearchQuery, search, write_forum
from pipeline.catalogue.materials import pdf_pages
from pipeline.errors import PublishError
from tests.catalogue.builders import FORUM_2025, make_pdf


def test_text_is_read_page_by_page_and_blank_pages_keep_their_numbers(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "자료집.pdf", ["공공기관 사회적 가치 선언문을\n채택했습니다.", "",
                                           "셋째 쪽: 성과 측정 지표와 ESG 경영"])
    found = pdf_pages("자료집.pdf", pdf)
    assert found.warning is None
    assert [(p.number, p.text) for p in found.pages] == [
        (1, "공공기관 사회적 가치 선언문을 채택했습니다."),
        (3, "셋째 쪽: 성과 측정 지표와 ESG 경영")]
    assert pdf_pages("자료집.pdf", pdf.read_bytes).pages == found.pages  # bytes from a bucket


def test_text_is_composed_hangul(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "a.pdf", [unicodedata.normalize("NFD", "사회적가치")])
    (page,) = pdf_pages("a.pdf", pdf).pages
    assert page.text == "사회적가치"


def test_a_password_protected_pdf_is_a_warning(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "비공개.pdf", ["비밀 문서"], password="secret")
    found = pdf_pages("비공개.pdf", pdf)
    assert found.pages == ()
    assert found.warning == "비공개.pdf: the PDF is protected by a password; its text is not " \
                            "searchable"
    # Encrypted with an empty user password (only printing or copying restricted): readable.
    open_pdf = make_pdf(tmp_path / "제한.pdf", ["권한만 제한된 문서"], password="")
    assert [p.text for p in pdf_pages("제한.pdf", open_pdf).pages] == ["권한만 제한된 문서"]


def test_damaged_missing_or_other_files_are_warnings(tmp_path: Path) -> None:
    damaged = tmp_path / "깨진.pdf"
    damaged.write_bytes(b"%PDF-1.4\n% 2025 \xec\x9e\x90\xeb\xa3\x8c\n%%EOF\n")
    found = pdf_pages("깨진.pdf", damaged)
    assert found.pages == () and found.warning is not None
    assert found.warning.startswith("깨진.pdf: the PDF cannot be read (")
    truncated = tmp_path / "잘린.pdf"
    truncated.write_bytes(make_pdf(tmp_path / "full.pdf", ["내용"]).read_bytes()[:400])
    assert pdf_pages("잘린.pdf", truncated).warning is not None
    missing = pdf_pages("없음.pdf", tmp_path / "없음.pdf")
    assert missing.warning == ("없음.pdf: cannot read the file (No such file or directory); "
                               "its text is not searchable")
    renamed = tmp_path / "slides.pdf"
    renamed.write_bytes(b"PK\x03\x04 a zip file")
    assert "not a PDF file" in str(pdf_pages("slides.pdf", renamed).warning)


def test_a_file_that_is_not_a_pdf_is_not_read(tmp_path: Path) -> None:
    reads: list[str] = []

    def read() -> bytes:
        reads.append("read")
        return b""

    found = pdf_pages("발표.pptx", read)
    assert found.warning == "발표.pptx: not a PDF; listed, but its text is not searchable"
    assert reads == []


def test_a_storage_error_while_reading_is_a_warning() -> None:
    def read() -> bytes:
        raise PublishError("access denied to bucket 'b'")

    assert "access denied to bucket 'b'" in str(pdf_pages("자료집.pdf", read).warning)


def test_a_page_hit_links_to_the_pdf_at_that_page(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "선언문.pdf", ["표지", "", "여섯 기관은 공동 선언문을 채택하였다."])
    found = pdf_pages("선언문.pdf", pdf)
    path = tmp_path / "c.sqlite"
    write_forum(path, ForumRecord(forum=FORUM_2025, materials=(MaterialRecord(
        "선언문.pdf", "declaration", "공동 선언문", "https://cdn.example.org/선언문.pdf",
        found.pages),)))
    (hit,) = search(path, SearchQuery("채택하다")).hits
    assert (hit.kind, hit.material, hit.page) == ("material", "선언문.pdf", 3)
    assert hit.url == "https://cdn.example.org/선언문.pdf#page=3"
    assert hit.snippet == "여섯 기관은 공동 선언문을 [채택하]였다."
