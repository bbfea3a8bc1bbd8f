"""Progress reporting that stages receive from the runner.

Stages never print: they call `progress.task(...)` and `progress.note(...)`.
The CLI chooses a rich terminal reporter, or a plain logging one for `--quiet`
and CI, where redrawn bars only clutter the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

log = logging.getLogger("pipeline")


class Task(Protocol):
    def update(self, completed: float, total: float | None = None) -> None: ...

    def advance(self, amount: float = 1.0) -> None: ...


class Progress(Protocol):
    def task(
        self, description: str, total: float | None = None
    ) -> AbstractContextManager[Task]: ...

    def note(self, message: str) -> None: ...



class _NullTask:
    def update(self, completed: float, total: float | None = None) -> None:
        pass

    def advance(self, amount: float = 1.0) -> None:
        pass


class LogProgress:
    """Plain progress: one log line when a task starts and when it ends."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self.logger = logger

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[Task]:
        self.logger.info("%s ...", description)
        yield _NullTask()
        self.logger.info("%s done", description)

    def note(self, message: str) -> None:
        self.logger.info("%s", message)


class RichProgress:
    """Live rich bars on the terminal (download, cutting, transcription, upload)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as _RichBars

        self.console = Console(stderr=True)
        self._bars = _RichBars(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._lock = threading.Lock()
        self._open = 0  # tasks showing now: the live display runs while there is one

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[Task]:
        bars = self._bars
        with self._lock:  # two stages may show their bars at once (split and transcribe)
            self._open += 1
            if self._open == 1:
                bars.start()
        task_id = bars.add_task(description, total=total)

        class _RichTask:
            def update(self, completed: float, total: float | None = None) -> None:
                if total is not None:
                    bars.update(task_id, total=total)
                bars.update(task_id, completed=completed)

            def advance(self, amount: float = 1.0) -> None:
                bars.advance(task_id, amount)

        try:
            yield _RichTask()
            finished_total = bars.tasks[task_id].total
            if finished_total is not None:
                bars.update(task_id, completed=finished_total)
        finally:
            with self._lock:
                self._open -= 1
                if self._open == 0:
                    bars.stop()

    def note(self, message: str) -> None:
        self.console.print(message, highlight=False)
