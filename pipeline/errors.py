"""The exception hierarchy, and the exit code each kind of failure maps to.

Core code raises these; only `pipeline.cli` turns them into one line on stderr
and an exit status. Every message is written for media staff: what went wrong,
where, and what to do next.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any


class ExitCode:
    """Documented exit statuses of `sort-archive` (also listed in the README)."""

    OK = 0
    INTERNAL = 1  # a bug: please report it with the output of `-v`
    CONFIG = 2  # bad command line or forum config
    SOURCE = 3  # the recording could not be fetched or read
    MEDIA = 4  # ffmpeg failed while cutting
    TRANSCRIBE = 5  # Whisper failed or the model is missing
    PUBLISH = 6  # storage refused or could not be reached
    INDEX = 7  # the search catalogue could not be written or read
    PARTIAL = 8  # some sessions failed, the others finished
    DISK_FULL = 9  # no space left on a device
    BUSY = 10  # another run of the same forum is in progress
    EXECUTOR = 11  # the executor (Ray) could not start or reach shared storage
    VERIFY = 12  # `verify`: the archive in storage is missing objects or has altered ones
    INTERRUPTED = 130


class PipelineError(Exception):
    """Base class: a message for staff plus an optional hint saying what to do next."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message}; {self.hint}"
        return " ".join(text.split())

    def __str__(self) -> str:
        return self.one_line()

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickles as cls(*self.args), which breaks every subclass whose
        # __init__ takes other arguments. Errors cross process boundaries (Ray
        # workers), so rebuild from the instance's fields instead.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[PipelineError], state: dict[str, Any]) -> PipelineError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class ConfigError(PipelineError):
    """A forum config that cannot be used: names the file, the field path and the fix."""

    exit_code = ExitCode.CONFIG

    def __init__(self, file: Path | str | None, field: str | None, problem: str) -> None:
        self.file = Path(file) if file else None
        self.field = field
        self.problem = problem
        where = str(self.file) if self.file else "config"
        if field:
            where = f"{where}: {field}"
        super().__init__(f"{where}: {problem}")


class UsageError(PipelineError):
    exit_code = ExitCode.CONFIG


class FetchError(PipelineError):
    exit_code = ExitCode.SOURCE


class MediaError(PipelineError):
    """ffmpeg or ffprobe failed; carries the last lines ffmpeg wrote to stderr."""

    exit_code = ExitCode.MEDIA

    def __init__(self, message: str, stderr_tail: str = "", hint: str | None = None) -> None:
        self.stderr_tail = stderr_tail
        if stderr_tail:
            last = stderr_tail.strip().splitlines()[-1] if stderr_tail.strip() else ""
            message = f"{message} (ffmpeg: {last})" if last else message
        super().__init__(message, hint)


class SplitError(MediaError):
    pass


class TranscribeError(PipelineError):
    exit_code = ExitCode.TRANSCRIBE


class ModelError(TranscribeError):
    pass


class PublishError(PipelineError):
    exit_code = ExitCode.PUBLISH


class VerifyError(PipelineError):
    """The archive in storage does not match its manifest (forum.json)."""

    exit_code = ExitCode.VERIFY


class CatalogueError(PipelineError):
    """The search catalogue cannot be read or written (exit code 7, "index")."""

    exit_code = ExitCode.INDEX


class DiskFullError(PipelineError):
    exit_code = ExitCode.DISK_FULL


class BusyError(PipelineError):
    """Another run holds the forum's work folder; two writers would interleave state.json."""

    exit_code = ExitCode.BUSY


class ExecutorError(PipelineError):
    """The executor cannot run the work: Ray missing or unreachable, or no shared storage."""

    exit_code = ExitCode.EXECUTOR


class PartialFailure(PipelineError):
    """Some items of a stage failed while the rest finished; finished work is kept."""

    exit_code = ExitCode.PARTIAL

    def __init__(self, stage: str, failures: dict[str, str]) -> None:
        self.stage = stage
        self.failures = failures
        names = ", ".join(sorted(failures))
        first = next(iter(failures.values()))
        super().__init__(
            f"{stage}: {len(failures)} session(s) failed ({names}): {first}",
            "the other sessions are finished and kept; fix the cause and run again",
        )


def session_failure(exc: PipelineError | OSError) -> str:
    """One line for a session that failed, so the batch can go on without it.

    A full disk is not one session's problem: every later session would fail the
    same way, so it is raised again to stop the run (finished work is kept).
    """
    if isinstance(exc, PipelineError):
        return exc.one_line()
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise exc
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
