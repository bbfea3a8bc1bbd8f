"""The Starlette application: the search page, the JSON API and, optionally, the archive.

    GET /                    the search page (form, hits, paging), HTML without script
    GET /api/search?q=...    exactly what `sort-archive search --json` prints
    GET /archive/...         a local archive folder, when one is given

Searches run in threads, at most `SEARCHES_AT_ONCE` at a time (the others wait
their turn, first come first served): the catalogue is SQLite read through the
standard library, and Kiwi is shared behind its own lock. Answers:

- 200, with the hits (or, for the page, the empty form);
- 400 for a query string that cannot be searched (a bad date, a limit out of
  range), with the one-line reason, as the page or as `{"error": ...}`;
- 503 when the catalogue cannot be read (missing, newer, damaged), with the
  catalogue's own one-line message and what to do, less its path (below);
- 500 for anything else: one line, and the traceback in the server's log only.

No answer names a path on the server: the catalogue's messages say "the
catalogue" where they named its file (`policy.public_message`; the server's log
keeps the whole message), and the archive's 404s are Starlette's "Not Found".

The archive's files (`policy.archive_headers`) all come with `nosniff`, so a
browser takes each for its Content-Type alone, and with a Content-Security-Policy
chosen by where the file is, never by its name (a material may be called
index.html, but it lives under {forum}/materials/):

- Our viewer pages, where publish writes them ({forum}/index.html, search.html,
  sessions/{slug}/index.html): `default-src 'none'` and only what each needs:
  inline style, its own inline script by its sha256 (this version's: a page
  published by a version with another script loses seeking until published
  again), a session's video, poster and subtitles from 'self'; and a sandbox.
  The forum page (no script) and search.html (no fetches) run in an opaque
  origin. A session page cannot: a <track> without `crossorigin` loads only from
  the page's own origin (Chromium refuses it otherwise), so its sandbox is
  `allow-scripts allow-same-origin`, and the hash is what keeps any other script
  from running. The forum and session pages may start downloads (materials.zip,
  the files), which a sandbox forbids without `allow-downloads`. A file that
  publish did not write but that sits in one of these places gets no more: no
  script but ours runs there.
- The series home page at the archive's root (index.html) runs its script (by hash)
  with `connect-src 'self'`, to fetch the forums' search-index.json when a search
  runs, and `img-src 'self'` for the posters; its sandbox keeps the origin, as a
  fetch from an opaque origin would fail. The root's feed.xml and sitemap.xml are
  ours, so they are shown as XML (Atom's and XML's types) under the strict policy
  below rather than saved; each {forum}/search-index.json is JSON.
- Everything else (materials, clips, transcripts, a file staff put there):
  `default-src 'none'; sandbox`, shown but never run (Chromium's PDF viewer still
  shows a PDF). HTML, SVG and XML ones are also `Content-Disposition:
  attachment`: a published material is the forum's, not ours, and a browser saves
  it instead of opening it on the app's origin. Video and audio get `media-src
  'self'; sandbox allow-same-origin` instead: the browser's own player page fetches
  the file again as media, which fails from an opaque origin (a video runs no
  script, and nosniff keeps it a video).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from pipeline.catalogue import Facets, facets, search
from pipeline.catalogue.analyzer import default_analyzer
from pipeline.errors import PipelineError
from pipeline.storage.backend import content_type
from pipeline.transcripts.registry import content_type_of
from pipeline.web import page
from pipeline.web.policy import (
    NOSNIFF,
    STRICT_POLICY,
    archive_headers,
    archive_type,
    public_message,
)
from pipeline.web.query import ARCHIVE_PATH, BadRequest, Form, browser_link, search_query

log = logging.getLogger(__name__)

# The page runs no script and loads nothing: only its own inline style and form.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
UNAVAILABLE = 503
# Searches running at once, in threads; the rest queue for a turn. SQLite reads in
# parallel, but the Python around a search holds the GIL and Kiwi its lock: with more
# searches at once than cores, each is slowed by all the others, and a slow one falls
# behind requests that came after it. Measured at 1,000 hours on 2 cores, 20 clients
# that never pause (scripts/bench/serve.py, docs/benchmarks.md): Starlette's pool of 40
# threads, p95 370 ms and 103 requests a second; 2 at a time, p95 207 ms and 121.
SEARCHES_AT_ONCE = os.cpu_count() or 1


class ArchiveFiles(StaticFiles):
    """The archive folder as storage serves it: the same Content-Types as publish sets
    (text/vtt for subtitles, which Python's mimetypes does not know), byte ranges; and
    the headers of `policy.archive_headers` on every answer, a 404 or a 304 too."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:  # 404, 405: Starlette's plain text, as strict as a file
            response = PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)
        if "content-security-policy" not in response.headers:
            response.headers.update({"Content-Security-Policy": STRICT_POLICY, **NOSNIFF})
        return response

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        name = str(full_path)
        relative = self._relative(name)
        media_type = archive_type(relative, content_type_of(name) or content_type(name))
        if response.status_code == 200:  # not a 304, which has no body to describe
            response.headers["content-type"] = media_type
        response.headers.update(archive_headers(relative, media_type))
        return response

    def _relative(self, full_path: str) -> str:
        """Where the file really is (StaticFiles resolved any link) inside the archive."""
        root = os.path.realpath(str(self.directory))
        return Path(os.path.relpath(full_path, root)).as_posix()


def create_app(catalogue: Path, archive: Path | None = None, *,
               searches_at_once: int = SEARCHES_AT_ONCE) -> Starlette:
    """The web app over `catalogue`; `archive`, a local archive folder, is served under
    /archive/ and the hits that are file:// links into it link there instead."""
    turns = anyio.CapacityLimiter(searches_at_once)

    def link(url: str | None) -> str | None:
        return browser_link(url, archive)

    def unavailable(exc: PipelineError) -> str:
        """The catalogue's one line for a web client; the whole of it for the log."""
        log.warning("cannot search: %s", exc.one_line())
        return public_message(exc.one_line(), catalogue)

    def search_page(request: Request) -> Response:
        form = Form.of(request.query_params)
        known: Facets | None = None
        try:
            known = facets(catalogue)
            query = search_query(form)
            results = search(catalogue, query) if query is not None else None
        except BadRequest as exc:
            return _page_response(page.render(form, facets=known, error=str(exc)), 400)
        except PipelineError as exc:
            return _page_response(page.render(form, facets=known, error=unavailable(exc)),
                                  UNAVAILABLE)
        return _page_response(page.render(form, facets=known, query=query, results=results,
                                          link=link))

    def api_search(request: Request) -> Response:
        form = Form.of(request.query_params)
        try:
            query = search_query(form)
            if query is None:
                raise BadRequest("give the words to find: /api/search?q=...")
            results = search(catalogue, query)
        except BadRequest as exc:
            return _api_error(str(exc), 400)
        except PipelineError as exc:
            return _api_error(unavailable(exc), UNAVAILABLE)
        headers = dict(API_HEADERS)
        if results.more:  # the JSON is the CLI's, so the next page is told in a header
            headers["Link"] = f'<{form.with_offset(query.offset + query.limit)}>; rel="next"'
        return Response(results.json_text(), media_type="application/json",
                        headers=headers)

    routes: list[Route | Mount] = [Route("/", _in_turn(search_page, turns)),
                                   Route("/api/search", _in_turn(api_search, turns))]
    if archive is not None:
        routes.append(Mount(f"/{ARCHIVE_PATH}", ArchiveFiles(directory=archive),
                            name="archive"))
    return Starlette(routes=routes, lifespan=_lifespan,
                     exception_handlers={Exception: _internal_error})


def _in_turn(handler: Callable[[Request], Response], turns: anyio.CapacityLimiter
             ) -> Callable[[Request], Awaitable[Response]]:
    """`handler` run in a thread once one of the `turns` is free."""
    async def endpoint(request: Request) -> Response:
        return await anyio.to_thread.run_sync(handler, request, limiter=turns)
    return endpoint


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    default_analyzer()  # load Kiwi's model now, not during the first search
    yield


def _page_response(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _api_error(message: str, status: int) -> Response:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status,
                        headers=API_HEADERS)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s", request.url.path, exc_info=exc)
    message = (f"internal error ({type(exc).__name__}); the server's log has the details, "
               "please report it")
    if request.url.path.startswith("/api/"):
        return _api_error(message, 500)
    return HTMLResponse(page.render(Form(), error=message), status_code=500,
                        headers=PAGE_HEADERS)
