"""Machine-level settings, resolved once at the command line and passed down.

This is the only module that reads `os.environ` (the `SORT_ARCHIVE_*`
variables); everything below the CLI receives a `Settings` value instead, so a
Ray worker, a test or a library caller sees exactly what the driver resolved.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import UsageError

WORK_DIR_ENV = "SORT_ARCHIVE_WORK_DIR"
CATALOGUE_ENV = "SORT_ARCHIVE_CATALOGUE"
MODEL_DIR_ENV = "SORT_ARCHIVE_MODEL_DIR"
SPEECH_DIR_ENV = "SORT_ARCHIVE_SPEECH_DIR"
MATERIALS_DIR_ENV = "SORT_ARCHIVE_MATERIALS_DIR"
FETCH_TIMEOUT_ENV = "SORT_ARCHIVE_FETCH_TIMEOUT"
# Seconds a download may wait for data before the request is retried (yt-dlp's own
# default); a server that stops answering is given up after 11 tries, so a hung link
# ends a run in minutes, never hours.
DEFAULT_FETCH_TIMEOUT = 20.0


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ["HOME"]) if environ.get("HOME") else Path.home()


KILL_AT_ENV = "SORT_ARCHIVE_KILL_AT"
CHECKPOINT_LOG_ENV = "SORT_ARCHIVE_CHECKPOINT_LOG"


@dataclass(frozen=True)
class FaultPlan:
    """Crash testing (pipeline.faults): die by SIGKILL at the Nth checkpoint, or the Nth of
    one name ("NAME:N"), and/or log every checkpoint passed. Empty for staff."""

    kill_name: str | None = None
    kill_count: int = 0
    log: Path | None = None


def fault_plan(environ: Mapping[str, str] | None = None) -> FaultPlan:
    env = os.environ if environ is None else environ
    text = env.get(KILL_AT_ENV, "").strip()
    name, _, count = text.rpartition(":")
    log = Path(env[CHECKPOINT_LOG_ENV]) if env.get(CHECKPOINT_LOG_ENV) else None
    if not text:
        return FaultPlan(log=log)
    if not count.isdigit() or int(count) < 1:
        raise UsageError(f"{KILL_AT_ENV}={text!r} is not N or NAME:N with N >= 1")
    return FaultPlan(kill_name=name or None, kill_count=int(count), log=log)


@dataclass(frozen=True)
class Settings:
    work_root: Path = Path("work")
    catalogue: Path = Path.home() / ".local" / "share" / "sort-archive" / "catalogue.sqlite"
    model_dir: Path = Path.home() / ".cache" / "sort-archive" / "models"
    speech_dir: Path | None = None  # None: look next to the repository (see pipeline.demo.forum)
    # Where material paths may also lead, beside the config's own folder (None: only there);
    # see pipeline.archive.materials.
    materials_root: Path | None = None
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT  # seconds without data from a server

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
            materials_root=(Path(env[MATERIALS_DIR_ENV]).expanduser().resolve()
                            if env.get(MATERIALS_DIR_ENV) else None),
            fetch_timeout=_seconds(env, FETCH_TIMEOUT_ENV, DEFAULT_FETCH_TIMEOUT),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value < math.inf):
        raise UsageError(f"{name}={text!r} is not a number of seconds",
                         f"set it to a positive number such as {default:g}, or unset it")
    return value
