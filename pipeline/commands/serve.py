"""`sort-archive serve`: interface code over `pipeline.web` (check, bind, run uvicorn)."""

from __future__ import annotations

import argparse
import logging
import socket
from pathlib import Path

from pipeline.errors import ExitCode, UsageError

log = logging.getLogger(__name__)
EPILOG = """example:
  sort-archive serve                                   # http://127.0.0.1:8000/
  sort-archive serve --archive build/demo/archive      # a local archive: its links open too
  sort-archive serve --port 8080 --catalogue /srv/sort/catalogue.sqlite

The app listens on this machine only (127.0.0.1) unless --host says otherwise; to share
it, put a reverse proxy in front (README, "The web app").
"""
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_MISSING_HINT = "install the web extra: pip install -e '.[web]'"


def add_parser(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
               common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser(
        "serve", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG, help="the search web app for archivists",
        description="Serve a search page (words, forum, speaker, date; hits open the video "
                    "at their second or the PDF at its page) and a JSON API, /api/search, "
                    "which answers what `sort-archive search --json` prints.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000,
                       help="port to listen on (default 8000; 0 picks a free one)")
    serve.add_argument("--catalogue", type=Path,
                       help="catalogue file (default: $SORT_ARCHIVE_CATALOGUE or "
                            "~/.local/share/sort-archive/catalogue.sqlite)")
    serve.add_argument("--archive", type=Path, metavar="DIR",
                       help="a local archive folder (what storage.local names) to serve at "
                            "/archive/, so hits whose links are file:// open in the browser")
    serve.add_argument("--forwarded-allow-ips", metavar="IPS",
                       help="proxies whose X-Forwarded-For/-Proto headers are trusted, comma "
                            "separated, or * (default 127.0.0.1,::1: a proxy on this machine)")


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is one clear line."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         "choose another --port, or stop what is using it") from None


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from pipeline.web.app import create_app
        from pipeline.web.server import server_config
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("starlette", "uvicorn"):
            raise
        raise UsageError(f"the web app needs {exc.name or 'starlette and uvicorn'}, which is "
                         "not installed", _MISSING_HINT) from None
    from pipeline.catalogue.schema import file_problem

    catalogue = (args.catalogue or args.settings.catalogue).expanduser()
    archive = args.archive.expanduser().resolve() if args.archive else None
    if archive is not None and not archive.is_dir():
        raise UsageError(f"--archive {args.archive}: no such folder",
                         "name the local archive folder (storage.local in the forum config)")
    with _listen(args.host, args.port) as sock:  # first: a port in use says only that
        problem = file_problem(catalogue, missing_ok=True)
        if problem is not None:  # a folder, a pipe, unreadable: searches will say the same
            log.warning("%s: searches will say so until it is fixed", problem.one_line())
        elif not catalogue.exists():
            log.warning("no catalogue at %s yet: searches will say so until `sort-archive "
                        "run` or `sort-archive index --rebuild` writes one", catalogue)
        if args.host not in LOOPBACK:
            log.warning("listening on %s: anyone who can reach this machine can search the "
                        "catalogue (the app has no login); a reverse proxy is the usual way",
                        args.host)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"searching {catalogue} at http://{shown}:{port}/"
              + (f" (archive {archive} at /archive/)" if archive else "") + "; Ctrl-C stops",
              flush=True)
        # The timeouts and limits are pipeline.web.server's (its constants say why).
        config = server_config(create_app(catalogue, archive),
                               log_level="warning" if args.quiet else "info",
                               forwarded_allow_ips=args.forwarded_allow_ips)
        uvicorn.Server(config).run(sockets=[sock])
    return ExitCode.OK


HANDLERS = {"serve": cmd_serve}
