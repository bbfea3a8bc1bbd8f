"""How Korean text is compared: one normal form for the catalogue's analyzer and the
archive's own search page (whose script is the JavaScript twin of `fold`)."""

from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    """NFC: Korean from macOS file names and some PDFs arrives decomposed (NFD)."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """The form substrings are compared in: NFC, case-folded, no spaces."""
    return "".join(nfc(nfc(text).casefold()).split())
