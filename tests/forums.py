"""The small forum configs the CLI, runner and manifest tests run: one writer, so every
test forum has the same shape (a local source, sessions with times, a local archive)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

Session = tuple[str, str, float, float]  # id, title, start, end (seconds)


def forum_text(forum_id: str, title: str, sessions: Sequence[Session], *,
               source: str = "{file: master.mp4}",
               storage: str = "{local: ./archive}") -> str:
    lines = [f"id: {forum_id}", f"title: {title}", "date: 2021-07-02",
             "organiser: 한국사회적기업진흥원", f"source: {source}", "sessions:"]
    lines += [f"  - {{id: {sid}, title: {stitle}, start: {start:g}, end: {end:g}}}"
              for sid, stitle, start, end in sessions]
    lines.append(f"storage: {storage}")
    return "\n".join(lines) + "\n"


def write_forum(folder: Path, forum_id: str, title: str, sessions: Sequence[Session],
                **parts: str) -> Path:
    path = folder / "forum.yaml"
    path.write_text(forum_text(forum_id, title, sessions, **parts), encoding="utf-8")
    return path
