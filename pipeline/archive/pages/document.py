"""What every archive page shares: the document around its body, its style sheet, and
the small text helpers (times, sizes, names) the pages write with.

One place for the `<head>`, so the language, the viewport, the style, and the tags that
make a shared link preview well (`pipeline.archive.pages.meta`) are the same on every
page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from pipeline.results import SpeakerRef

# The archive's pages' style sheet; pages add their own rules to it. Korean keeps its
# words whole when a line wraps (keep-all), and a long word or link still wraps rather
# than pushing the page sideways on a phone.
STYLE = """
body { font-family: system-ui, "Apple SD Gothic Neo", "Malgun Gothic", sans-serif;
       line-height: 1.6; max-width: 60rem; margin: 0 auto; padding: 1rem; color: #1a1a1a;
       word-break: keep-all; overflow-wrap: anywhere; }
a { color: #0b57d0; }
:focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px;
                 box-shadow: 0 0 0 5px #fff; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd;
         vertical-align: top; }
video { width: 100%; max-height: 70vh; background: #000; }
.meta { color: #555; }
.transcript { list-style: none; padding: 0; }
.transcript li { margin: .2rem 0; }
.transcript a { font-variant-numeric: tabular-nums; margin-right: .6rem; }
.skip-link { position: absolute; left: -999rem; }
.skip-link:focus { position: static; display: inline-block; margin-bottom: .5rem; }
main:focus { outline: none; }
@media (pointer: coarse) {
  button, select, input[type=search], input[type=text] { min-height: 44px; }
  input[type=checkbox] { width: 1.5rem; height: 1.5rem; }
}
nav ul { list-style: none; padding: 0; display: flex; gap: 1rem; flex-wrap: wrap; }
""".strip()


@dataclass(frozen=True)
class Link:
    """A labelled relative link, e.g. a download on the session page."""

    label: str
    href: str


def clock(seconds: float) -> str:
    """Seconds as `M:SS` or `H:MM:SS`, the way video players show time."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def seek_fragment(seconds: float) -> str:
    """The `#t=` fragment that the session page's script understands."""
    text = f"{max(0.0, seconds):.2f}".rstrip("0").rstrip(".")
    return f"#t={text}"


def speakers_text(speakers: Sequence[SpeakerRef]) -> str:
    """`이름 (소속), 이름` as plain text; callers escape it."""
    return ", ".join(
        f"{s.name} ({s.organisation})" if s.organisation else s.name for s in speakers
    )


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def document(title: str, language: str, body: str, script: str = "",
             head: str = "", style: str = "") -> str:
    """A whole page: `head` is extra markup for <head> (meta tags), `script` an inline
    script run at the end of the body, `style` the page's own rules after `STYLE`."""
    script_tag = f"\n<script>\n{script}\n</script>" if script else ""
    rules = f"{STYLE}\n{style}" if style else STYLE
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(language)}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f"{head}"
        f"<style>\n{rules}\n</style>\n"
        "</head>\n"
        f"<body>\n{with_skip_link(body)}{script_tag}\n</body>\n"
        "</html>\n"
    )


def with_skip_link(body: str) -> str:
    """`body` with a "본문 바로가기" link first, to its `<main>` (KWCAG 2.4.1: a keyboard
    or screen reader user skips the navigation that repeats on every page). A body
    without `<main>` is returned as it is."""
    if "<main>" not in body:
        return body
    return ('<a class="skip-link" href="#main">본문 바로가기</a>\n'
            + body.replace("<main>", '<main id="main" tabindex="-1">', 1))


def embedded_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` in it at all.

    The three only ever occur inside JSON strings, where the \\u escapes read back as
    the same characters.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def page_script_hash(script: str) -> str:
    """The CSP source that allows `script` as `document` writes it (between newlines)."""
    return script_hash(f"\n{script}\n")
