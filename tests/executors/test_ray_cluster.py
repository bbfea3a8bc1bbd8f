"""Several forums on a local Ray cluster, through the CLI, against a serial run.

Each forum is a frame-counter video with real Korean speech, so the clips can be
compared frame by frame and the transcripts word by word.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.demo import find_speech_dir
from pipeline.errors import ExitCode
from pipeline.settings import Settings
from tests.recordings import frame_hashes, speech_counter_video

ROOT = Path(__file__).resolve().parents[2]
TALKS = {"ray-a": "data/6rmA7KCV7ZiE/MJ0_NG4dsCY", "ray-b": "data/7Jyk7Jes7KSA/LnGadr1MDs8"}
SECONDS = 16.0
FORUM = """\
id: {id}
title: 분산 시험 {id}
date: 2021-07-02
organiser: 한국사회적기업진흥원
source: {{file: master.mp4}}
sessions:
  - {{id: first, title: 첫째, start: 0.52, end: 7.4}}
  - {{id: second, title: 둘째, start: 7.4, end: 15.0}}
storage: {{local: ../archive}}
"""


def sort_archive(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", "-q", *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ}, timeout=600)


@pytest.fixture(scope="module")
def forums(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    speech = find_speech_dir(Settings.from_environ().speech_dir)
    configs = []
    for forum_id, talk in TALKS.items():
        folder = tmp_path_factory.mktemp(forum_id)
        fragments = sorted((speech / talk).glob("*.flac"))
        lengths, chosen = 0.0, []
        for fragment in fragments:  # about 14 s of speech
            chosen.append(fragment)
            lengths += fragment.stat().st_size / 32000 / 0.6  # FLAC ~60% of 16-bit PCM
            if lengths > 14:
                break
        speech_counter_video(folder / "master.mp4", chosen, SECONDS)
        config = folder / "forum.yaml"
        config.write_text(FORUM.format(id=forum_id), encoding="utf-8")
        configs.append(config)
    return configs


def run(configs: list[Path], work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return sort_archive("run", *map(str, configs), "--work-dir", str(work),
                        "--catalogue", str(work / "catalogue.sqlite"), *extra)


def outputs(work: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for clip in sorted(work.glob("*/sessions/*/*.mp4")):
        found[f"{clip.parts[-4]}/{clip.name}"] = frame_hashes(clip)
    for text in sorted(work.glob("*/sessions/*/*.txt")):
        found[f"{text.parts[-4]}/{text.name}"] = text.read_text(encoding="utf-8")
    return found


@pytest.fixture(scope="module")
def serial(forums: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("serial") / "work"
    result = run(forums, work)
    assert result.returncode == 0, result.stderr
    return outputs(work)


def test_ray_gives_the_same_clips_and_transcripts_and_reruns_do_nothing(
        forums: list[Path], serial: dict[str, Any], tmp_path: Path) -> None:
    work = tmp_path / "work"
    first = run(forums, work, "--executor", "ray")
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert first.stdout.count("transcribed 2 session(s)") == 2, first.stdout
    ours = outputs(work)
    assert len(ours) == 8 and ours.keys() == serial.keys()
    for name, value in serial.items():
        assert ours[name] == value, name
    assert all(ours[f"{f}/02-second.txt"].strip() for f in TALKS)  # real words, not empty

    second = run(forums, work, "--executor", "ray")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("transcribed 0 session(s), uploaded 0 object(s)") == 2
    for stage in ("fetch", "split", "transcribe", "publish"):
        assert second.stdout.count(f"{stage:<11} skipped (up to date)") == 2, second.stdout


def blocked_run(forums: list[Path], work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    blocker = work / "ray-a" / "sessions" / "02-second"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the session's folder should be", encoding="utf-8")
    return run(forums, work, *extra)


def test_a_session_failing_on_a_worker_is_reported_as_it_is_locally(
        forums: list[Path], tmp_path: Path) -> None:
    local = blocked_run(forums, tmp_path / "serial")
    remote = blocked_run(forums, tmp_path / "ray", "--executor", "ray")
    for result in (local, remote):
        assert result.returncode == ExitCode.PARTIAL, result.stderr
        assert "Traceback" not in result.stderr
    line = [x for x in remote.stderr.splitlines() if x.startswith("sort-archive:")]
    assert len(line) == 1 and "ray-a" in line[0] and "02-second" in line[0], remote.stderr
    local_line = [x for x in local.stderr.splitlines() if x.startswith("sort-archive:")]
    assert local_line == [line[0].replace(str(tmp_path / "ray"), str(tmp_path / "serial"))]
    assert "ray-b: done" in remote.stdout  # the other forum finished

    (tmp_path / "ray" / "ray-a" / "sessions" / "02-second").unlink()
    again = run(forums, tmp_path / "ray", "--executor", "ray")
    assert again.returncode == 0, again.stderr
    assert "ray-a: done" in again.stdout and "transcribed 1 session(s)" in again.stdout


def test_every_node_must_see_the_work_folder(tmp_path: Path) -> None:
    from pipeline.errors import ExecutorError
    from pipeline.executors.ray_cluster import RayExecutor, read_probe

    assert read_probe(str(tmp_path / "missing"), "token")[1] is not None
    (tmp_path / "probe").write_text("other", encoding="utf-8")
    assert "other content" in (read_probe(str(tmp_path / "probe"), "token")[1] or "")
    executor = RayExecutor(shared_dirs=[tmp_path / "shared"])  # every node reads it here
    try:
        assert not list((tmp_path / "shared").iterdir())  # the probe is cleaned up
        # A node that does not mount the work folder finds no probe where the driver put
        # it; on this one-node cluster, a probe the driver never wrote is the same sight.
        with pytest.raises(ExecutorError, match=r"cannot see the work folder .*NFS"):
            executor.verify_probe(tmp_path / "shared" / ".sort-archive-probe-x", "token")
    finally:
        executor.close()


def test_an_unreachable_cluster_is_one_line(forums: list[Path], tmp_path: Path) -> None:
    result = run(forums[:1], tmp_path / "work", "--executor", "ray",
                 "--ray-address", "127.0.0.1:1")
    assert result.returncode == ExitCode.EXECUTOR, result.stderr
    lines = [x for x in result.stderr.splitlines() if x.startswith("sort-archive:")]
    assert len(lines) == 1 and "127.0.0.1:1" in lines[0] and "ray start --head" in lines[0]
    assert not (tmp_path / "work" / "ray-a" / "sessions").exists()


def test_ray_address_without_ray_is_a_usage_error(forums: list[Path], tmp_path: Path) -> None:
    result = run(forums[:1], tmp_path / "work", "--ray-address", "127.0.0.1:6379")
    assert result.returncode == ExitCode.CONFIG and "--executor ray" in result.stderr
