"""What each `sort-archive` command does: call the core, print the result.

Interface code: the only module besides `cli` that prints. Imports of the
heavy stages happen here, so `sort-archive --help` stays instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline.config import format_time, load_config
from pipeline.errors import ExitCode
from pipeline.progress import LogProgress, Progress, RichProgress


def dispatch(args: argparse.Namespace) -> int:
    handlers = {"run": cmd_run, "validate": cmd_validate, "search": cmd_search, "demo": cmd_demo}
    return handlers[args.command](args)


def _progress(args: argparse.Namespace) -> Progress:
    if args.quiet or not sys.stderr.isatty():
        return LogProgress()
    progress = RichProgress()
    # Log lines must go through the same console as the bars, or they tear the bars apart.
    from rich.logging import RichHandler

    root = logging.getLogger()
    root.handlers = [RichHandler(console=progress.console, show_path=False, show_time=False)]
    return progress


def cmd_validate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    forum = config.forum
    print(f"{args.config}: ok: {forum.id}, {len(forum.sessions)} session(s), "
          f"{len(forum.materials)} material(s)")
    for plan in config.session_plans():
        print(f"  {plan.slug:<28} {format_time(plan.start)} - {format_time(plan.end)}  "
              f"{plan.title}")
    return ExitCode.OK


def cmd_run(args: argparse.Namespace) -> int:
    return _run(args, args.config)


def _run(args: argparse.Namespace, config_path: Path, work_root: Path | None = None) -> int:
    from pipeline.runner import RunOptions, default_work_root, run_forum
    from pipeline.stages.transcribe import WhisperSettings

    config = load_config(config_path)
    whisper = config.forum.whisper
    model_dir = config.resolve(whisper.model_dir) if whisper.model_dir else None
    options = RunOptions(
        work_root=args.work_dir or work_root or default_work_root(),
        from_stage=getattr(args, "from_stage", None),
        only_stage=getattr(args, "only_stage", None),
        force=getattr(args, "force", False),
        dry_run=getattr(args, "dry_run", False),
        whisper=WhisperSettings(model=args.model or whisper.model, model_dir=model_dir,
                                compute_type=whisper.compute_type,
                                beam_size=whisper.beam_size),
        catalogue=args.catalogue,
    )
    report = run_forum(config, options, _progress(args))
    title = "plan (dry run, nothing changed)" if options.dry_run else "done"
    print(f"{config.forum.id}: {title}")
    for outcome in report.outcomes:
        detail = f": {outcome.detail}" if outcome.detail else ""
        print(f"  {outcome.stage:<11} {outcome.action}{detail}")
    if not options.dry_run:
        print(f"  transcribed {report.transcribed} session(s), uploaded {report.uploaded} "
              "object(s)")
        print(f"  work folder: {report.work_dir}")
        if report.archive_url:
            print(f"  archive:     {report.archive_url}")
        if report.catalogue:
            print(f"  catalogue:   {report.catalogue}")
    return ExitCode.OK


def cmd_search(args: argparse.Namespace) -> int:
    from pipeline.stages.index import default_catalogue_path, search

    catalogue = args.catalogue or default_catalogue_path()
    hits = search(catalogue, args.query, limit=args.limit, forum_id=args.forum)
    if not hits:
        print(f"no transcript matches '{args.query}'")
        return ExitCode.OK
    for hit in hits:
        print(f"{hit.forum_id}  {hit.session_slug}  [{format_time(hit.start).split('.')[0]}]  "
              f"{hit.snippet}")
        if hit.open_url:
            print(f"    {hit.open_url}")
    return ExitCode.OK


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import FULL_LAYOUT, SMALL_LAYOUT, build_demo_forum

    progress = _progress(args)
    layout = SMALL_LAYOUT if args.small else FULL_LAYOUT
    demo = build_demo_forum(args.out, layout, progress=progress)
    code = _run(args, demo.config_path, work_root=args.out / "work")
    print(f"demo forum: {demo.config_path}")
    print("try:  sort-archive search 사회적")
    return code
