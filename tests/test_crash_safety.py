"""kill -9 anywhere, then the same command finishes: nothing lost, half-written or doubled.

A small forum (two sessions of real Korean speech, fetched over HTTP from 127.0.0.1,
published to the moto S3 server with 5 MiB multipart parts, an 11 MiB material) is run
once with every checkpoint logged (pipeline.faults). Then, for each kind of checkpoint
(mid-download, mid-cut, mid-transcription, mid-upload between multipart parts, the
manifest, the catalogue, the state file), a fresh run is killed there by SIGKILL and the
same command is run again. It must exit 0, `verify --deep` must pass, no `.part` file,
parts folder or temporary state may be left, every clip must be whole, and the
catalogue must hold exactly the rows of an uninterrupted run. SIGINT and SIGTERM must
exit 130 with one line and resume the same way.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from pipeline.demo import DEMO_SESSIONS, find_speech_dir
from pipeline.settings import CHECKPOINT_LOG_ENV, KILL_AT_ENV, Settings
from tests.recordings import duration, speech_counter_video

pytestmark = pytest.mark.slow

SESSION_S = 4.0
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def forum_source(http_root: tuple[Path, str]) -> str:
    """An 8 s speech video on the local HTTP server: two sessions of real Korean speech."""
    folder, base = http_root
    talk = find_speech_dir(Settings.from_environ().speech_dir) / DEMO_SESSIONS[0].talk_dir
    fragments = sorted(talk.glob("*.flac"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))[:3]
    speech_counter_video(folder / "crash-forum.mp4", fragments, 2 * SESSION_S)
    return f"{base}/crash-forum.mp4"


class Forum:
    """One scenario's private world: config, bucket, work folder and catalogue."""

    def __init__(self, root: Path, source: str, endpoint: str) -> None:
        self.root, self.endpoint = root, endpoint
        self.bucket = f"crash-{uuid.uuid4().hex[:12]}"
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        self.s3.create_bucket(Bucket=self.bucket)
        material = root / "자료" / "발표 데이터.bin"
        material.parent.mkdir(parents=True)
        material.write_bytes(os.urandom(11 * MIB))  # three multipart parts of 5 MiB
        config = {
            "id": "crash-forum", "title": "충돌 시험 포럼", "date": "2026-11-27",
            "organiser": "사회적가치연구원", "source": {"url": source},
            "sessions": [
                {"id": "opening", "title": "개회", "start": 0, "end": SESSION_S},
                {"id": "keynote", "title": "기조 강연", "start": SESSION_S,
                 "end": 2 * SESSION_S, "speakers": [{"name": "김민지"}]},
            ],
            "materials": [{"path": "자료/발표 데이터.bin", "kind": "other"}],
            "storage": {"s3": {"bucket": self.bucket, "endpoint_url": endpoint,
                               "region": "us-east-1", "addressing_style": "path",
                               "transfer": {"multipart_threshold_mib": 5, "part_size_mib": 5,
                                            "max_concurrency": 2}}},
        }
        self.config = root / "forum.yaml"
        self.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in (KILL_AT_ENV, CHECKPOINT_LOG_ENV)}
        env |= {"HOME": str(self.root / "home"),
                "SORT_ARCHIVE_WORK_DIR": str(self.root / "work"),
                "SORT_ARCHIVE_CATALOGUE": str(self.root / "catalogue.sqlite"),
                "SORT_ARCHIVE_MODEL_DIR": str(Settings.from_environ().model_dir),
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", **extra}
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pipeline", *args, "--quiet"]

    def run(self, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command("run", str(self.config)), env=self.env(**extra),
                              capture_output=True, text=True, timeout=600)

    def verify(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command("verify", str(self.config), "--deep"),
                              env=self.env(), capture_output=True, text=True, timeout=300)

    def rows(self) -> dict[str, int]:
        with sqlite3.connect(self.root / "catalogue.sqlite") as db:
            # Real and virtual tables; not FTS5's shadow tables, whose row counts follow
            # its internal segment merging rather than the data.
            tables = [name for (name,) in db.execute(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN "
                "('table', 'virtual') AND name NOT LIKE 'sqlite_%'")]
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}

    def leftovers(self) -> list[Path]:
        found = []
        for path in self.root.rglob("*"):
            name = path.name
            if (name.endswith((".part", ".ytdl")) or ".part." in name or name.endswith(".parts")
                    or (name.startswith(".state.") and name.endswith(".json"))):
                found.append(path)
        return found

    def open_uploads(self) -> int:
        return len(self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))


def assert_whole(forum: Forum, reference_rows: dict[str, int]) -> None:
    verified = forum.verify()
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert forum.leftovers() == []
    assert forum.open_uploads() == 0
    clips = sorted(c for c in (forum.root / "work").rglob("*.mp4")
                   if c.name.startswith(("01-", "02-")))
    assert [c.name for c in clips] == ["01-opening.mp4", "02-keynote.mp4"], clips
    for clip in clips:
        assert abs(duration(clip) - SESSION_S) < 0.2, clip
    assert forum.rows() == reference_rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, forum_source: str,
              s3_endpoint: str) -> dict[str, Any]:
    """An uninterrupted run, with every checkpoint it passed, in order."""
    root = tmp_path_factory.mktemp("reference")
    forum = Forum(root, forum_source, s3_endpoint)
    log = root / "checkpoints.log"
    result = forum.run(**{CHECKPOINT_LOG_ENV: str(log)})
    assert result.returncode == 0, result.stderr
    passed = log.read_text(encoding="utf-8").split()
    return {"forum": forum, "checkpoints": passed, "rows": forum.rows()}


def kill_points(passed: list[str]) -> list[str]:
    """One kill per kind of checkpoint; the middle of the multipart upload for uploads."""
    counts = Counter(passed)
    points = [f"{name}:1" for name in counts if name not in ("publish.upload",)]
    points.append(f"publish.upload:{max(1, counts['publish.upload'] // 2)}")
    return points


def test_every_kind_of_checkpoint_is_passed(reference: dict[str, Any]) -> None:
    kinds = set(reference["checkpoints"])
    assert {"fetch.download", "split.cut", "transcribe.decode", "transcribe.write",
            "publish.put", "publish.upload", "publish.manifest", "index.write",
            "state.save"} <= kinds, kinds
    assert reference["checkpoints"].count("publish.upload") >= 3  # parts of the material
    assert reference["rows"]["passages"] > 0 and reference["rows"]["sessions"] == 2
    assert_whole(reference["forum"], reference["rows"])


@pytest.mark.parametrize("kind", ["fetch.download", "split.cut", "transcribe.decode",
                                  "transcribe.write", "publish.put", "publish.upload",
                                  "publish.manifest", "index.write", "state.save"])
def test_killed_anywhere_the_same_command_finishes(kind: str, reference: dict[str, Any],
                                                   forum_source: str, s3_endpoint: str,
                                                   tmp_path: Path) -> None:
    point = next(p for p in kill_points(reference["checkpoints"]) if p.startswith(kind + ":"))
    forum = Forum(tmp_path, forum_source, s3_endpoint)
    killed = forum.run(**{KILL_AT_ENV: point})
    assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr)
    again = forum.run()
    assert again.returncode == 0, (point, again.stderr)
    assert_whole(forum, reference["rows"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_runs_exit_130_and_resume(signum: int, reference: dict[str, Any],
                                              forum_source: str, s3_endpoint: str,
                                              tmp_path: Path) -> None:
    forum = Forum(tmp_path, forum_source, s3_endpoint)
    log = tmp_path / "checkpoints.log"
    process = subprocess.Popen(forum.command("run", str(forum.config)),
                               env=forum.env(**{CHECKPOINT_LOG_ENV: str(log)}),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and "split.cut" in log.read_text(encoding="utf-8"):
            break
        time.sleep(0.05)
    process.send_signal(signum)
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 130, (process.returncode, err)
    errors = [line for line in err.splitlines() if line.startswith("sort-archive:")]
    assert len(errors) == 1 and "interrupted" in errors[0] and "Traceback" not in err, err
    again = forum.run()
    assert again.returncode == 0, again.stderr
    assert_whole(forum, reference["rows"])
