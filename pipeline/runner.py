"""The runner: the one place that knows the stage order.

fetch -> split -> transcribe -> publish -> index. Each stage gets typed inputs
built from the results before it and returns a typed result, which the runner
stores in the work directory's manifest. A stage whose inputs have not changed
and whose recorded outputs still exist with their checksums is skipped and
its stored result is reused, so a second run of the same command does no work.

A session that fails in split or transcribe does not stop the others: the run
goes on with the rest and ends with `PartialFailure` listing what failed.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.config import ForumConfig
from pipeline.errors import ConfigError, DiskFullError, PartialFailure, UsageError
from pipeline.models import (
    FetchResult,
    IndexResult,
    MaterialFile,
    MaterialLink,
    PublishResult,
    SplitResult,
    TranscribeResult,
)
from pipeline.progress import Progress
from pipeline.stages import fetch, index, publish, split, transcribe
from pipeline.state import ItemCache, Manifest, fingerprint

STAGES = ("fetch", "split", "transcribe", "publish", "index")
_ALWAYS_RUN = {"index"}  # cheap, and its output (the shared catalogue) lives outside work/


@dataclass(frozen=True)
class RunOptions:
    work_root: Path
    from_stage: str | None = None
    only_stage: str | None = None
    force: bool = False
    dry_run: bool = False
    whisper: transcribe.WhisperSettings = field(default_factory=transcribe.WhisperSettings)
    catalogue: Path | None = None


@dataclass
class StageOutcome:
    stage: str
    action: str  # "ran", "skipped (up to date)", "would run", "would skip (up to date)"
    detail: str = ""


@dataclass
class RunReport:
    forum_id: str
    work_dir: Path
    outcomes: list[StageOutcome] = field(default_factory=list)
    archive_url: str | None = None
    catalogue: Path | None = None
    transcribed: int = 0
    uploaded: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def default_work_root() -> Path:
    return Path(os.environ.get("SORT_ARCHIVE_WORK_DIR", "work"))


def selected_stages(options: RunOptions) -> list[str]:
    for name in (options.from_stage, options.only_stage):
        if name is not None and name not in STAGES:
            raise UsageError(f"unknown stage '{name}'", f"choose one of {', '.join(STAGES)}")
    if options.only_stage:
        return [options.only_stage]
    start = STAGES.index(options.from_stage) if options.from_stage else 0
    return list(STAGES[start:])


def run_forum(config: ForumConfig, options: RunOptions, progress: Progress) -> RunReport:
    """Run the selected stages for one forum; raise PipelineError subclasses on failure."""
    forum = config.forum
    work_dir = (options.work_root / forum.id).resolve()
    manifest = Manifest(work_dir)
    report = RunReport(forum_id=forum.id, work_dir=work_dir)
    materials = _materials(config)
    try:
        _run_stages(config, options, progress, manifest, report, materials)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(
                f"no space left on the device ({exc.filename or work_dir})",
                "free some space and run the same command again; finished work is kept",
            ) from exc
        raise
    if report.failures:
        raise PartialFailure("run", report.failures)
    return report


class _PastLastStage(Exception):
    """Raised by a stage step after the last selected stage (`--only`), to stop early."""


def _run_stages(config: ForumConfig, options: RunOptions, progress: Progress,
                manifest: Manifest, report: RunReport, materials: list[MaterialFile]) -> None:
    results: dict[str, Any] = dict.fromkeys(STAGES)
    ran: set[str] = set()  # stages that did work this time, for the summary's counts
    with contextlib.suppress(_PastLastStage):
        _steps(config, options, progress, manifest, report, materials, results, ran)
    _summarise(report, results, ran)


def _summarise(report: RunReport, results: dict[str, Any], ran: set[str]) -> None:
    for stage in ("split", "transcribe"):
        if results[stage] is not None:
            report.failures.update(results[stage].failures)
    if "transcribe" in ran:
        report.transcribed = results["transcribe"].transcribed
    if results["publish"] is not None:
        report.archive_url = results["publish"].forum_url
        if "publish" in ran:
            report.uploaded = results["publish"].uploaded_count
    if results["index"] is not None:
        report.catalogue = results["index"].catalogue


def _steps(config: ForumConfig, options: RunOptions, progress: Progress, manifest: Manifest,
           report: RunReport, materials: list[MaterialFile], results: dict[str, Any],
           ran: set[str]) -> None:
    forum = config.forum
    work_dir = manifest.work_dir
    wanted = selected_stages(options)

    def step(stage: str, result_type: type[BaseModel], inputs: list[Any],
             outputs_of: Callable[[Any], list[Path]], work: Callable[[], Any]) -> Any:
        """Run, reuse or (dry run) describe one stage."""
        if STAGES.index(stage) > STAGES.index(wanted[-1]):
            raise _PastLastStage
        key = fingerprint(stage, inputs)
        forced = options.force and stage in wanted
        stored = None if forced else manifest.fresh_stage_result(stage, key)
        reusable = stored is not None and stage not in _ALWAYS_RUN
        if stage not in wanted or options.dry_run:
            if stage in wanted:
                action = "would skip (up to date)" if reusable else "would run"
                report.outcomes.append(StageOutcome(stage, action, plan_detail(stage)))
            if stored is None:
                if stage in wanted or options.dry_run:
                    return None
                raise UsageError(
                    f"stage '{stage}' has no up-to-date result for forum {forum.id}",
                    f"run without --only/--from, or with --from {stage}")
            return result_type.model_validate(stored)
        if reusable:
            report.outcomes.append(StageOutcome(stage, "skipped (up to date)"))
            return result_type.model_validate(stored)
        manifest.forget_stage(stage)
        result = work()
        ran.add(stage)
        if not getattr(result, "failures", None):
            manifest.record_stage(stage, key, outputs_of(result), result.model_dump(mode="json"))
        report.outcomes.append(StageOutcome(stage, "ran"))
        return result

    storage = _resolved_storage(config)
    catalogue = options.catalogue or index.default_catalogue_path()

    def plan_detail(stage: str) -> str:
        """What a stage would work on, for --dry-run."""
        where = (str(storage.local) if storage.local is not None else
                 f"s3://{storage.s3.bucket}/{storage.s3.prefix}" if storage.s3 else "")
        sessions = len(config.session_plans()) or "chapter"
        return {
            "fetch": f"{forum.source.url or forum.source.file}"
                     + (f" and {len(forum.materials)} material(s)" if forum.materials else ""),
            "split": f"{sessions} session(s)",
            "transcribe": f"{sessions} session(s) with Whisper {options.whisper.model}",
            "publish": f"to {where}",
            "index": f"into {catalogue}",
        }[stage]

    if "publish" in wanted and not options.dry_run:
        publish.check_storage(storage)  # a missing bucket must not cost an hour of Whisper first

    source_url = (forum.source.url if forum.source.url
                  else fetch.file_url(config.resolve(forum.source.file or Path())))
    fetch_inputs = [source_url, _local_stamp(config, forum.source.file)]
    # Only a new source (or --force) may throw away a download: it can be gigabytes.
    source_key = fingerprint(fetch_inputs)
    changed = (manifest.changed_since_recorded("fetch/source", source_key)
               or (options.force and "fetch" in wanted))
    links = _material_links(config)

    def fetch_all() -> FetchResult:
        recording = fetch.fetch(fetch.FetchRequest(url=source_url, work_dir=work_dir,
                                                   discard_previous=changed), progress)
        manifest.record_item("fetch/source", source_key, [recording.video_path])
        return FetchResult(recording=recording,
                           materials=fetch.fetch_materials(links, work_dir, progress))

    fetched: FetchResult | None = step(
        "fetch", FetchResult, [*fetch_inputs, [link.model_dump() for link in links]],
        lambda r: [r.recording.video_path, r.recording.audio_path, r.recording.info_path,
                   *(m.path for m in r.materials)],
        fetch_all,
    )
    results["fetch"] = fetched
    if fetched is None:
        # Dry run before anything was fetched: later stages depend on it, so describe them.
        report.outcomes += [StageOutcome(stage, "would run", plan_detail(stage))
                            for stage in wanted if stage != "fetch"]
        return
    recording = fetched.recording
    materials = [*materials, *fetched.materials]
    config.check_duration(recording.duration)
    plans = config.session_plans() or split.sessions_from_chapters(recording.chapters)
    if not plans:
        raise ConfigError(config.path, "sessions",
                          "no sessions listed and the video has no chapters; add the agenda")
    # Content checksums, not paths: a re-fetched recording keeps its file name.
    results["split"] = step(
        "split", SplitResult, [manifest.checksum(recording.video_path),
                               [p.model_dump(mode="json") for p in plans]],
        lambda r: [clip.path for clip in r.clips],
        lambda: split.split(split.SplitRequest(
            recording=recording, sessions=plans, work_dir=work_dir,
            cache=ItemCache(manifest, "split", force=options.force)), progress),
    )
    clips = list(results["split"].clips) if results["split"] else []
    settings = options.whisper
    results["transcribe"] = step(
        "transcribe", TranscribeResult,
        [manifest.checksum(recording.audio_path), [c.model_dump(mode="json") for c in clips],
         [manifest.checksum(c.path) for c in clips], forum.language,
         transcribe.TRANSCRIPT_FORMAT, settings.model, settings.beam_size, settings.vad],
        lambda r: [path for t in r.transcripts for path in t.files.all()],
        lambda: transcribe.transcribe(transcribe.TranscribeRequest(
            clips=clips, audio_path=recording.audio_path, language=forum.language,
            settings=settings,
            cache=ItemCache(manifest, "transcribe", force=options.force)), progress),
    )
    transcripts = list(results["transcribe"].transcripts) if results["transcribe"] else []
    checksums = [manifest.checksum(p) for p in
                 [c.path for c in clips] + [f for t in transcripts for f in t.files.all()]
                 + [m.path for m in materials] if p.is_file()]
    results["publish"] = step(
        "publish", PublishResult,
        [config.summary().model_dump(mode="json"), storage.model_dump(mode="json"), checksums,
         [m.model_dump(mode="json") for m in materials]],
        lambda r: [],
        lambda: publish.publish(publish.PublishRequest(
            forum=config.summary(), clips=clips, transcripts=transcripts, materials=materials,
            storage=storage, checksum=manifest.checksum), progress),
    )
    results["index"] = step(
        "index", IndexResult, [str(catalogue), checksums], lambda r: [],
        lambda: index.index_forum(index.IndexRequest(
            forum=config.summary(), transcripts=transcripts, published=results["publish"],
            catalogue=catalogue), progress),
    )



def _materials(config: ForumConfig) -> list[MaterialFile]:
    files = []
    for number, material in enumerate(config.forum.materials):
        if material.path is None:
            continue  # given by URL: fetch downloads it (see _material_links)
        path = config.resolve(material.path)
        if not path.is_file():
            raise ConfigError(config.path, f"materials[{number}].path",
                              f"file {path} not found; fix the path or remove the entry")
        files.append(MaterialFile(path=path, kind=material.kind, title=material.title))
    return files


def _material_links(config: ForumConfig) -> list[MaterialLink]:
    return [MaterialLink(url=m.url, kind=m.kind, title=m.title, field=f"materials[{n}].url")
            for n, m in enumerate(config.forum.materials) if m.url is not None]


def _local_stamp(config: ForumConfig, source_file: Path | None) -> list[Any]:
    if source_file is None:
        return []
    path = config.resolve(source_file)
    if not path.is_file():
        return ["missing"]  # fetch reports it with the hint staff need
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _resolved_storage(config: ForumConfig) -> Any:
    storage = config.forum.storage
    if storage.local is not None:
        return storage.model_copy(update={"local": config.resolve(storage.local)})
    return storage
