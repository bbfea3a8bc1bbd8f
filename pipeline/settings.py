"""Machine-level settings, resolved once at the command line and passed down.

This is the only module that reads `os.environ` (the `SORT_ARCHIVE_*`
variables); everything below the CLI receives a `Settings` value instead, so a
Ray worker, a test or a library caller sees exactly what the driver resolved.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

WORK_DIR_ENV = "SORT_ARCHIVE_WORK_DIR"
CATALOGUE_ENV = "SORT_ARCHIVE_CATALOGUE"
MODEL_DIR_ENV = "SORT_ARCHIVE_MODEL_DIR"
SPEECH_DIR_ENV = "SORT_ARCHIVE_SPEECH_DIR"


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ["HOME"]) if environ.get("HOME") else Path.home()


@dataclass(frozen=True)
class Settings:
    work_root: Path = Path("work")
    catalogue: Path = Path.home() / ".local" / "share" / "sort-archive" / "catalogue.sqlite"
    model_dir: Path = Path.home() / ".cache" / "sort-archive" / "models"
    speech_dir: Path | None = None  # None: look next to the repository (see pipeline.demo)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = _home(env)

        def path(name: str, default: Path) -> Path:
            value = env.get(name)
            return Path(value).expanduser() if value else default

        return cls(
            work_root=path(WORK_DIR_ENV, Path("work")),
            catalogue=path(CATALOGUE_ENV, home / ".local" / "share" / "sort-archive"
                           / "catalogue.sqlite"),
            model_dir=path(MODEL_DIR_ENV, home / ".cache" / "sort-archive" / "models"),
            speech_dir=Path(env[SPEECH_DIR_ENV]).expanduser() if env.get(SPEECH_DIR_ENV)
            else None,
        )
