"""What the commands share: the one choice of progress bars or log lines, and the run
report they print."""

from __future__ import annotations

import argparse
import logging
import sys

from pipeline.progress import LogProgress, Progress, RichProgress
from pipeline.stage import RunReport, StageOutcome


def progress(args: argparse.Namespace) -> Progress:
    if args.quiet or not sys.stderr.isatty():
        return LogProgress()
    progress = RichProgress()
    # Log lines must go through the same console as the bars, or they tear the bars apart.
    from rich.logging import RichHandler

    root = logging.getLogger()
    root.handlers = [RichHandler(console=progress.console, show_path=False, show_time=False)]
    return progress


def print_report(report: RunReport, *, dry_run: bool) -> None:
    title = "plan (dry run, nothing changed)" if dry_run else "done"
    print(f"{report.forum_id}: {title}")
    for outcome in report.outcomes:
        detail = f": {outcome.detail}" if outcome.detail else ""
        print(f"  {outcome.stage:<11} {outcome.action}{_took(outcome, report)}{detail}")
    if not dry_run:
        print(f"  transcribed {report.transcribed} session(s), uploaded {report.uploaded} "
              "object(s)")
        print(f"  work folder: {report.work_dir}")
        if report.archive_url:
            print(f"  archive:     {report.archive_url}")
        if report.catalogue:
            print(f"  catalogue:   {report.catalogue}")
        for line in report.reviews:
            print(f"  review:      {line}")
        for warning in report.warnings:
            print(f"  check:       {warning}")


def _took(outcome: StageOutcome, report: RunReport) -> str:
    """' in 41.2 s (x20.4 real time)': a stage's time, and how it compares with the
    recording's length (the sessions' total), where both are known."""
    if outcome.seconds is None:
        return ""
    took = f" in {outcome.seconds:.1f} s"
    if report.media_seconds > 0 and outcome.seconds > 0:
        took += f" (x{report.media_seconds / outcome.seconds:.1f} real time)"
    return took
