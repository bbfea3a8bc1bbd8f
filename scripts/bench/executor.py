"""Benchmark: the serial executor against a local Ray, on the same four forums.

Workload: four copies (bench-1 .. bench-4) of the small demo forum (54 s of
640x360 recording, three 15 s sessions of real Korean speech), run end to end:
fetch, split, transcribe (Whisper base, int8, beam 5), publish to a local
folder, index. In one run of this script the four forums go through the
pipeline twice, each time in a fresh work folder with its own catalogue:
first with `SerialExecutor` (the baseline: forums one after another, sessions
one after another), then on a local Ray (`RayExecutor()`: forums side by side,
sessions on actors that keep the Whisper model loaded). It prints both wall times and
their ratio, Ray's start-up and shutdown overhead, the serial run's per-stage
times, whether both runs wrote the same transcript text, and a projection of
the measured rates onto a cluster of N machines like this one.

Usage: .venv/bin/python scripts/bench/executor.py [--forums 4] [--keep]
           [--project-forums 20] [--project-hours 3] [--session-minutes 30]
           [--nodes 1,2,4,8]
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, add_keep, bench_parser, demo_forum, machine, run_timed, speech_dir

from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.job import load_engine
from pipeline.config.forum import ForumConfig
from pipeline.config.loader import load_config
from pipeline.demo import SMALL_LAYOUT, DemoForum
from pipeline.executors.serial import Executor, SerialExecutor
from pipeline.progress import Task
from pipeline.runner import run_forums
from pipeline.stage import RunOptions

BUILD = ROOT / "build" / "bench-executor"
SESSION_STAGES = ("cut sessions", "transcribe")  # per-session units: what the executor runs
SCALED_STAGES = ("extract audio", "upload", "index")  # driver work that grows with length


class _Quiet:
    def update(self, completed: float, total: float | None = None) -> None:
        pass

    def advance(self, amount: float = 1.0) -> None:
        pass


class TimingProgress:
    """A silent Progress that adds up how long each named task took."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[Task]:
        started = time.perf_counter()
        try:
            yield _Quiet()
        finally:
            with self._lock:
                self.seconds[description] += time.perf_counter() - started

    def note(self, message: str) -> None:
        pass


@dataclass
class RunResult:
    label: str
    wall: float
    stages: dict[str, float]  # task name -> seconds, summed over forums
    texts: dict[str, str]  # "forum/session" -> transcript text
    errors: list[str] = field(default_factory=list)
    transcribed: int = 0


def write_configs(forum: DemoForum, folder: Path, count: int) -> list[Path]:
    """`count` copies of the demo config with their own ids, absolute paths, local storage."""
    raw: dict[str, Any] = yaml.safe_load(forum.config_path.read_text(encoding="utf-8"))
    base = forum.config_path.parent
    raw["source"] = {"file": str((base / raw["source"]["file"]).resolve())}
    for material in raw.get("materials", []):
        material["path"] = str((base / material["path"]).resolve())
    raw["storage"] = {"local": str(folder / "archive")}
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(1, count + 1):
        path = folder / f"bench-{number}.yaml"
        path.write_text(yaml.safe_dump({**raw, "id": f"bench-{number}"}, allow_unicode=True,
                                       sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def read_texts(work: Path, configs: list[ForumConfig]) -> dict[str, str]:
    texts = {}
    for config in configs:
        for txt in sorted((work / config.forum.id / "sessions").glob("*/*.txt")):
            texts[f"{config.forum.id}/{txt.parent.name}"] = txt.read_text(encoding="utf-8")
    return texts


def run_all(label: str, folder: Path, forum: DemoForum, count: int, executor: Executor,
            concurrent: bool) -> RunResult:
    configs = [load_config(path) for path in write_configs(forum, folder / "configs", count)]
    work = folder / "work"
    options = [RunOptions(work, catalogue=folder / "catalogue.sqlite", whisper=WhisperSettings())
               for _ in configs]
    progress = TimingProgress()
    spent, runs = run_timed(lambda: run_forums(configs, options, progress, executor,
                                               concurrent=concurrent))
    result = RunResult(label, spent.wall, dict(progress.seconds), read_texts(work, configs))
    for run in runs:
        if run.error is not None:
            result.errors.append(f"{run.config.forum.id}: {run.error.one_line()}")
        if run.report is not None:
            result.transcribed += run.report.transcribed
    return result


@dataclass(frozen=True)
class Rates:
    """What the serial run measured, per unit of work, on one machine of `cores` cores."""

    cores: int
    threads: int  # Whisper's cpu_threads: the CPUs one Ray actor holds
    work_per_session_second: float  # machine-seconds of cut + transcribe per session second
    driver_fixed_per_forum: float  # driver seconds per forum that do not grow with length
    driver_per_recording_second: float  # extract audio, publish, index: per recording second
    model_load: float  # one Whisper model load
    ray_overhead: float  # ray.init + shared-folder probe + shutdown


def project(rates: Rates, forums: int, hours: float, session_minutes: float,
            nodes: list[int]) -> None:
    recording = hours * 3600
    per_forum = math.ceil(recording / (session_minutes * 60))
    session = recording / per_forum
    units = forums * per_forum
    per_node = max(1, rates.cores // rates.threads)  # actors per node
    driver = forums * (rates.driver_fixed_per_forum
                       + rates.driver_per_recording_second * recording)
    # One session on one actor of `threads` threads (threads assumed to scale linearly).
    unit = rates.work_per_session_second * session * rates.cores / rates.threads
    serial = driver + rates.work_per_session_second * units * session + rates.model_load
    fixed = rates.ray_overhead + rates.model_load
    print(f"\nprojection: {forums} forums x {hours:g} h, sessions of {session / 60:.0f} min "
          f"({units} sessions), on nodes of {rates.cores} cores like this one")
    assumptions = (
        "assumptions: sessions are independent and cover the whole recording; a session needs "
        f"{rates.work_per_session_second:.3f} s of whole-machine time per second of session "
        f"(cut + transcribe, measured in the serial run), so {unit / 60:.1f} min on one actor "
        f"of {rates.threads} thread(s) (threads scale linearly); {per_node} actor(s) per node, "
        "sessions dealt out in rounds of nodes x actors; driver-side work (fetch, publish to "
        "local storage, index) is serial and on the critical path: "
        f"{rates.driver_fixed_per_forum:.2f} s per forum + "
        f"{rates.driver_per_recording_second * 3600:.0f} s per recorded hour = "
        f"{driver / 60:.1f} min in all; Ray start-up + shutdown ({rates.ray_overhead:.1f} s) "
        f"and one model load ({rates.model_load:.1f} s) are constant; uploads to S3 are not "
        "modelled.")
    print(textwrap.fill(assumptions, width=96, initial_indent="  ", subsequent_indent="  "))
    print(f"  serial executor on one node: {serial / 3600:.2f} h")
    print(f"  {'nodes':>5} {'actors':>6} {'rounds':>6} {'sessions':>9} {'total, no overlap':>18}"
          f" {'total, overlap':>15} {'speed-up':>8}")
    for n in nodes:
        actors = n * per_node
        rounds = math.ceil(units / actors)
        sessions = rounds * unit
        upper, lower = fixed + driver + sessions, fixed + max(driver, sessions)
        print(f"  {n:>5} {actors:>6} {rounds:>6} {sessions / 3600:>7.2f} h {upper / 3600:>16.2f} h"
              f" {lower / 3600:>13.2f} h {serial / upper:>7.1f}x")


@dataclass(frozen=True)
class RayCosts:
    """The Ray run's fixed costs: building the executor (ray.init and the shared-folder
    probe), ray.init alone, and shutting down."""

    construct: float
    startup: float
    shutdown: float

    @property
    def overhead(self) -> float:
        return self.startup + self.shutdown


def run_both(forum: DemoForum, count: int, keep: bool) -> tuple[RunResult, RunResult, RayCosts]:
    """The serial run, then the Ray run, each in a fresh work folder."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-executor-"))
    try:
        serial_executor = SerialExecutor()
        serial = run_all("serial", tmp / "serial", forum, count, serial_executor,
                         concurrent=False)
        serial_executor.close()

        from pipeline.executors.ray_cluster import RayExecutor

        constructing, ray_executor = run_timed(
            lambda: RayExecutor(shared_dirs=[tmp / "ray" / "work"]))
        try:
            ray = run_all("ray", tmp / "ray", forum, count, ray_executor, concurrent=True)
        finally:
            shutdown = run_timed(ray_executor.close)[0].wall
    finally:
        if keep:
            print(f"work folders kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return serial, ray, RayCosts(constructing.wall, ray_executor.startup_seconds, shutdown)


def compare(serial: RunResult, ray: RunResult, costs: RayCosts, sessions: int,
            session_seconds: float) -> None:
    """Both runs' wall times, Ray's overhead, errors and whether the transcripts agree."""
    construct, startup, shutdown = costs.construct, costs.startup, costs.shutdown
    overhead = costs.overhead
    ray_total = construct + ray.wall + shutdown
    print(f"\n{'executor':<34} {'wall':>8} {'ray/serial':>10} {'per session':>11} "
          f"{'session s per s':>15}")
    for label, wall in [("serial, forums in turn (baseline)", serial.wall),
                        ("ray local, forums side by side", ray.wall),
                        ("ray incl. start-up and shutdown", ray_total)]:
        print(f"{label:<34} {wall:>6.1f} s {wall / serial.wall:>9.2f}x "
              f"{wall / sessions:>9.2f} s {session_seconds / wall:>15.2f}")
    print(f"ray overhead: ray.init {startup:.1f} s + shutdown {shutdown:.1f} s = {overhead:.1f} s "
          f"(shared-folder probe {construct - startup:.1f} s more); "
          f"{'under' if overhead + construct - startup < 15 else 'OVER'} the 15 s goal")


def print_stages(serial: RunResult, sessions: int) -> tuple[float, float, float]:
    """The serial run's stage times; returns its session work, its driver-side work that
    grows with the recording's length, and all its driver-side work, in seconds."""
    stages = serial.stages
    work = sum(stages.get(name, 0.0) for name in SESSION_STAGES)
    scaled = sum(stages.get(name, 0.0) for name in SCALED_STAGES)
    driver = serial.wall - work
    print(f"serial run, summed over forums: cut {stages.get('cut sessions', 0.0):.1f} s "
          f"({stages.get('cut sessions', 0.0) / sessions:.2f} s per session), transcribe "
          f"{stages.get('transcribe', 0.0):.1f} s ({stages.get('transcribe', 0.0) / sessions:.2f}"
          f" s per session, one model load included), driver-side {driver:.1f} s "
          f"(extract audio {stages.get('extract audio', 0.0):.1f} s, upload "
          f"{stages.get('upload', 0.0):.1f} s, index {stages.get('index', 0.0):.1f} s)")
    return work, scaled, driver


def check_texts(serial: RunResult, ray: RunResult, sessions: int) -> None:
    """Each run's errors, and whether both wrote the same transcript text."""
    for result in (serial, ray):
        for error in result.errors:
            print(f"ERROR in the {result.label} run: {error}")
    same = serial.texts == ray.texts and len(serial.texts) == sessions
    print(f"transcripts: serial {len(serial.texts)}, ray {len(ray.texts)} of {sessions} "
          f"sessions; identical text: {'yes' if same else 'NO'}")
    for key in sorted(set(serial.texts) | set(ray.texts)):
        if serial.texts.get(key) != ray.texts.get(key):
            print(f"  differs: {key}")


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--forums", type=int, default=4, help="copies of the demo forum")
    add_keep(parser)
    parser.add_argument("--project-forums", type=int, default=20)
    parser.add_argument("--project-hours", type=float, default=3.0)
    parser.add_argument("--session-minutes", type=float, default=30.0)
    parser.add_argument("--nodes", default="1,2,4,8", help="cluster sizes to project")
    args = parser.parse_args()
    forum = demo_forum(BUILD, SMALL_LAYOUT, speech_dir())
    plans = load_config(forum.config_path).session_plans()
    sessions = args.forums * len(plans)
    session_seconds = args.forums * sum(plan.duration for plan in plans)
    recording_seconds = args.forums * forum.layout.total_seconds
    cores = os.cpu_count() or 2
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at start")
    print(f"workload: {args.forums} forums x {len(plans)} sessions ({sessions} sessions, "
          f"{session_seconds:.0f} s of session in {recording_seconds:.0f} s of recording), "
          f"Whisper base int8 beam 5")
    # also warms the disk cache for both runs
    model_load = run_timed(lambda: load_engine(WhisperSettings(cpu_threads=cores)))[0].wall
    print(f"Whisper model load (warm-up, outside the runs): {model_load:.1f} s")

    serial, ray, costs = run_both(forum, args.forums, args.keep)
    compare(serial, ray, costs, sessions, session_seconds)
    work, scaled, driver = print_stages(serial, sessions)
    check_texts(serial, ray, sessions)

    rates = Rates(cores=cores, threads=min(WhisperSettings().cpu_threads, cores),
                  work_per_session_second=max(work - model_load, 0.0) / session_seconds,
                  driver_fixed_per_forum=(driver - scaled) / args.forums,
                  driver_per_recording_second=scaled / recording_seconds,
                  model_load=model_load,
                  ray_overhead=costs.overhead + costs.construct - costs.startup)
    nodes = [int(n) for n in args.nodes.split(",") if n.strip()]
    project(rates, args.project_forums, args.project_hours, args.session_minutes, nodes)


if __name__ == "__main__":
    main()
