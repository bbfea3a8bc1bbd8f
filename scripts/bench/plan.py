"""Benchmark: where the plan puts each session when staff give only titles and speakers.

Workloads: the long stream-like recording (pipeline/demo/stream.py: a waiting screen with
music, an MC line before each talk, title cards, speakers' own closing lines, applause or
silence, a break with music, a closing MC line and an end card; built once into
build/stream-long/), and the demo forum (build/demo/, the config's times left out).

The plan's detection (pipeline/boundaries) runs as the plan stage runs it, three ways in the
same run:
- `ours`: pauses in speech, islands heard and given an owner by their words and voice;
- `no speech map`: the same signals, but breaks merge across speech and take their edges
  from any sign (the fit as it was before the speech map);
- `no voice`: the speech map, but every island's owner decided by its words and where it
  stands between the pauses alone (its voice counts as no one's).
For each clip it prints the seconds of its talk's speech left out (words cut), the seconds
of foreign content in it (waiting screen, break, another talk, the next MC line; see
pipeline/demo/stream_judge.py) and what they were; then per way the totals, how many clips
are whole and alone (every word, at most 0.3 s foreign), and the ratios of words cut and
foreign seconds against `no speech map`; and the detection's time per minute of recording
(Whisper loaded beforehand, as the plan stage loads it once). Then it runs the real stages,
fetch to split, on the stream (as `sort-archive run` does) and prints each clip's cut mode.

Usage: .venv/bin/python scripts/bench/plan.py [--short] [--skip-demo]
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from _common import ROOT, bench_parser, demo_forum, machine, print_table

from pipeline.asr import make_engine
from pipeline.asr.decoding import WhisperSettings
from pipeline.boundaries import CUE_DECODE, AgendaItem, choose, collect_candidates
from pipeline.config.loader import load_config
from pipeline.demo import LONG_STREAM, SHORT_STREAM, build_stream_forum
from pipeline.demo.stream_judge import ClipJudgement, judge
from pipeline.demo.stream_truth import StreamTruth
from pipeline.media.probe import extract_audio, probe
from pipeline.progress import LogProgress
from pipeline.settings import Settings

WAYS = ("ours", "no speech map", "no voice")


@dataclass(frozen=True)
class Outcome:
    way: str
    clips: list[ClipJudgement]
    seconds: float  # detection time


def agenda_of(config_path: Path) -> list[AgendaItem]:
    config = load_config(config_path)
    return [AgendaItem(s.id, s.title, tuple(p.name for p in s.speakers))
            for s in config.forum.sessions]


def detect(video: Path, agenda: list[AgendaItem], engine: Any, way: str,
           work: Path) -> tuple[list[tuple[str, float, float]], float, float]:
    """(session id, start, end) per session, the detection's seconds, the duration."""
    duration = probe(video).duration
    wav = work / f"{video.parent.name}-{video.stem}.wav"
    if not wav.is_file():
        extract_audio(video, wav, duration=duration)
    began = time.perf_counter()
    signals = collect_candidates(video, wav, duration, agenda=agenda, engine=engine,
                                 voices=way != "no voice")
    fit = choose(agenda, signals.candidates, duration,
                 speech=None if way == "no speech map" else signals.speech)
    seconds = time.perf_counter() - began
    return [(p.id, p.start, p.end) for p in fit.sessions], seconds, duration


def last_sound(wav: Path, start: float, end: float) -> float:
    """The end of the last 20 ms above -40 dBFS between `start` and `end` (16 kHz wav)."""
    import numpy as np

    from pipeline.media.audio import read_slice

    audio = read_slice(wav, start, end - start)
    windows = len(audio) // 320
    level = 10 * np.log10(np.mean(audio[:windows * 320].reshape(windows, 320) ** 2, axis=1)
                          + 1e-12)
    loud = np.nonzero(level > -40)[0]
    return start + (int(loud[-1]) + 1) * 0.02 if len(loud) else start


def demo_truth(forum: Any, wav: Path) -> Callable[..., list[ClipJudgement]]:
    """A judge like the stream's for the demo forum: each slot's card and speech belong to
    its session, the quiet gap after it to none; its words run from the card's end to the
    last sound on its slide."""
    layout = forum.layout
    slots = [layout.bounds(i) for i in range(len(layout.sessions))]
    speech = [(a + layout.card_seconds, last_sound(wav, a + layout.card_seconds, b))
              for a, b in slots]

    def judge_demo(placed: list[tuple[str, float, float]]) -> list[ClipJudgement]:
        out = []
        for index, (sid, start, end) in enumerate(placed):
            first, last = speech[index]
            cut = max(0.0, start - first) + max(0.0, last - end)
            foreign = [(f"gap {i + 1}", b, b + layout.gap_seconds) for i, (_a, b) in
                       enumerate(slots)] + [(f"talk {i + 1}", a, b) for i, (a, b) in
                                            enumerate(slots) if i != index]
            parts = [(name, min(end, b) - max(start, a)) for name, a, b in foreign]
            parts = [(name, s) for name, s in parts if s > 0.01]
            out.append(ClipJudgement(sid, start, end, round(cut, 3),
                                     round(sum(s for _n, s in parts), 3),
                                     tuple(f"{n} {s:.2f} s" for n, s in parts)))
        return out

    return judge_demo


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base > 0 else ("-" if value == 0 else "inf")


def report(name: str, outcomes: list[Outcome], duration: float) -> None:
    print(f"\n## {name} ({duration / 60:.1f} min)")
    rows = []
    for outcome in outcomes:
        for clip in outcome.clips:
            rows.append((outcome.way, clip.session_id, f"{clip.start:.2f}", f"{clip.end:.2f}",
                         f"{clip.speech_cut:.2f}", f"{clip.foreign:.2f}",
                         "; ".join(clip.foreign_parts) or "-"))
    print_table(("way", "session", "start", "end", "words cut (s)", "foreign (s)", "what"),
                rows)
    base = next(o for o in outcomes if o.way == "no speech map")
    totals = []
    for outcome in outcomes:
        cut = sum(c.speech_cut for c in outcome.clips)
        foreign = sum(c.foreign for c in outcome.clips)
        base_cut = sum(c.speech_cut for c in base.clips)
        base_foreign = sum(c.foreign for c in base.clips)
        good = sum(c.whole_and_alone() for c in outcome.clips)
        totals.append((outcome.way, f"{good}/{len(outcome.clips)}", f"{cut:.2f}",
                       ratio(cut, base_cut), f"{foreign:.2f}", ratio(foreign, base_foreign),
                       f"{outcome.seconds / (duration / 60):.2f}"))
    print()
    print_table(("way", "whole and alone", "words cut (s)", "vs no speech map", "foreign (s)",
                 "vs no speech map", "detection s per minute"), totals)


def through_split(config_path: Path, truth: StreamTruth, work: Path, whisper: Any) -> None:
    """The real stages, fetch to split, as `sort-archive run` runs them: each clip's cut
    mode (smart, or why not) and how its planned times judge; the stages' wall time."""
    from pipeline.results import PlanResult, SplitResult
    from pipeline.runner import RunOptions, run_forum

    shutil.rmtree(work / "run", ignore_errors=True)
    options = RunOptions(work_root=work / "run", catalogue=work / "run" / "catalogue.sqlite",
                         until_stage="split", whisper=whisper)
    began = time.perf_counter()
    report = run_forum(load_config(config_path), options, LogProgress())
    seconds = time.perf_counter() - began
    plan, split = report.results["plan"], report.results["split"]
    assert isinstance(plan, PlanResult) and isinstance(split, SplitResult)
    judged = judge(truth, [(s.plan.id, s.plan.start, s.plan.end) for s in plan.sessions])
    print(f"\n## fetch, plan and split as `run` does them ({seconds:.0f} s)")
    print_table(("session", "start", "end", "words cut (s)", "foreign (s)", "cut", "why not smart"),
                [(j.session_id, f"{j.start:.2f}", f"{j.end:.2f}", f"{j.speech_cut:.2f}",
                  f"{j.foreign:.2f}", clip.cut_mode, clip.fallback_reason or "-")
                 for j, clip in zip(judged, split.clips, strict=True)])
    print(f"whole and alone: {sum(j.whole_and_alone() for j in judged)}/{len(judged)}; "
          f"cut smart: {sum(c.cut_mode == 'smart' for c in split.clips)}/{len(split.clips)}; "
          f"to review: {len(plan.review)}")


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--short", action="store_true", help="the 2-minute stream instead")
    parser.add_argument("--skip-demo", action="store_true", help="the stream only")
    args = parser.parse_args()
    settings = Settings.from_environ()
    engine = make_engine(WhisperSettings(model_dir=settings.model_dir, decode=CUE_DECODE))
    engine.load()
    layout = SHORT_STREAM if args.short else LONG_STREAM
    stream = build_stream_forum(ROOT / "build" / f"stream-{layout.name}", layout,
                                speech_dir=settings.speech_dir, progress=LogProgress())
    work = ROOT / "build" / "bench-plan"
    work.mkdir(parents=True, exist_ok=True)
    print(machine())
    truth: StreamTruth = stream.truth
    agenda = agenda_of(stream.config_path)
    outcomes, duration = [], 0.0
    for way in WAYS:
        placed, seconds, duration = detect(stream.video_path, agenda, engine, way, work)
        outcomes.append(Outcome(way, judge(truth, placed), seconds))
    report(f"stream-like recording, {layout.name}", outcomes, duration)
    through_split(stream.config_path, truth, work,
                  WhisperSettings(model_dir=settings.model_dir))
    if args.skip_demo:
        return
    forum = demo_forum()
    demo_agenda = [replace(item, start=None, end=None) for item in agenda_of(forum.config_path)]
    outcomes, placements = [], []
    for way in WAYS:
        placed, seconds, duration = detect(forum.master_path, demo_agenda, engine, way, work)
        placements.append((way, placed, seconds))
    master = forum.master_path
    judge_demo = demo_truth(forum, work / f"{master.parent.name}-{master.stem}.wav")
    outcomes = [Outcome(way, judge_demo(placed), seconds) for way, placed, seconds in placements]
    report("demo forum", outcomes, duration)


if __name__ == "__main__":
    main()
