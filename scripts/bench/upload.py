"""Upload benchmark: publish ~500 MB to a loopback S3 server with our settings and boto3's.

Starts moto's S3 server (`python -m moto.server`, its own process, as a store
would be) on 127.0.0.1, builds a forum of four 115 MiB clips (random bytes: they
neither compress nor deduplicate), small transcripts and two materials, and
publishes it through `pipeline.stages.publish.publish`, the stage's own code:

- boto3's defaults: checksums `when_supported` (CRC32 on every upload since
  boto3 1.36), 8 MiB threshold and parts, 10 threads (the baseline);
- ours: checksums `when_required`, and the config's TransferConfig defaults;
- ours with checksums on: our TransferConfig with `when_supported`.

Each configuration publishes into its own empty bucket, `--runs` times (order
rotated; best and median kept). Then the idempotent re-run: publishing the same
forum again, once re-hashing every file and once with cached checksums, as the
runner does from its manifest.

    .venv/bin/python scripts/bench/upload.py [--runs 5] [--mib 115]
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore
from _common import ROOT, add_runs, bench_parser, machine, print_table, run_timed

from pipeline.config.forum import S3Storage, Storage
from pipeline.manifest import sha256_file
from pipeline.progress import LogProgress
from pipeline.results import (
    Clip,
    ForumSummary,
    MaterialFile,
    PublishResult,
    SessionPlan,
    Transcript,
    TranscriptFiles,
)
from pipeline.stages.publish import PublishRequest, publish

MIB = 1024 * 1024
FORUM = ForumSummary(id="bench-upload", title="업로드 벤치마크", date="2026-11-27",
                     organiser="사회적가치연구원", language="ko")
CONFIGS: dict[str, dict[str, Any]] = {
    "boto3 defaults (baseline)": {
        "request_checksum_calculation": "when_supported",
        "response_checksum_validation": "when_supported",
        "transfer": {"multipart_threshold_mib": 8, "part_size_mib": 8, "max_concurrency": 10}},
    "ours (default)": {},
    "ours, checksums on": {"request_checksum_calculation": "when_supported",
                           "response_checksum_validation": "when_supported"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto server did not start")


def build_forum(folder: Path, clip_mib: int) -> PublishRequest:
    folder.mkdir(parents=True, exist_ok=True)
    clips, transcripts = [], []
    for number in range(1, 5):
        plan = SessionPlan(number=number, id=f"talk{number}", title=f"발표 {number}",
                           start=(number - 1) * 600.0, end=number * 600.0)
        clip = folder / f"{plan.slug}.mp4"
        if not clip.exists() or clip.stat().st_size != clip_mib * MIB:
            with clip.open("wb") as out:
                for _ in range(clip_mib):
                    out.write(os.urandom(MIB))
        clips.append(Clip(session=plan, path=clip, duration=600.0))
        files = TranscriptFiles(vtt=folder / f"{plan.slug}.ko.vtt",
                                srt=folder / f"{plan.slug}.ko.srt",
                                json_path=folder / f"{plan.slug}.json",
                                txt=folder / f"{plan.slug}.txt")
        for path in (files.vtt, files.srt, files.json_path, files.txt):
            path.write_text("사회적 가치 측정에 대해 말씀드리겠습니다.\n" * 2000, encoding="utf-8")
        transcripts.append(Transcript(session=plan, language="ko", files=files, model="base"))
    materials = []
    for name, mib in (("자료집.pdf", 20), ("발표자료.pdf", 5)):
        path = folder / name
        if not path.exists():
            path.write_bytes(os.urandom(mib * MIB))
        materials.append(MaterialFile(path=path, kind="proceedings"))
    return PublishRequest(forum=FORUM, clips=clips, transcripts=transcripts,
                          materials=materials, storage=Storage(local=folder))


def storage(endpoint: str, bucket: str, settings: dict[str, Any]) -> Storage:
    return Storage(s3=S3Storage(bucket=bucket, endpoint_url=endpoint, region="us-east-1",
                                addressing_style="path", **settings))


def empty_bucket(client: Any, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])


def cpu_seconds(server: int) -> float:
    """CPU time of this process (all threads) and of the server process: on a shared
    machine it varies far less than wall time, and it is what checksums cost."""
    fields = Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return time.process_time() + (int(fields[11]) + int(fields[12])) / ticks


def main() -> None:
    parser = bench_parser(__doc__)
    add_runs(parser, 5, "publishes per configuration")
    parser.add_argument("--mib", type=int, default=115, help="size of each of the 4 clips")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    request = build_forum(ROOT / "build" / "bench-upload", args.mib)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = start_moto(port)
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        times: dict[str, list[float]] = {name: [] for name in CONFIGS}
        cpus: dict[str, list[float]] = {name: [] for name in CONFIGS}
        names, kept, result = list(CONFIGS), "", None
        for run in range(args.runs):
            for name in names[run % len(names):] + names[:run % len(names)]:
                bucket = f"bench-{names.index(name)}-{run}"
                client.create_bucket(Bucket=bucket)
                target = storage(endpoint, bucket, CONFIGS[name])
                spent, result = run_timed(lambda t=target: publish(_to(request, t), LogProgress()),
                                          lambda: cpu_seconds(server.pid))
                seconds, used = spent.wall, spent.cpu
                times[name].append(seconds)
                cpus[name].append(used)
                print(f"  run {run + 1}: {name}: {seconds:.2f} s, {used:.2f} CPU s", flush=True)
                if name == "ours (default)" and not kept:
                    kept = bucket  # the re-runs below publish into it again
                else:
                    empty_bucket(client, bucket)
                    client.delete_bucket(Bucket=bucket)
        target = storage(endpoint, kept, {})
        cache = {path: sha256_file(path) for path in _files(request)}
        rehash = run_timed(lambda: publish(_to(request, target), LogProgress()))[0].wall
        cached = run_timed(lambda: publish(_to(request, target, cache.__getitem__),
                                           LogProgress()))[0].wall
    finally:
        server.terminate()
        server.wait()
    assert result is not None
    report(times, cpus, result, rehash, cached)


def _to(request: PublishRequest, target: Storage,
        checksum: Callable[[Path], str] = sha256_file) -> PublishRequest:
    return PublishRequest(forum=request.forum, clips=request.clips,
                          transcripts=request.transcripts, materials=request.materials,
                          storage=target, checksum=checksum)


def _files(request: PublishRequest) -> list[Path]:
    return [*(c.path for c in request.clips), *(f for t in request.transcripts
                                                for f in t.files.all()),
            *(m.path for m in request.materials)]


def report(times: dict[str, list[float]], cpus: dict[str, list[float]],
           result: PublishResult, rehash: float, cached: float) -> None:
    best = {name: min(runs) for name, runs in times.items()}
    median = {name: statistics.median(runs) for name, runs in times.items()}
    cpu = {name: statistics.median(runs) for name, runs in cpus.items()}
    baseline = "boto3 defaults (baseline)"
    total = sum(obj.size for obj in result.objects) / MIB
    tools = (f"boto3 {boto3.__version__}", f"botocore {botocore.__version__}")
    print(f"\nMachine: {machine(*tools, ffmpeg=False)}; {dt.date.today().isoformat()}")
    print(f"Workload: {total:.0f} MiB in {len(result.objects)} objects, moto server "
          f"on 127.0.0.1 (HTTP), {len(times[baseline])} runs each\n")
    print_table(("settings", "wall, best", "wall, median", "throughput (median)",
                 "CPU s, median (client + server)", "ratio vs boto3 defaults: wall median / CPU"))
    for name in times:
        print(f"| {name} | {best[name]:.2f} s | {median[name]:.2f} s | "
              f"{total / median[name]:.0f} MiB/s | {cpu[name]:.2f} s | "
              f"x{median[baseline] / median[name]:.2f} / x{cpu[baseline] / cpu[name]:.2f} |")
    print(f"\nIdempotent re-run (nothing uploaded): {rehash:.2f} s re-hashing every file, "
          f"{cached:.2f} s with the runner's cached checksums")


if __name__ == "__main__":
    main()
