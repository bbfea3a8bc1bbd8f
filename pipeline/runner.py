"""The runner: the one place that knows the stage order.

`PIPELINE` lists the declared stages (see `pipeline.stage`); `--from`,
`--only` and `--dry-run` are plain operations on that list. A stage whose
fingerprint has not changed and whose recorded outputs still exist with their
checksums is skipped and its stored result reused, so a second run of the same
command does no work.

A session that fails in split or transcribe does not stop the others: the run
goes on with the rest and ends with `PartialFailure` listing what failed.
Only the driver (this process) writes a forum's manifest and the catalogue;
per-session work runs wherever the executor sends it.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.asr.decoding import WhisperSettings
from pipeline.config.forum import ForumConfig
from pipeline.errors import DiskFullError, PartialFailure, PipelineError, UsageError
from pipeline.executors.serial import Executor, SerialExecutor
from pipeline.faults import stop_if_interrupted
from pipeline.manifest import Manifest, fingerprint, forum_lock
from pipeline.progress import Progress
from pipeline.results import PlanResult
from pipeline.settings import Settings
from pipeline.stage import (
    RunContext,
    RunOptions,
    RunReport,
    SessionStream,
    Stage,
    StageOutcome,
)
from pipeline.stages import fetch, index, plan, publish, split, transcribe

PIPELINE: tuple[Stage[Any], ...] = (
    fetch.FetchStage(),
    plan.PlanStage(),
    split.SplitStage(),
    transcribe.TranscribeStage(),
    publish.PublishStage(),
    index.IndexStage(),
)
STAGES = tuple(stage.name for stage in PIPELINE)

__all__ = ["PIPELINE", "STAGES", "RunOptions", "RunReport", "StageOutcome", "WhisperSettings",
           "run_forum", "run_forums", "selected_stages"]


@dataclass(frozen=True)
class Selection:
    """Which stages a run restores from the manifest and which it runs."""

    restored: list[Stage[Any]]  # earlier stages: their stored results must be up to date
    chosen: list[Stage[Any]]


def select(stages: Sequence[Stage[Any]], options: RunOptions) -> Selection:
    names = [stage.name for stage in stages]
    for name in (options.from_stage, options.only_stage, options.until_stage):
        if name is not None and name not in names:
            raise UsageError(f"unknown stage '{name}'", f"choose one of {', '.join(names)}")
    if options.only_stage:
        at = names.index(options.only_stage)
        return Selection(list(stages[:at]), [stages[at]])
    at = names.index(options.from_stage) if options.from_stage else 0
    last = names.index(options.until_stage) + 1 if options.until_stage else len(stages)
    return Selection(list(stages[:at]), list(stages[at:last]))


def selected_stages(options: RunOptions, stages: Sequence[Stage[Any]] = PIPELINE) -> list[str]:
    return [stage.name for stage in select(stages, options).chosen]


def run_forum(config: ForumConfig, options: RunOptions, progress: Progress,
              executor: Executor | None = None,
              stages: Sequence[Stage[Any]] = PIPELINE) -> RunReport:
    """Run the selected stages for one forum; raise PipelineError subclasses on failure."""
    selection = select(stages, options)
    work_dir = (options.work_root / config.forum.id).resolve()
    report = RunReport(forum_id=config.forum.id, work_dir=work_dir)
    try:
        if options.dry_run:  # reads only: no lock, and nothing is created
            _execute(_context(config, options, progress, executor, work_dir, selection),
                     selection, report)
        else:
            with forum_lock(work_dir, wait=options.wait_for_lock):
                _execute(_context(config, options, progress, executor, work_dir, selection),
                         selection, report)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                f"no space left on the device ({exc.filename or work_dir})",
                "free some space and run the same command again; finished work is kept",
            ) from exc
        raise
    if report.failures:
        raise PartialFailure("run", report.failures)
    return report


def _context(config: ForumConfig, options: RunOptions, progress: Progress,
             executor: Executor | None, work_dir: Path, selection: Selection) -> RunContext:
    forced = frozenset(s.name for s in selection.chosen) if options.force else frozenset()
    return RunContext(config=config, options=options, manifest=Manifest(work_dir),
                      progress=progress, executor=executor or SerialExecutor(),
                      catalogue=options.catalogue or Settings().catalogue, forced=forced)


def _execute(ctx: RunContext, selection: Selection, report: RunReport) -> None:
    dry = ctx.options.dry_run
    if not dry:
        for stage in selection.chosen:
            stage.preflight(ctx)  # e.g. a missing bucket must not cost an hour of Whisper
    blocked = False  # dry run only: an earlier stage's result is not there yet
    ordered = [*selection.restored, *selection.chosen]
    overlapped: set[str] = set()  # stages already run beside the one before them
    for position, stage in enumerate(ordered):
        stop_if_interrupted()
        if stage.name in overlapped:
            continue
        chosen = stage in selection.chosen
        if blocked:
            if chosen:
                report.outcomes.append(StageOutcome(stage.name, "would run", stage.describe(ctx)))
            continue
        stored = _stored_result(ctx, stage, chosen)
        if dry:
            blocked = stored is None
            if chosen:
                action = "would run" if blocked or stage.always_run else "would skip (up to date)"
                report.outcomes.append(StageOutcome(stage.name, action, stage.describe(ctx)))
            if stored is not None:
                ctx.put(stored)
        elif not chosen:
            if stored is None:
                raise UsageError(
                    f"stage '{stage.name}' has no up-to-date result for forum "
                    f"{ctx.config.forum.id}",
                    f"run without --only/--from, or with --from {stage.name}")
            ctx.put(stored)
        elif stored is not None and not stage.always_run:
            report.outcomes.append(StageOutcome(stage.name, "skipped (up to date)"))
            ctx.put(stored)
            report.results[stage.name] = stored
            stage.summarise(stored, False, report)
        elif chain := _chain(stage, ordered[position + 1:], selection):
            _run_side_by_side(ctx, chain, report)
            overlapped.update(later.name for later in chain[1:])
        else:
            _run_stage(ctx, stage, report)
    if ctx.has(PlanResult):  # the yardstick for each stage's real-time factor
        report.media_seconds = sum(s.plan.end - s.plan.start for s in ctx.get(PlanResult).sessions)


def _stored_result(ctx: RunContext, stage: Stage[Any], chosen: bool) -> Any | None:
    if chosen and stage.name in ctx.forced:
        return None
    stored = ctx.manifest.fresh_stage_result(stage.name, _key(ctx, stage))
    return None if stored is None else stage.restore(stored)


def _key(ctx: RunContext, stage: Stage[Any]) -> str:
    return fingerprint(stage.name, stage.inputs(ctx))


def _run_stage(ctx: RunContext, stage: Stage[Any], report: RunReport) -> None:
    key = _key(ctx, stage)
    ctx.manifest.forget_stage(stage.name)
    started = time.monotonic()
    result = stage.run(ctx)
    _finish_stage(ctx, stage, result, key, time.monotonic() - started, report)


def _finish_stage(ctx: RunContext, stage: Stage[Any], result: Any, key: str, seconds: float,
                  report: RunReport) -> None:
    if not stage.failures(result):
        ctx.manifest.record_stage(stage.name, key, stage.outputs(result),
                                  result.model_dump(mode="json"))
    ctx.put(result)
    report.results[stage.name] = result
    report.outcomes.append(StageOutcome(stage.name, "ran", seconds=seconds))
    stage.summarise(result, True, report)


def _chain(stage: Stage[Any], later: list[Stage[Any]], selection: Selection
           ) -> list[Stage[Any]]:
    """`stage` and the stages after it that each take the one before's sessions as they
    are finished and are to run too (split, transcribe, publish): run side by side
    (`_run_side_by_side`). Empty when the next stage does not."""
    chain = [stage]
    for following in later:
        if (following not in selection.chosen
                or following.takes_sessions_from is not chain[-1].result_type):
            break
        chain.append(following)
    return chain if len(chain) > 1 else []


def _run_side_by_side(ctx: RunContext, chain: list[Stage[Any]], report: RunReport) -> None:
    """Run every stage of `chain` but the last in a thread of its own and the last here,
    each taking the sessions of the one before as it finishes them (split cuts, transcribe
    starts on the first clip, publish uploads the first session's files), so the run costs
    about the longest of them, not their sum. Each goes through the executor as it would
    alone. A stage's record is keyed, as always, by its inputs, which include the earlier
    stage's result: so it is written only once that stage has finished, and not at all if
    an earlier one failed (finished sessions stay in the item cache: nothing is lost)."""
    streams = [SessionStream() for _stage in chain[:-1]]
    for stage, stream in zip(chain, streams, strict=False):
        ctx.streams[stage.result_type] = stream
    failed: list[BaseException] = []
    threads: list[threading.Thread] = []

    def run_in_thread(number: int) -> None:
        try:
            _run_after(ctx, chain[number], threads[:number], failed, report)
        except BaseException as exc:  # re-raised in the driver's thread below
            failed.append(exc)
        finally:
            streams[number].close()

    for number, stage in enumerate(chain[:-1]):
        threads.append(threading.Thread(target=run_in_thread, args=(number,), daemon=True,
                                        name=f"{stage.name}-beside"))
        threads[-1].start()
    try:
        _run_after(ctx, chain[-1], threads, failed, report)
    except BaseException:
        _join(threads)
        if failed:
            raise failed[0] from None  # the cause, not what its absence did to a later stage
        raise
    finally:
        _join(threads)
        for stage in chain[:-1]:
            ctx.streams.pop(stage.result_type, None)
    if failed:
        raise failed[0]


def _run_after(ctx: RunContext, stage: Stage[Any], earlier: list[threading.Thread],
               failed: list[BaseException], report: RunReport) -> None:
    """Run `stage` now; record it once the `earlier` stages' threads have finished, unless
    one of them failed."""
    ctx.manifest.forget_stage(stage.name)
    started = time.monotonic()
    result = stage.run(ctx)
    _join(earlier)
    if not failed:
        _finish_stage(ctx, stage, result, _key(ctx, stage), time.monotonic() - started,
                      report)


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join()


@dataclass
class ForumRun:
    """One forum of a multi-forum run: its report, or the error that stopped it."""

    config: ForumConfig
    report: RunReport | None = None
    error: PipelineError | None = None


def run_forums(configs: Sequence[ForumConfig], options: Sequence[RunOptions],
               progress: Progress, executor: Executor | None = None, *,
               concurrent: bool = False) -> list[ForumRun]:
    """Run several forums. One forum's failure does not stop the others.

    `concurrent` runs the forums' drivers side by side (each in a thread that only
    waits on its executor), so that a Ray cluster gets the sessions of every forum
    at once; with the serial executor the forums run one after another.
    A full disk or an interrupt stops everything: every later forum would fail too.
    """
    executor = executor or SerialExecutor()

    def one(config: ForumConfig, forum_options: RunOptions) -> ForumRun:
        try:
            return ForumRun(config, report=run_forum(config, forum_options, progress, executor))
        except DiskFullError:
            raise
        except PipelineError as exc:
            return ForumRun(config, error=exc)

    if not concurrent or len(configs) < 2:
        return [one(config, forum_options) for config, forum_options in zip(configs, options,
                                                                            strict=True)]
    with ThreadPoolExecutor(max_workers=len(configs), thread_name_prefix="forum") as pool:
        return list(pool.map(one, configs, options))
