"""Every PipelineError survives a pickle round trip (Ray sends them between processes)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from pipeline import errors
from pipeline.errors import PipelineError

# One example of every class, built as the code builds it. A new class without an
# example here fails `test_every_error_class_has_an_example`.
EXAMPLES: dict[type[PipelineError], PipelineError] = {
    errors.PipelineError: errors.PipelineError("something broke", "do this next"),
    errors.ConfigError: errors.ConfigError(Path("forum.yaml"), "sessions[1].end",
                                           "ends before it starts"),
    errors.UsageError: errors.UsageError("unknown stage 'upload'", "choose one of fetch"),
    errors.FetchError: errors.FetchError("cannot fetch http://x", "check source.url"),
    errors.MediaError: errors.MediaError("cutting failed", "line 1\nInvalid data", "retry"),
    errors.SplitError: errors.SplitError("clip is 1.0 s long", hint="check the times"),
    errors.TranscribeError: errors.TranscribeError("Whisper failed", None),
    errors.ModelError: errors.ModelError("weights missing", "make setup"),
    errors.PublishError: errors.PublishError("bucket missing", "create it"),
    errors.CatalogueError: errors.CatalogueError("catalogue locked", "wait"),
    errors.VerifyError: errors.VerifyError("sort-2025: 1 problem(s)", "publish again"),
    errors.DiskFullError: errors.DiskFullError("no space left", "free space"),
    errors.BusyError: errors.BusyError("forum busy (pid 1)", "use --wait"),
    errors.ExecutorError: errors.ExecutorError("node cannot see /work", "use NFS"),
    errors.PartialFailure: errors.PartialFailure("run", {"02-talk": "cut failed"}),
}


def all_subclasses(cls: type[PipelineError]) -> set[type[PipelineError]]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= all_subclasses(sub)
    return found


def test_every_error_class_has_an_example() -> None:
    declared = {c for c in all_subclasses(PipelineError) if c.__module__ == errors.__name__}
    assert declared == set(EXAMPLES)


@pytest.mark.parametrize("error", list(EXAMPLES.values()), ids=lambda e: type(e).__name__)
def test_pickle_round_trip_keeps_class_message_hint_and_fields(error: PipelineError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.one_line() == error.one_line() and str(copy) == str(error)
    assert (copy.message, copy.hint, copy.exit_code) == (error.message, error.hint,
                                                         error.exit_code)
    assert vars(copy) == vars(error)  # file, field, failures, stderr_tail...


def test_fields_of_specific_errors_survive() -> None:
    config = pickle.loads(pickle.dumps(EXAMPLES[errors.ConfigError]))
    assert isinstance(config, errors.ConfigError)
    assert (config.file, config.field) == (Path("forum.yaml"), "sessions[1].end")
    partial = pickle.loads(pickle.dumps(EXAMPLES[errors.PartialFailure]))
    assert isinstance(partial, errors.PartialFailure)
    assert partial.failures == {"02-talk": "cut failed"} and partial.exit_code == 8
    with pytest.raises(errors.MediaError, match="Invalid data"):
        raise pickle.loads(pickle.dumps(EXAMPLES[errors.MediaError]))
