"""`sort-archive review CONFIG`: the caption editor on this machine (`pipeline.web.review`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import secrets
import socket
from functools import partial
from pathlib import Path

from pipeline import faults
from pipeline.errors import ExitCode, UsageError

log = logging.getLogger(__name__)
EPILOG = """example:
  sort-archive review config/forums/2021-07-02-sort-1.yaml
  sort-archive review config/forums/demo.yaml --port 8765 --work-dir build/demo/work

It prints one address with a secret token after '#': open it in a browser on this
machine. Each saved cue is written to the session's {slug}.review.json in the work
folder at once (its history beside it); the next `sort-archive run` publishes them.
"""
_MISSING_HINT = "install the web extra: pip install -e '.[web]'"


def add_parser(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
               common: argparse.ArgumentParser) -> None:
    review = commands.add_parser(
        "review", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG, help="correct a forum's captions in the browser",
        description="Open the caption editor for one forum's transcribed sessions: the "
                    "video beside its cues, low-confidence cues marked, every correction "
                    "saved at once to the work folder with its history.")
    review.add_argument("config", type=Path, help="forum config file (.yaml)")
    review.add_argument("--work-dir", type=Path,
                        help="work folder root (default $SORT_ARCHIVE_WORK_DIR or ./work)")
    review.add_argument("--port", type=int, default=0,
                        help="port on 127.0.0.1 to listen on (default: a free one)")
    review.add_argument("--no-align", action="store_true",
                        help="do not time an edited cue's words again with Whisper (they "
                             "are spread evenly over the cue instead)")


def _listen(port: int) -> socket.socket:
    try:
        return socket.create_server(("127.0.0.1", port))
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
                         "choose another --port, or leave it out for a free one") from None


def cmd_review(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from pipeline.web.review import create_review_app
        from pipeline.web.review_align import Realigner, whisper_aligner
        from pipeline.web.review_work import Workspace
        from pipeline.web.server import server_config
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("starlette", "uvicorn"):
            raise
        raise UsageError(f"the caption editor needs {exc.name or 'starlette and uvicorn'}, "
                         "which is not installed", _MISSING_HINT) from None
    from pipeline.asr.engines import whisper_settings
    from pipeline.config.loader import load_config

    settings = args.settings
    config = load_config(args.config, materials_root=settings.materials_root)
    work_dir = ((args.work_dir or settings.work_root) / config.forum.id).resolve()
    workspace = Workspace(work_dir)
    if not workspace.sessions():
        raise UsageError(f"no transcribed session in {work_dir}",
                         f"run `sort-archive run {args.config}` first (or give --work-dir)")
    # The forum's model, on the CPU with faster-whisper: one cue at a time (review_align).
    whisper = whisper_settings(config.forum.whisper, config, settings,
                               engine="faster-whisper", device="cpu")
    realigner = Realigner(None if args.no_align else partial(whisper_aligner, whisper),
                          workspace.store_aligned)
    token = secrets.token_urlsafe(32)
    app = create_review_app(workspace, token, forum_title=config.forum.title,
                            realigner=realigner)
    with _listen(args.port) as sock:
        port = sock.getsockname()[1]
        print(f"reviewing {config.forum.id} ({work_dir}); open this address, Ctrl-C stops:\n"
              f"http://127.0.0.1:{port}/#token={token}", flush=True)
        config_ = server_config(app, log_level="warning" if args.quiet else "info",
                                forwarded_allow_ips=None)
        config_.proxy_headers = False  # nothing is in front: the client is who connects
        # uvicorn stops cleanly on Ctrl-C, then passes the signal on: it ends here.
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config_).run(sockets=[sock])
    faults.forget_interrupt()  # Ctrl-C is how the editor is closed: not a failure
    print("stopped; every saved cue is in the work folder", flush=True)
    return ExitCode.OK


HANDLERS = {"review": cmd_review}
