"""The manifest's one-writer lock, with real concurrent processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pipeline.errors import ExitCode
from tests.forums import forum_text
from tests.recordings import counter_video

ROOT = Path(__file__).resolve().parents[1]
FORUM = forum_text("lock-test", "잠금 시험", [("one", "첫째", 0, 10), ("two", "둘째", 10, 20)])


def start_run(config: Path, work: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "-q", "run", str(config), "--work-dir", str(work),
         "--catalogue", str(work.parent / "catalogue.sqlite"), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ})


def wait_for_lock_holder(lock: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.is_file() and (text := lock.read_text(encoding="utf-8")).startswith("pid "):
            return text
        time.sleep(0.05)
    raise AssertionError("the first run never took the lock")


def test_a_second_run_is_refused_or_waits_and_state_stays_whole(tmp_path: Path) -> None:
    counter_video(tmp_path / "master.mp4", 20, [440, 880])
    config = tmp_path / "forum.yaml"
    config.write_text(FORUM, encoding="utf-8")
    work = tmp_path / "work"
    lock = work / "lock-test" / ".lock"

    first = start_run(config, work)
    holder = wait_for_lock_holder(lock)
    refused = start_run(config, work)
    waiting = start_run(config, work, "--wait")
    _, refused_err = refused.communicate(timeout=120)
    assert first.poll() is None, "the first run finished before the second was refused"
    assert refused.returncode == ExitCode.BUSY, refused_err
    lines = [line for line in refused_err.splitlines() if line.startswith("sort-archive:")]
    assert len(lines) == 1 and "Traceback" not in refused_err
    assert "lock-test" in lines[0] and holder.split(",")[0] in lines[0] and "--wait" in lines[0]

    first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    assert "transcribed 2 session(s)" in first_out
    waited_out, waited_err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, waited_err
    assert "transcribed 0 session(s), uploaded 0 object(s)" in waited_out  # after, not during

    state = json.loads((work / "lock-test" / "state.json").read_text(encoding="utf-8"))
    assert set(state["stages"]) == {"fetch", "plan", "split", "transcribe", "publish", "index"}
    assert not list((work / "lock-test").glob(".state.*"))  # no half-written manifest left


def test_a_waiting_run_starts_only_when_the_holder_lets_go(tmp_path: Path) -> None:
    from pipeline.manifest import forum_lock

    counter_video(tmp_path / "master.mp4", 20, [440, 880])
    config = tmp_path / "forum.yaml"
    config.write_text(FORUM, encoding="utf-8")
    work = tmp_path / "work"
    with forum_lock(work / "lock-test"):
        refused = start_run(config, work)
        _, err = refused.communicate(timeout=120)
        assert refused.returncode == ExitCode.BUSY and f"pid {os.getpid()}" in err, err
        waiting = start_run(config, work, "--wait")
        time.sleep(3)
        assert waiting.poll() is None  # still queued behind the lock
        assert not (work / "lock-test" / "state.json").exists()
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "transcribed 2 session(s)" in out
