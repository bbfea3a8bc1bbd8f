"""Material text: a PDF's text page by page, so a hit can open the PDF at `#page=N`.

A material that cannot be read (damaged, encrypted with a password, not a
PDF) is not an error: the forum is still indexed, and the caller gets one
warning line to show staff.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.catalogue.records import MaterialPage
from pipeline.errors import PipelineError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PdfText:
    pages: tuple[MaterialPage, ...]  # pages with text only; numbers count every page
    warning: str | None = None  # why some or all of the text could not be read


def pdf_pages(name: str, source: Path | Callable[[], bytes]) -> PdfText:
    """The text of each page of the PDF `name`, whitespace tidied, NFC.

    `source` is the file, or a function that reads it (from a bucket); it is not
    read at all when `name` is not a PDF's.
    """
    from pypdf import PdfReader

    if not name.lower().endswith(".pdf"):
        return PdfText((), f"{name}: not a PDF; listed, but its text is not searchable")
    try:
        data = source.read_bytes() if isinstance(source, Path) else source()
    except (OSError, PipelineError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return PdfText((), f"{name}: cannot read the file ({reason}); "
                           "its text is not searchable")
    if not data.startswith(b"%PDF"):
        return PdfText((), f"{name}: not a PDF file; its text is not searchable")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return PdfText((), f"{name}: the PDF is protected by a password; "
                               "its text is not searchable")
        pages = list(reader.pages)
    # pypdf raises many kinds of error on damaged files; none of them may stop the index.
    except Exception as exc:
        log.debug("cannot open %s", name, exc_info=True)
        return PdfText((), f"{name}: the PDF cannot be read ({type(exc).__name__}: {exc}); "
                           "its text is not searchable")
    found: list[MaterialPage] = []
    failed: list[int] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text()
        except Exception:  # one bad page: keep the others
            log.debug("cannot read page %d of %s", number, name, exc_info=True)
            failed.append(number)
            continue
        text = " ".join(unicodedata.normalize("NFC", text).split())
        if text:
            found.append(MaterialPage(number, text))
    warning = (f"{name}: page(s) {', '.join(map(str, failed))} cannot be read; "
               "their text is not searchable") if failed else None
    return PdfText(tuple(found), warning)
