"""`sort-archive review`'s server: the caption editor's page, its JSON API and the clips.

    GET  /                                        the editor (no data in it)
    GET  /api/sessions                            the sessions, with their progress
    GET  /api/sessions/{slug}                     one session's cues
    POST /api/sessions/{slug}/cues/{id}/edit      {version, text?, start?, end?}
    POST /api/sessions/{slug}/cues/{id}/review    {version}: reviewed, unchanged
    POST /api/sessions/{slug}/cues/{id}/split     {version, offset, text?}
    POST /api/sessions/{slug}/cues/{id}/merge     {version, next_version}
    GET  /media/{slug}                            the session's clip (byte ranges)

**Who may do what** (`Guard`, before any route):

- Every request must name this server in `Host` (127.0.0.1:PORT or localhost:PORT):
  a page on another site that rebinds its DNS name to 127.0.0.1 sends its own name, and
  gets 400 (DNS rebinding).
- Every `/api/` call needs the token in `X-Review-Token` (compared in constant time),
  reads included: 403 without it. The page gets the token from its address's fragment,
  which a browser never sends, so it is in no log and no Referer. Another site can
  neither read the token nor set the header without a CORS preflight this server never
  answers yes to.
- Every write (any method but GET and HEAD) must also come with `Origin` equal to this
  server's own origin: 403 otherwise, or when it is missing. No cookies are set or read.
- The clips need no token: a `<video>` cannot send a header, and a token in their URL
  would be written to the access log. They are the recordings the archive publishes,
  served on loopback only, to a `Host` that names this server.

**Answers.** A body is JSON of at most `MAX_BODY` bytes (413 beyond); a body that is not
what the route takes is 400, as is an edit that cannot be made (times out of order,
outside the clip, over a neighbour: `BadEdit`, in Korean); an unknown session or cue is
404; a cue saved meanwhile by another tab is 409, with the cue as it is now. Each write
answers only once the change and its history are on disk; the changed cues and the
session's progress come back. A review file that cannot be read is 503 with what to do;
anything else is 500, one line, with the traceback in the server's log only.

Edited cues' words are timed again off the request's path (`review_align.Realigner`).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.errors import PipelineError
from pipeline.review.document import ReviewConflict, ReviewDocument
from pipeline.review.edits import (
    BadEdit,
    Edited,
    UnknownCue,
    edit_cue,
    find,
    mark_reviewed,
    merge_next,
    split_cue,
)
from pipeline.web import review_page
from pipeline.web.review_align import AlignJob, Realigner
from pipeline.web.review_work import ReviewSession, UnknownSession, Workspace, cue_json

log = logging.getLogger("pipeline.review")
TOKEN_HEADER = "x-review-token"
MAX_BODY = 64 * 1024  # a cue's text is at most 2,000 characters
LOCAL_NAMES = ("127.0.0.1", "localhost")
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
PAGE_HEADERS = {"Content-Security-Policy": review_page.PAGE_POLICY,
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store"}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    version: StrictInt = Field(ge=0)


class EditBody(_Body):
    text: str | None = Field(default=None, max_length=4 * 2000)
    start: float | None = Field(default=None, ge=0, le=1e6)
    end: float | None = Field(default=None, ge=0, le=1e6)


class SplitBody(_Body):
    offset: StrictInt = Field(ge=0, le=10_000)
    text: str | None = Field(default=None, max_length=4 * 2000)


class MergeBody(_Body):
    next_version: StrictInt = Field(ge=0)


class TooLarge(PipelineError):
    """A request body over `MAX_BODY`."""


def json_error(message: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split()), **extra}, status_code=status,
                        headers=API_HEADERS)


class Guard:
    """The checks every request passes first: Host, the token, Origin (module docstring)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        log.warning("refused %s %s: %s", scope["method"], scope["path"], refusal[1])
        await json_error(refusal[1], refusal[0])(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {key.decode("latin-1"): value.decode("latin-1")
                   for key, value in scope["headers"]}
        server = scope.get("server") or ("", 0)
        allowed = {f"{name}:{server[1]}" for name in LOCAL_NAMES}
        host = headers.get("host", "")
        if host not in allowed:
            return 400, "this server answers only to 127.0.0.1 or localhost with its port"
        if scope["path"].startswith("/api/"):
            given = headers.get(TOKEN_HEADER, "").encode("utf-8", "replace")
            if not secrets.compare_digest(given, self.token):
                return 403, "missing or wrong token: open the address the command printed"
        if scope["method"] not in ("GET", "HEAD") and headers.get("origin") != f"http://{host}":
            return 403, "a change must come from the editor's own page (Origin)"
        return None


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge(f"the request body is over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge(f"the request body is over {MAX_BODY} bytes")
    return bytes(body)


def create_review_app(workspace: Workspace, token: str, *, forum_title: str,
                      realigner: Realigner | None = None) -> ASGIApp:
    """The editor over `workspace`'s sessions; writes need `token` (module docstring)."""
    api = _Api(workspace, realigner or Realigner(None, lambda job, words: None),
               review_page.render(forum_title))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(_queue_provisional, workspace, api.aligner)
        yield
        await run_in_threadpool(api.aligner.close)

    routes = [
        Route("/", api.editor),
        Route("/api/sessions", api.sessions),
        Route("/api/sessions/{slug}", api.one_session),
        Route("/api/sessions/{slug}/cues/{cue}/{action:str}", _only_actions(api.write),
              methods=["POST"]),
        Route("/media/{slug}", api.media),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        Exception: _internal_error, PipelineError: _pipeline_error, OSError: _storage_error,
        ValidationError: _bad_body})
    return Guard(app, token)


class _Api:
    """The routes' endpoints over one workspace."""

    def __init__(self, workspace: Workspace, aligner: Realigner, page: str) -> None:
        self.workspace = workspace
        self.aligner = aligner
        self.page = page

    def editor(self, request: Request) -> Response:
        return HTMLResponse(self.page, headers=PAGE_HEADERS)

    def sessions(self, request: Request) -> Response:
        rows = []
        for session in self.workspace.sessions():
            document = self.workspace.document(session)
            reviewed, total = document.progress
            rows.append({"slug": session.slug, "title": session.title, "reviewed": reviewed,
                         "total": total, "flagged": sum(cue.flagged and not cue.reviewed
                                                        for cue in document.cues)})
        return JSONResponse({"sessions": rows}, headers=API_HEADERS)

    def one_session(self, request: Request) -> Response:
        session = self.workspace.session(request.path_params["slug"])
        document = self.workspace.document(session)
        return JSONResponse({"slug": session.slug, "title": session.title,
                             "duration": session.duration, "clip": session.clip is not None,
                             "cues": [cue_json(cue) for cue in document.cues],
                             "progress": list(document.progress)}, headers=API_HEADERS)

    def media(self, request: Request) -> Response:
        clip = self.workspace.session(request.path_params["slug"]).clip
        if clip is None:
            return json_error("this session has no clip in the work folder", 404)
        return FileResponse(clip, media_type="video/mp4",
                            headers={"X-Content-Type-Options": "nosniff",
                                     "Cache-Control": "no-cache"})

    async def write(self, request: Request) -> Response:
        params = request.path_params
        body = await read_body(request)
        session = await run_in_threadpool(self.workspace.session, params["slug"])
        operation = _operation(session, params["action"], params["cue"], body)
        try:
            edited = await run_in_threadpool(self.workspace.apply, session, operation)
        except ReviewConflict as exc:
            document = await run_in_threadpool(self.workspace.document, session)
            try:
                now = cue_json(find(document, params["cue"])[1])
            except UnknownCue:
                now = None
            return json_error(exc.message, 409, cue=now)
        for cue in edited.to_align:
            self.aligner.submit(AlignJob(session.slug, cue, session.clip, session.language))
        return JSONResponse({"cues": [cue_json(cue) for cue in edited.changed],
                             "removed": list(edited.removed),
                             "progress": list(edited.document.progress)}, headers=API_HEADERS)


def _operation(session: ReviewSession, action: str, cue_id: str, body: bytes
               ) -> Callable[[ReviewDocument], Edited]:
    """The change a write's `action` and JSON `body` ask for (ValidationError: 400)."""
    if action == "edit":
        edit = EditBody.model_validate_json(body)
        return lambda doc: edit_cue(doc, cue_id, edit.version, text=edit.text,
                                    start=edit.start, end=edit.end, duration=session.duration)
    if action == "review":
        seen = _Body.model_validate_json(body)
        return lambda doc: mark_reviewed(doc, cue_id, seen.version)
    if action == "split":
        cut = SplitBody.model_validate_json(body)
        return lambda doc: split_cue(doc, cue_id, cut.version, cut.offset, text=cut.text)
    joined = MergeBody.model_validate_json(body)
    return lambda doc: merge_next(doc, cue_id, joined.version, joined.next_version)


def _only_actions(endpoint: Callable[[Request], Awaitable[Response]]
                  ) -> Callable[[Request], Awaitable[Response]]:
    async def checked(request: Request) -> Response:
        if request.path_params["action"] not in ("edit", "review", "split", "merge"):
            return json_error("no such change: edit, review, split or merge", 404)
        return await endpoint(request)
    return checked


def _queue_provisional(workspace: Workspace, aligner: Realigner) -> None:
    """Cues whose words an earlier server left spread evenly (stopped before it timed
    them): queued again."""
    if not aligner.enabled:
        return
    for session in workspace.sessions():
        if session.review.exists():
            for cue in workspace.document(session).cues:
                if cue.words_provisional and cue.text:
                    aligner.submit(AlignJob(session.slug, cue, session.clip, session.language))


async def _pipeline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PipelineError)
    for kind, status in ((UnknownSession, 404), (UnknownCue, 404), (BadEdit, 400),
                         (TooLarge, 413), (ReviewConflict, 409)):
        if isinstance(exc, kind):
            return json_error(exc.message, status)
    log.warning("cannot answer %s: %s", request.url.path, exc.one_line())
    return json_error(exc.one_line(), 503)  # a damaged review file: what to do, too


async def _storage_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OSError)
    log.warning("cannot answer %s: %s", request.url.path, exc)
    return json_error(f"the work folder cannot be read or written ({exc.strerror or exc}); "
                      "nothing was saved: free space or fix permissions, then save again", 503)


async def _bad_body(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    return json_error(f"{where}: {first['msg']}", 400)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s", request.url.path, exc_info=exc)
    return json_error(f"internal error ({type(exc).__name__}); the server's log has the "
                      "details, please report it", 500)
