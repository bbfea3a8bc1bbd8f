"""The web app's search page: plain HTML made on the server, with no script at all.

Every value from the catalogue (titles, names, transcript text, links) is
escaped here; a snippet's `[ ]` markers become <mark> around escaped text. The
page works without JavaScript, and the app sends it with a Content-Security-Policy
that runs none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

from pipeline.archive.pages.document import STYLE, clock
from pipeline.catalogue import Facets, SearchHit, SearchQuery, SearchResults
from pipeline.catalogue.search import MAX_LIMIT
from pipeline.web.query import Form

_EXTRA_CSS = """
form.search { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
              gap: .5rem 1rem; align-items: end; }
form.search label { display: flex; flex-direction: column; font-size: .9rem; }
form.search .words { grid-column: 1 / -1; }
input, select, button { font-size: 1rem; padding: .3rem .4rem; }
.hits li { margin: .9rem 0; }
.hits p { margin: .15rem 0; }
mark { background: #fff3a3; padding: 0 .1em; }
.error { border-left: 4px solid #b3261e; padding: .4rem .8rem; background: #fdecea; }
.pages { display: flex; gap: 1.5rem; }
""".strip()

_MARKED = re.compile(r"\[([^\[\]]*)\]")
Linker = Callable[[str | None], str | None]  # a hit's url -> an href for the browser, or None


def snippet_html(snippet: str) -> str:
    """The API's snippet with its `[ ]` markers as <mark>, everything else escaped.

    A bracket pair that the text itself contains (`[박수]`) is marked too: the
    snippet is plain text and cannot tell the two apart.
    """
    out, cursor = [], 0
    for match in _MARKED.finditer(snippet):
        out += [escape(snippet[cursor:match.start()]), f"<mark>{escape(match[1])}</mark>"]
        cursor = match.end()
    out.append(escape(snippet[cursor:]))
    return "".join(out)


def _hit(hit: SearchHit, link: Linker) -> str:
    if hit.kind == "material":
        label = f"{hit.material} · p. {hit.page}"
        about = [hit.forum_date, hit.forum_title]
    else:
        label = f"[{clock(hit.start or 0.0)}] {hit.session_title or hit.session_slug or ''}"
        about = [hit.forum_date, hit.forum_title, hit.speaker or ""]
    href = link(hit.url)
    title = (f'<a href="{escape(href)}">{escape(label)}</a>' if href
             else f"{escape(label)} <span class=\"meta\">({escape(hit.url or '링크 없음')})</span>")
    meta = " · ".join(escape(part) for part in about if part)
    return (f'<li>{title}\n<p class="snippet">{snippet_html(hit.snippet)}</p>\n'
            f'<p class="meta">{meta}</p></li>')


def _options(values: list[tuple[str, str]], chosen: str) -> str:
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
        f"{escape(label)}</option>"
        for value, label in values
    )


def _form(form: Form, facets: Facets | None) -> str:
    forums = [("", "모든 포럼")] + [(f.id, f"{f.date} {f.title}") for f in
                                  (facets.forums if facets else [])]
    speakers = "".join(f'<option value="{escape(name)}">'
                       for name in (facets.speakers if facets else []))
    return (
        '<form class="search" role="search" method="get" action="">\n'
        '<label class="words">검색어 <input type="search" name="q" '
        f'value="{escape(form.q)}" autofocus maxlength="200"></label>\n'
        f'<label>포럼 <select name="forum">{_options(forums, form.forum)}</select></label>\n'
        '<label>발표자 <input name="speaker" list="speakers" '
        f'value="{escape(form.speaker)}"></label>\n'
        f'<datalist id="speakers">{speakers}</datalist>\n'
        '<label>이후 (개최일) <input type="date" name="since" '
        f'value="{escape(form.since)}"></label>\n'
        f'<label>쪽당 결과 <input type="number" name="limit" min="1" max="{MAX_LIMIT}" '
        f'value="{escape(form.limit or "20")}"></label>\n'
        '<button type="submit">검색</button>\n</form>'
    )


def _results(form: Form, query: SearchQuery, results: SearchResults, link: Linker) -> str:
    offset, limit = query.offset, query.limit
    if not results.hits:
        return (f"<p role=\"status\">'{escape(results.query)}'에 맞는 결과가 없습니다.</p>"
                if offset == 0 else '<p role="status">더 이상 결과가 없습니다.</p>')
    first = offset + 1
    status = f'<p role="status">{first}–{offset + len(results.hits)}번째 결과</p>'
    hits = "\n".join(_hit(hit, link) for hit in results.hits)
    nav = []
    if offset > 0:
        nav.append(f'<a href="{escape(form.with_offset(max(0, offset - limit)))}" '
                   'rel="prev">이전</a>')
    if results.more:
        nav.append(f'<a href="{escape(form.with_offset(offset + limit))}" rel="next">다음</a>')
    pager = f'<nav class="pages" aria-label="결과 쪽">{"".join(nav)}</nav>' if nav else ""
    return f'{status}\n<ol class="hits" start="{first}">\n{hits}\n</ol>\n{pager}'


def render(form: Form, *, facets: Facets | None = None, query: SearchQuery | None = None,
           results: SearchResults | None = None, error: str | None = None,
           link: Linker = lambda url: None) -> str:
    """The whole page: the form (filled in again), then an error, the hits, or nothing."""
    if error:
        main = f'<p class="error" role="alert">{escape(error)}</p>'
    elif query is not None and results is not None:
        main = _results(form, query, results, link)
    else:
        main = ""
    title = f"{form.q} - 포럼 기록 검색" if form.q else "포럼 기록 검색"
    return (
        "<!doctype html>\n<html lang=\"ko\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>\n{STYLE}\n{_EXTRA_CSS}\n</style>\n</head>\n"
        "<body>\n<header><h1>포럼 기록 검색</h1>\n<p class=\"meta\">녹취록과 자료집을 찾습니다. "
        "결과를 누르면 그 시각의 영상이나 그 쪽의 자료가 열립니다.</p></header>\n"
        f"<main>\n{_form(form, facets)}\n{main}\n</main>\n</body>\n</html>\n"
    )
