"""Forum config files (`config/forums/*.yaml`): the schema and its validation (read by `loader`).

The YAML shape is the public interface for staff, so key names are stable.
Relative paths resolve against the folder of the config file. Every problem is
raised as one `ConfigError` naming the file, the field path and the fix.

Values staff must still fill in are written as `FILL-IN: what to put here`;
validation reports each of them by field path instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from pipeline.config.storage import S3Storage as S3Storage
from pipeline.config.storage import Storage as Storage
from pipeline.config.storage import TransferSettings as TransferSettings
from pipeline.errors import ConfigError
from pipeline.results import ForumSummary, SessionPlan, SpeakerRef

PLACEHOLDER = "FILL-IN"
MAX_SECONDS = 1000 * 3600  # a time past this is a typo, not a recording
MIN_SESSION = 1.0  # seconds: anything shorter is a typo, not a session
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TIMECODE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d{1,3})?)$")


def parse_time(value: object) -> float:
    """`HH:MM:SS(.mmm)`, `MM:SS` or plain seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a time such as 00:12:30 or 750")
    too_long = len(value) > 32 if isinstance(value, str) else (
        isinstance(value, int) and abs(value) > MAX_SECONDS)  # 5,000 digits: no float
    if too_long:
        raise ValueError("is too long to be a time; write HH:MM:SS(.mmm) or seconds")
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        value = float(value)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _TIMECODE.match(value.strip())):
        hours, minutes, secs = m.groups()
        if int(minutes) >= 60 or float(secs) >= 60:
            raise ValueError(f"'{value}' has minutes or seconds of 60 or more")
        seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
    else:
        raise ValueError(f"'{value}' is not a time; write HH:MM:SS(.mmm) or seconds")
    if seconds < 0:
        raise ValueError("a time cannot be negative")
    if not seconds <= MAX_SECONDS:  # also NaN and infinity
        raise ValueError(f"{value} s is longer than any recording (at most "
                         f"{MAX_SECONDS // 3600} hours)")
    return seconds


def format_time(seconds: float) -> str:
    whole = int(seconds)
    millis = round((seconds - whole) * 1000)
    if millis == 1000:
        whole, millis = whole + 1, 0
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{text}.{millis:03d}" if millis else text


def ascii_slug(value: str) -> str:
    """Ids become folder names, object keys and URLs: ASCII slugs only."""
    if not SLUG.match(value):
        raise ValueError(f"'{value}' must be an ASCII slug: lower-case letters, digits, '-'")
    return value


class LocatedError(ValueError):
    """A problem found by a field's validator in one element below it: raised for
    `sessions` with `where=(1, "start")`, it is reported at `sessions[1].start`."""

    def __init__(self, where: tuple[int | str, ...], problem: str) -> None:
        super().__init__(problem)
        self.where = where


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Speaker(_Strict):
    name: str
    organisation: str | None = None


class Session(_Strict):
    """One programme item. Times may be left out: the plan stage then finds them."""

    id: str
    title: str
    speakers: list[Speaker] = Field(default_factory=list)
    start: float | None = None
    end: float | None = None
    duration_hint: float | None = None  # expected length, helps boundary detection

    _slug = field_validator("id")(classmethod(lambda cls, value: ascii_slug(value)))

    @field_validator("start", "end", "duration_hint", mode="before")
    @classmethod
    def _time(cls, value: object) -> float | None:
        return None if value is None else parse_time(value)

    @model_validator(mode="after")
    def _ordered(self) -> Session:
        if self.start is not None and self.end is not None:
            if self.end <= self.start:
                raise ValueError(
                    f"end {format_time(self.end)} is not after start {format_time(self.start)}"
                )
            if self.end - self.start < MIN_SESSION:
                raise ValueError(
                    f"lasts only {self.end - self.start:.3f} s ({format_time(self.start)} to "
                    f"{format_time(self.end)}); a session lasts at least a second"
                )
        return self


# A link with a host: `file:`, `ftp:` and `https:///etc/passwd` are not links to fetch.
HTTP_LINK = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


class Source(_Strict):
    url: str | None = None
    file: Path | None = None
    # The video's metadata as yt-dlp saved it (`yt-dlp -J URL > forum.info.json`, what
    # `yt-dlp --load-info-json` reads): the recording is downloaded from the formats it lists.
    info_json: Path | None = None

    @field_validator("url")
    @classmethod
    def _link(cls, value: str) -> str:
        if not HTTP_LINK.match(value.strip()):
            raise ValueError(f"'{value}' is not a link; write it with https://, or give a "
                             "video on this machine as 'file'")
        return value.strip()

    @model_validator(mode="after")
    def _one_of(self) -> Source:
        given = [self.url, self.file, self.info_json]
        if sum(value is not None for value in given) != 1:
            raise ValueError("give exactly one of 'url' (YouTube or other link), 'file' or "
                             "'info_json' (metadata saved by yt-dlp)")
        return self


MaterialKind = Literal["proceedings", "slides", "declaration", "other"]


class Material(_Strict):
    """A file published with the forum: a `path` below the config's folder (or below the
    operator's materials root, see `pipeline.archive.materials`), or an http(s) `url`.

    Only the path's shape is checked here; where it leads is checked on the file system
    by `pipeline.archive.materials.forum_materials`, by `validate` and before a run."""

    path: Path | None = None
    url: str | None = None
    kind: MaterialKind = "other"
    title: str | None = None

    @field_validator("path")
    @classmethod
    def _below(cls, value: Path) -> Path:
        if value.is_absolute():
            raise ValueError(f"'{value}' is an absolute path; give it relative to the "
                             "config's folder (or to the materials root)")
        if ".." in value.parts:
            raise ValueError(f"'{value}' climbs out with '..'; put the file in the config's "
                             "folder or in the materials root (SORT_ARCHIVE_MATERIALS_DIR)")
        if not value.parts:
            raise ValueError("is empty; name the file")
        return value

    @field_validator("url")
    @classmethod
    def _link(cls, value: str) -> str:
        if not HTTP_LINK.match(value.strip()):
            raise ValueError(f"'{value[:80]}' is not an http(s) link; only http:// and "
                             "https:// are fetched (a file on this machine goes in 'path')")
        return value.strip()

    @model_validator(mode="after")
    def _one_of(self) -> Material:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' or 'url'")
        return self


DEVICE = re.compile(r"cpu|cuda(:\d+)?")  # whisper.device and --device: cpu, cuda, cuda:N


class WhisperConfig(_Strict):
    """Optional `whisper:` section; `--engine`/`--model`/`--device` on the command line win.

    Unset values take the defaults chosen by CER (pipeline.asr.decoding.DecodeOptions and
    WhisperSettings; the table is in docs/benchmarks.md). The engine's name is checked
    against the engine registry (pipeline.asr.engines) where the settings are resolved
    (pipeline.asr.engines.whisper_settings): the config is core and knows no engines.
    """

    engine: str | None = None  # None: the default of the engine registry
    model: str = "base"  # bundled and offline; or any faster-whisper name, e.g. large-v3
    model_dir: Path | None = None  # model cache; default $SORT_ARCHIVE_MODEL_DIR or ~/.cache
    compute_type: str | None = None
    beam_size: int | None = Field(default=None, ge=1, le=10)
    vad: bool | None = None
    # Non-speech at least this long is skipped (title cards, breaks, applause); shorter
    # pauses are decoded as they are.
    vad_min_silence_ms: int | None = Field(default=None, ge=500, le=600_000)
    condition_on_previous_text: bool | None = None
    # 1: sequential, conditioned on the text before (the default, by CER); more: that many
    # chunks cut at pauses decoded at once, faster and 0.8 points of CER worse on the twelve
    # talks (docs/benchmarks.md, "Batched decoding"): a draft, or the GPU engine's batch.
    batch_size: int | None = Field(default=None, ge=1, le=64)
    # Where to decode: "cpu" (the default), "cuda" or "cuda:N". cuda without an engine
    # chooses the GPU engine; a machine without that GPU transcribes on the CPU, with a
    # warning (pipeline.asr.engines).
    device: str | None = None

    @field_validator("device")
    @classmethod
    def _device(cls, value: str | None) -> str | None:
        if value is not None and not DEVICE.fullmatch(value):
            raise ValueError(f"'{value}' is not a device; write cpu, cuda or cuda:N (the GPU's "
                             "number, from 0)")
        return value


class SplitConfig(_Strict):
    """Optional `split:` section; `--cut-mode` on the command line wins."""

    # smart: re-encode only up to the first keyframe of each cut (and from the last one
    # before its end), stream-copy the rest; accurate: re-encode all; copy: keyframes only.
    mode: Literal["smart", "accurate", "copy"] = "smart"


def _default_storage() -> Storage:
    return Storage(local=Path("archive"))


class Forum(_Strict):
    id: str
    title: str
    date: dt.date
    organiser: str
    language: Literal["ko"] = "ko"
    source: Source
    glossary: list[str] = Field(default_factory=list)
    # Misheard form -> correct form, applied to transcripts after decoding (logged; the
    # raw text stays in the JSON). Prompting Whisper with terms was measured worse.
    corrections: dict[str, str] = Field(default_factory=dict)
    # A YAML file of `corrections:` shared by the forums of a series (`sort-archive
    # corrections --accept --series FILE`), inside the config's folder; the forum's own
    # `corrections:` win over it (read by pipeline.review.corrections.forum_corrections).
    corrections_file: Path | None = None
    sessions: list[Session] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    storage: Storage = Field(default_factory=_default_storage)
    whisper: WhisperConfig = Field(default_factory=WhisperConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)

    @field_validator("corrections")
    @classmethod
    def _corrections(cls, value: dict[str, str]) -> dict[str, str]:
        for wrong, right in value.items():
            if not wrong.strip():
                raise ValueError("a correction needs a non-empty misheard form")
            if wrong == right:
                raise ValueError(f"the correction '{wrong}' -> '{right}' changes nothing")
        return value

    _slug = field_validator("id")(classmethod(lambda cls, value: ascii_slug(value)))

    @field_validator("corrections_file")
    @classmethod
    def _inside(cls, value: Path) -> Path:
        if value.is_absolute() or ".." in value.parts or not value.parts:
            raise ValueError(f"'{value}' must be a path inside the config's folder, without "
                             "'..' (e.g. series.corrections.yaml)")
        return value

    @field_validator("sessions")
    @classmethod
    def _sessions_consistent(cls, sessions: list[Session]) -> list[Session]:
        first: dict[str, int] = {}
        for index, session in enumerate(sessions):
            if session.id in first:
                raise LocatedError((index, "id"),
                                   f"session id '{session.id}' is used twice (also by "
                                   f"sessions[{first[session.id]}]); give each its own")
            first[session.id] = index
        timed = [(i, s) for i, s in enumerate(sessions)
                 if s.start is not None and s.end is not None]
        ordered = sorted(timed, key=lambda pair: pair[1].start or 0.0)
        for (before, earlier), (index, later) in itertools.pairwise(ordered):
            assert later.start is not None and earlier.end is not None
            if later.start < earlier.end:
                raise LocatedError((index, "start"),
                          f"session '{later.id}' starts at {format_time(later.start)}, before "
                          f"'{earlier.id}' (sessions[{before}]) ends at "
                          f"{format_time(earlier.end)}: sessions must not overlap")
        return sessions


class ForumConfig(BaseModel):
    """A validated forum plus the file it came from."""

    model_config = ConfigDict(frozen=True)

    path: Path
    forum: Forum
    # The operator's second place for materials (Settings.materials_root), beside the
    # config's own folder: see `pipeline.archive.materials`.
    materials_root: Path | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    def summary(self) -> ForumSummary:
        f = self.forum
        return ForumSummary(
            id=f.id, title=f.title, date=f.date.isoformat(), organiser=f.organiser,
            language=f.language,
        )

    def fully_timed(self) -> bool:
        return all(s.start is not None and s.end is not None for s in self.forum.sessions)

    def session_plans(self) -> list[SessionPlan]:
        """Sessions in programme order (by start time), numbered from 1, when every
        session has its times; else [] (the plan stage finds them)."""
        if not self.fully_timed():
            return []
        ordered = sorted(self.forum.sessions, key=lambda s: s.start or 0.0)
        return [
            SessionPlan(
                number=number, id=s.id, title=s.title, start=s.start or 0.0,
                end=s.end or 0.0,
                speakers=tuple(SpeakerRef(name=p.name, organisation=p.organisation)
                               for p in s.speakers),
            )
            for number, s in enumerate(ordered, start=1)
        ]

    def check_duration(self, duration: float) -> None:
        """Sessions must lie inside the recording, once its length is known."""
        for index, session in enumerate(self.forum.sessions):
            if session.end is not None and session.end > duration + 0.05:
                raise ConfigError(
                    self.path, f"sessions[{index}].end",
                    f"{format_time(session.end)} is past the end of the recording "
                    f"({format_time(duration)}); correct the time or the source",
                )
