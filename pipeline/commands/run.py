"""What each `sort-archive` command does: call the core, print the result.

Interface code: the only module besides `cli` that prints. Imports of the
heavy stages happen here, so `sort-archive --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.archive.materials import forum_materials
from pipeline.asr.engines import whisper_settings
from pipeline.commands.display import print_report, progress
from pipeline.config.forum import ForumConfig, format_time
from pipeline.config.loader import load_config
from pipeline.errors import ExitCode, UsageError
from pipeline.executors.serial import Executor, SerialExecutor
from pipeline.progress import LogProgress
from pipeline.settings import Settings
from pipeline.stage import RunOptions


def cmd_validate(args: argparse.Namespace) -> int:
    config = load_config(args.config, materials_root=args.settings.materials_root)
    whisper_settings(config.forum.whisper, config, args.settings)  # a known engine
    forum_materials(config, require=True)  # each file there, inside its root
    from pipeline.review.corrections import forum_corrections

    forum_corrections(config)  # a corrections_file: there, inside the config's folder
    forum = config.forum
    print(f"{args.config}: ok: {forum.id}, {len(forum.sessions)} session(s), "
          f"{len(forum.materials)} material(s)")
    for plan in config.session_plans():
        print(f"  {plan.slug:<28} {format_time(plan.start)} - {format_time(plan.end)}  "
              f"{plan.title}")
    if forum.sessions and not config.fully_timed():
        for number, session in enumerate(forum.sessions, start=1):
            print(f"  {number:02d}-{session.id:<25} (times to find)  {session.title}")
        print("  run `sort-archive plan CONFIG` to find the missing times")
    return ExitCode.OK


def cmd_run(args: argparse.Namespace) -> int:
    return _run(args, list(args.config))


def cmd_plan(args: argparse.Namespace) -> int:
    """Fetch if needed, then plan: print each session with its source and confidence."""
    import json
    from dataclasses import replace as replace_options

    from pipeline.results import PlanResult
    from pipeline.runner import run_forum

    config = load_config(args.config, materials_root=args.settings.materials_root)
    options = replace_options(_options(args, config, args.settings, None), until_stage="plan")
    report = run_forum(config, options, LogProgress() if args.json else progress(args))
    result = report.results.get("plan")
    assert isinstance(result, PlanResult)
    rows = [{"id": s.plan.id, "title": s.plan.title, "start": s.plan.start, "end": s.plan.end,
             "source": s.source, "confidence": s.confidence} for s in result.sessions]
    if args.json:
        print(json.dumps({"sessions": rows, "gaps": [list(g) for g in result.gaps],
                          "review": list(result.review)}, ensure_ascii=False))
        return ExitCode.OK
    print(f"{config.forum.id}: plan ({result.plan_file})")
    for item in result.sessions:
        print(f"  {item.plan.id:<24} {format_time(item.plan.start)} - "
              f"{format_time(item.plan.end)}  {item.source:<9} {item.confidence:.2f}  "
              f"{item.plan.title}")
    for start, end in result.gaps:
        print(f"  gap                      {format_time(start)} - {format_time(end)}")
    for note in result.notes:
        print(f"  note: {note}")
    for line in result.review:
        print(f"  check: {line}")
    return ExitCode.OK


def _options(args: argparse.Namespace, config: ForumConfig, settings: Settings,
             work_root: Path | None) -> RunOptions:
    return RunOptions(
        work_root=args.work_dir or work_root or settings.work_root,
        from_stage=getattr(args, "from_stage", None),
        only_stage=getattr(args, "only_stage", None),
        force=getattr(args, "force", False),
        dry_run=getattr(args, "dry_run", False),
        whisper=whisper_settings(config.forum.whisper, config, settings,
                                 engine=getattr(args, "engine", None),
                                 model=getattr(args, "model", None),
                                 device=getattr(args, "device", None)),
        catalogue=args.catalogue or settings.catalogue,
        wait_for_lock=getattr(args, "wait", False),
        cut_mode=getattr(args, "cut_mode", None),
        fetch_timeout=settings.fetch_timeout,
        discard_reviews=getattr(args, "discard_reviews", False),
    )


def _confirm_discard(args: argparse.Namespace, options: list[RunOptions],
                     configs: list[ForumConfig]) -> None:
    """`--discard-reviews` drops human work: asked on a terminal (y/N), refused without
    one unless `--yes` says so; `--yes` alone is a mistake."""
    from pipeline.review.reviews import review_summary
    from pipeline.runner import selected_stages

    if not getattr(args, "discard_reviews", False):
        if getattr(args, "yes", False):
            raise UsageError("--yes only confirms --discard-reviews",
                             "leave it out, or add --discard-reviews")
        return
    if options[0].dry_run:
        return  # a dry run moves nothing
    if "transcribe" not in selected_stages(options[0]):
        raise UsageError("--discard-reviews needs the transcribe stage",
                         "run without --only/--from, or with --from transcribe")
    files, cues = review_summary([o.work_root / c.forum.id for o, c in zip(options, configs,
                                                                           strict=True)])
    if not files or args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("--discard-reviews would drop the staff's reviews, and there is no "
                         "terminal to ask", "add --yes to discard them without asking")
    answer = input(f"discard {files} review(s) with {cues} reviewed cue(s)? They are moved "
                   "aside, not deleted, and the sessions transcribed again. [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("the reviews were kept: --discard-reviews was not confirmed",
                         "run without --discard-reviews to use them")


def _executor(args: argparse.Namespace, work_roots: list[Path]) -> Executor:
    if getattr(args, "executor", "serial") != "ray":
        if getattr(args, "ray_address", None):
            raise UsageError("--ray-address needs --executor ray")
        return SerialExecutor()
    from pipeline.executors.ray_cluster import RayExecutor

    return RayExecutor(address=args.ray_address, shared_dirs=work_roots)


def _run(args: argparse.Namespace, config_paths: list[Path],
         work_root: Path | None = None) -> int:
    from pipeline.review.corrections import forum_corrections
    from pipeline.runner import run_forums

    settings: Settings = args.settings
    configs = [load_config(path, materials_root=settings.materials_root)
               for path in config_paths]  # every config is checked first
    for config in configs:  # a material leading outside its root stops the run here
        forum_materials(config, require=False)
        forum_corrections(config)  # and so does a broken corrections_file:
    ids = [config.forum.id for config in configs]
    if len(set(ids)) != len(ids):
        raise UsageError(f"the same forum id is given twice ({', '.join(ids)})",
                         "list each forum config once")
    options = [_options(args, config, settings, work_root) for config in configs]
    _confirm_discard(args, options, configs)
    executor = _executor(args, sorted({o.work_root.resolve() for o in options}))
    try:
        runs = run_forums(configs, options, progress(args), executor,
                          concurrent=executor.name != "serial")
    finally:
        executor.close()
    failed = [run for run in runs if run.error is not None]
    if len(runs) == 1 and failed and failed[0].error is not None:
        raise failed[0].error  # one forum: exactly the one-line error of the single run
    for run in runs:
        if run.report is not None:
            print_report(run.report, dry_run=options[0].dry_run)
    for run in failed:
        assert run.error is not None
        print(f"sort-archive: error: {run.config.forum.id}: {run.error.one_line()}",
              file=sys.stderr)
    return failed[0].error.exit_code if failed and failed[0].error else ExitCode.OK


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import FULL_LAYOUT, SMALL_LAYOUT, build_demo_forum, find_speech_dir

    layout = SMALL_LAYOUT if args.small else FULL_LAYOUT
    demo = build_demo_forum(args.out, layout, progress=progress(args),
                            speech_dir=find_speech_dir(args.settings.speech_dir))
    code = _run(args, [demo.config_path], work_root=args.out / "work")
    print(f"demo forum: {demo.config_path}")
    print("try:  sort-archive search 사회적")
    return code


HANDLERS = {"run": cmd_run, "plan": cmd_plan, "validate": cmd_validate, "demo": cmd_demo}
