"""A small proceedings (자료집) PDF in Korean, drawn with fpdf2 and a Korean TTF font."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path


def write_proceedings(out: Path, *, font: Path, title: str, organiser: str, facts: list[str],
                      programme: list[str], note: str, credit_title: str, credit: list[str],
                      created: dt.datetime) -> None:
    """Cover page (title, facts, programme, note) and a credits page."""
    # fpdf2's font subsetter warns about Nanum's hinting tables it drops: noise for staff.
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from fpdf import FPDF  # imported here: only the demo needs fpdf2

    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)  # a fixed date keeps the bytes reproducible
    pdf.set_title(title)
    pdf.set_author(organiser)
    pdf.add_font("Nanum", "", str(font))

    def lines(size: float, *values: str, align: str = "L", space: float = 4) -> None:
        pdf.set_font("Nanum", size=size)
        for value in values:
            pdf.multi_cell(0, size * 0.6, value, align=align, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(space)

    pdf.add_page()
    pdf.ln(40)
    lines(22, title, "자료집", align="C", space=10)
    lines(12, *facts, align="C", space=16)
    lines(15, "프로그램")
    lines(11, *programme, space=10)
    lines(10, note)
    pdf.add_page()
    lines(15, credit_title)
    lines(10, credit[0])
    lines(10, *credit[1:])
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
