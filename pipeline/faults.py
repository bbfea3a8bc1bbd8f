"""Checkpoints where a crash test may kill the process (SIGKILL, no clean-up at all).

Long work calls `checkpoint("stage.step")` at the points where a real crash would hurt
most: mid-download, mid-cut, mid-transcription, mid-upload (between multipart parts),
while writing the manifest or the catalogue. For staff this is one cached dictionary
lookup. The crash tests (tests/test_crash_safety.py) set SORT_ARCHIVE_KILL_AT to die at
the Nth checkpoint (or the Nth of one name), then run the same command again and check
that it finishes and that nothing is lost, half-written or duplicated.

Interrupts (Ctrl-C, SIGTERM) are sticky. Python turns SIGINT into a KeyboardInterrupt in
the main thread at its next bytecode, wherever that is; when that happens inside a
finaliser or a weakref callback (the garbage collector runs them at any allocation, e.g.
the thread pool's callback when a finished cut's executor is freed), Python prints
"Exception ignored" and drops it, and the run went on to exit 0. So `on_signal` also
records the interrupt, every checkpoint and every unit of per-session work checks the
record (`stop_if_interrupted`), a running ffmpeg is stopped, and the CLI exits 130
whenever the record is set, even if every KeyboardInterrupt was swallowed.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from functools import cache

from pipeline.settings import FaultPlan, fault_plan

_LOCK = threading.Lock()
_SEEN: Counter[str] = Counter()
_INTERRUPTED = threading.Event()


def on_signal(signum: int, frame: object) -> None:
    """The handler for SIGINT and SIGTERM: remember the interrupt, then raise it."""
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def interrupted() -> bool:
    return _INTERRUPTED.is_set()


def forget_interrupt() -> None:
    _INTERRUPTED.clear()


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt (in any thread) once an interrupt was received."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


@cache
def _plan() -> FaultPlan:
    return fault_plan()


def checkpoint(name: str) -> None:
    stop_if_interrupted()
    plan = _plan()
    if plan.log is None and plan.kill_name is None and not plan.kill_count:
        return
    with _LOCK:
        _SEEN[name] += 1
        _SEEN["*"] += 1
        if plan.log is not None:
            with plan.log.open("a", encoding="utf-8") as log:
                log.write(f"{name}\n")
        seen = _SEEN[plan.kill_name] if plan.kill_name else _SEEN["*"]
        if plan.kill_count and (plan.kill_name in (None, name)) and seen == plan.kill_count:
            os.kill(os.getpid(), signal.SIGKILL)
