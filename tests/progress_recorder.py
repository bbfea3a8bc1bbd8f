"""A real `Progress` for tests that remembers its tasks, the amount advanced and notes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.progress import Task


class RecordingProgress:
    def __init__(self) -> None:
        self.tasks: list[tuple[str, float | None]] = []
        self.advanced = 0.0
        self.notes: list[str] = []

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[Task]:
        self.tasks.append((description, total))
        outer = self

        class _Task:
            def update(self, completed: float, total: float | None = None) -> None:
                outer.advanced = completed

            def advance(self, amount: float = 1.0) -> None:
                outer.advanced += amount

        yield _Task()

    def note(self, message: str) -> None:
        self.notes.append(message)
