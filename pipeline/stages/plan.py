"""Plan: when each session starts and ends, before anything is cut.

Where the times come from, first match wins for each session:

1. the forum config: explicit times always win;
2. `plan.yaml` in the work folder, as staff reviewed it (see below);
3. YouTube chapters, matched to the agenda by order and title similarity
   (or, with no agenda at all, one session per chapter);
4. detection (`pipeline.boundaries`): silences, title cards and black frames,
   scene changes, applause, and the MC's spoken cues, fitted to the agenda's
   order and any `duration_hint`s.

The stage writes `plan.yaml` for staff to review. It is also the stage's
output: once staff edit it, its checksum changes, the plan is redone from the
edited file, and split cuts the reviewed times.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from pipeline.asr.decoding import WhisperSettings
from pipeline.config.forum import ForumConfig, format_time, parse_time
from pipeline.errors import ConfigError
from pipeline.results import (
    Chapter,
    FetchResult,
    PlannedSession,
    PlanResult,
    SessionPlan,
    SpeakerRef,
)
from pipeline.stage import RunContext, RunReport, Stage

log = logging.getLogger("pipeline.plan")
PLAN_FILE = "plan.yaml"
DETECTION_VERSION = 2  # bump when detection changes, so old plans are redone


def sessions_from_chapters(chapters: tuple[Chapter, ...]) -> list[SessionPlan]:
    """A programme taken from YouTube chapters when the config lists no sessions."""
    plans = []
    for number, chapter in enumerate(chapters, start=1):
        slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in chapter.title.lower())
        slug = "-".join(part for part in slug.split("-") if part) or "chapter"
        plans.append(SessionPlan(number=number, id=f"{slug}"[:40].strip("-") or "chapter",
                                 title=chapter.title or f"Chapter {number}",
                                 start=chapter.start, end=chapter.end))
    return plans


def _speakers(config: ForumConfig, index: int) -> tuple[SpeakerRef, ...]:
    return tuple(SpeakerRef(name=p.name, organisation=p.organisation)
                 for p in config.forum.sessions[index].speakers)


def _from_config(config: ForumConfig) -> PlanResult:
    return PlanResult(sessions=tuple(PlannedSession(plan=plan, source="config")
                                     for plan in config.session_plans()))


def _reviewed(config: ForumConfig, path: Path) -> dict[str, tuple[float, float, str, float]]:
    """Times from a reviewed plan.yaml, by session id; {} if there is none or it is stale."""
    if not path.is_file():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = {str(item["id"]): (parse_time(item["start"]), parse_time(item["end"]),
                                     str(item.get("source", PLAN_FILE)),
                                     float(item.get("confidence", 1.0)))
                   for item in document.get("sessions", [])}
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = (f"line {mark.line + 1}: {getattr(exc, 'problem', None) or 'not YAML'}"
                   if mark else f"no {exc}" if isinstance(exc, KeyError) else str(exc))
        raise ConfigError(path, "sessions", f"cannot read the plan ({problem}); fix it or "
                                            "delete it to detect the times again") from None
    if set(entries) != {s.id for s in config.forum.sessions}:
        log.warning("%s lists other sessions than the config; detecting again", path)
        return {}
    return entries


def _assemble(config: ForumConfig, times: dict[str, tuple[float, float, str, float]],
              gaps: tuple[tuple[float, float], ...] = (), notes: tuple[str, ...] = (),
              reviewed: Path | None = None) -> PlanResult:
    planned = []
    for index, session in enumerate(config.forum.sessions):
        start, end, source, confidence = times[session.id]
        if session.start is not None and session.end is not None:  # the config wins
            start, end, source, confidence = session.start, session.end, "config", 1.0
        planned.append(PlannedSession(plan=SessionPlan(
            number=index + 1, id=session.id, title=session.title, start=round(start, 3),
            end=round(end, 3), speakers=_speakers(config, index)),
            source=source, confidence=round(confidence, 3)))
    _check(config, planned, reviewed)
    return PlanResult(sessions=tuple(planned), gaps=gaps, notes=notes)


def _check(config: ForumConfig, planned: list[PlannedSession],
           reviewed: Path | None = None) -> None:
    """A plan with a session of no length, or two that overlap, is refused, naming the
    file to fix: the reviewed plan.yaml when it gave the times, else the config."""
    where, fix = (reviewed, f"fix {reviewed.name}") if reviewed else (
        config.path, "give the times in the config")
    for index, item in enumerate(planned):
        if item.plan.end - item.plan.start < 1.0:
            raise ConfigError(where, f"sessions[{index}]",
                              f"the plan gives '{item.plan.id}' no length "
                              f"({format_time(item.plan.start)} to "
                              f"{format_time(item.plan.end)}); {fix}")
        if index and item.plan.start < planned[index - 1].plan.end - 0.01:
            raise ConfigError(where, f"sessions[{index}]",
                              f"the plan makes '{item.plan.id}' overlap the session before; "
                              f"{fix}")


def _inside(result: PlanResult, duration: float, where: Path) -> None:
    """Reviewed times must lie inside the recording, as the config's must."""
    for index, item in enumerate(result.sessions):
        if item.source != "config" and item.plan.end > duration + 0.05:
            raise ConfigError(where, f"sessions[{index}].end",
                              f"{format_time(item.plan.end)} is past the end of the recording "
                              f"({format_time(duration)}); correct the time in {where.name}")


def _detected(config: ForumConfig, fetched: FetchResult, whisper: WhisperSettings) -> PlanResult:
    from pipeline import boundaries
    from pipeline.asr import make_engine

    recording = fetched.recording
    agenda = [boundaries.AgendaItem(
        id=s.id, title=s.title, speakers=tuple(p.name for p in s.speakers), start=s.start,
        end=s.end, duration_hint=s.duration_hint) for s in config.forum.sessions]
    if recording.chapters:
        plan, report = boundaries.match_chapters(agenda, recording.chapters)
        notes = tuple(report)
    else:
        signals = boundaries.collect_candidates(
            recording.video_path, recording.audio_path, recording.duration, agenda=agenda,
            engine=make_engine(replace(whisper, engine="faster-whisper",
                                       decode=boundaries.CUE_DECODE)))
        for heard in signals.heard:
            log.info("heard %s-%s (%s): %s", format_time(heard.island.start),
                     format_time(heard.island.end), heard.owner, heard.text)
        try:
            plan = boundaries.choose(agenda, signals.candidates, recording.duration,
                                     speech=signals.speech)
        except ValueError as exc:
            raise ConfigError(config.path, "sessions", f"{exc}; give the session times in "
                                                       "the config") from None
        notes = plan.notes
    times = {p.id: (p.start, p.end, p.source, p.confidence) for p in plan.sessions}
    result = _assemble(config, times, (), notes)  # gaps between sessions: see gaps_between
    return result.model_copy(update={"review": _review(result, plan.review)})


def _review(result: PlanResult, unsure: tuple[str, ...]) -> tuple[str, ...]:
    """The fit's unsure boundaries, and each detected session of low confidence."""
    from pipeline import boundaries

    low = tuple(f"{s.plan.id}: confidence {s.confidence:.2f}; check its start and end"
                for s in result.sessions
                if s.source in ("detected", "chapters")
                and s.confidence < boundaries.REVIEW_BELOW)
    return unsure + low


def gaps_between(result: PlanResult, duration: float | None = None,
                 shortest: float = 0.5) -> tuple[tuple[float, float], ...]:
    """Stretches no clip covers: between consecutive sessions (breaks, applause, cards)
    and, given the recording's `duration`, before the first (a waiting screen) and after
    the last (closing words, an end card)."""
    ordered = sorted(result.plans, key=lambda p: p.start)
    edges = [(0.0, 0.0)] if duration is not None else []
    edges += [(p.start, p.end) for p in ordered]
    edges += [(duration, duration)] if duration is not None else []
    return tuple((round(a[1], 3), round(b[0], 3)) for a, b in itertools.pairwise(edges)
                 if b[0] - a[1] >= shortest)


def write_plan(path: Path, result: PlanResult) -> None:
    document = {
        "note": "Review these times, edit them if needed, and run again: split cuts what this "
                "file says. Times in the forum config always win.",
        "sessions": [{"id": s.plan.id, "title": s.plan.title, "start": s.plan.start,
                      "end": s.plan.end, "source": s.source, "confidence": s.confidence}
                     for s in result.sessions],
        "gaps": [list(gap) for gap in result.gaps],
        "review": list(result.review),
    }
    partial = path.with_name(path.name + ".part")
    partial.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                       encoding="utf-8")
    partial.replace(path)


def plan_sessions(config: ForumConfig, fetched: FetchResult, work_dir: Path,
                  whisper: WhisperSettings | None = None) -> PlanResult:
    recording = fetched.recording
    config.check_duration(recording.duration)
    path = work_dir / PLAN_FILE
    if not config.forum.sessions:
        chapters = sessions_from_chapters(recording.chapters)
        if not chapters:
            raise ConfigError(config.path, "sessions",
                              "no sessions listed and the video has no chapters; add the agenda")
        result = PlanResult(sessions=tuple(PlannedSession(plan=p, source="chapters")
                                           for p in chapters))
    elif config.fully_timed():
        result = _from_config(config)
    elif reviewed := _reviewed(config, path):
        result = _assemble(config, reviewed, reviewed=path)
        _inside(result, recording.duration, path)
    else:
        result = _detected(config, fetched, whisper or WhisperSettings())
    if not result.gaps:
        result = result.model_copy(update={"gaps": gaps_between(result, recording.duration)})
    for gap in result.gaps:
        log.info("gap between sessions: %s - %s", format_time(gap[0]), format_time(gap[1]))
    write_plan(path, result)
    return result.model_copy(update={"plan_file": path})


class PlanStage(Stage[PlanResult]):
    """Declared stage: the times of every session, from config, review, chapters or detection."""

    name = "plan"
    result_type = PlanResult
    needs = (FetchResult,)

    def inputs(self, ctx: RunContext) -> list[Any]:
        recording = ctx.get(FetchResult).recording
        return [ctx.checksum(recording.video_path),
                [s.model_dump(mode="json") for s in ctx.config.forum.sessions],
                [c.model_dump(mode="json") for c in recording.chapters],
                # A change to detection redoes only plans that detect something (a fully
                # timed forum's plan keeps the version its runs were made with, 1).
                1 if ctx.config.fully_timed() else DETECTION_VERSION]

    def outputs(self, result: PlanResult) -> list[Path]:
        return [result.plan_file] if result.plan_file else []

    def run(self, ctx: RunContext) -> PlanResult:
        return plan_sessions(ctx.config, ctx.get(FetchResult), ctx.work_dir,
                             ctx.options.whisper)

    def summarise(self, result: PlanResult, ran: bool, report: RunReport) -> None:
        super().summarise(result, ran, report)
        report.warnings += [f"plan: {line} ({result.plan_file or PLAN_FILE})"
                            for line in result.review]

    def describe(self, ctx: RunContext) -> str:
        sessions = ctx.config.forum.sessions
        if not sessions:
            return "sessions from the video's chapters"
        untimed = sum(1 for s in sessions if s.start is None or s.end is None)
        return (f"{len(sessions)} session(s) from the config" if not untimed
                else f"{len(sessions)} session(s), {untimed} to find")
