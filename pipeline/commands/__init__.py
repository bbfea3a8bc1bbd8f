"""What each `sort-archive` command does: parse its arguments, call the core, print.

The only modules the CLI calls. `run` (run, plan, validate, demo), `search` (search,
index), `asr` (transcribe, models), `verify`, `serve`, `review` and `corrections`;
`display` is what they share: the one choice of progress bars or log lines, and the run
report. Each module names its handlers in `HANDLERS`; the modules are imported when a
command runs, so that `sort-archive --help` stays instant.
"""

from __future__ import annotations

import argparse


def dispatch(args: argparse.Namespace) -> int:
    from pipeline.commands import asr, corrections, review, run, search, serve, verify

    handlers = {**run.HANDLERS, **search.HANDLERS, **asr.HANDLERS, **verify.HANDLERS,
                **serve.HANDLERS, **review.HANDLERS, **corrections.HANDLERS}
    return handlers[args.command](args)
