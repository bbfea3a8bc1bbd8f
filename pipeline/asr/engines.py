"""The engine registry: every Whisper engine the pipeline knows, in one place.

Each entry says how the engine is built (imported only when built, so naming the
engines costs nothing: `sort-archive --help` lists them), the compute type it uses
unless the config says otherwise, and the package extra it needs. The command
line's `--engine` choices, the config's `whisper.engine` check, `make_engine` and
the default compute type all read `ENGINES`; adding an engine is one entry here.

`whisper_settings` resolves a run's settings against it: the measured defaults
(`WhisperSettings`), under the forum config's `whisper:` section, under the command
line's `--engine`/`--model`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from pipeline.asr.engine import Engine
    from pipeline.config.forum import ForumConfig, WhisperConfig
    from pipeline.settings import Settings


@dataclass(frozen=True)
class EngineSpec:
    name: str
    build: Callable[[WhisperSettings], Engine]  # the engine, not yet loaded
    compute_type: str  # the default; measured in docs/benchmarks.md
    extra: str | None = None  # `pip install 'sort-archive[extra]'`; None: always installed


def _faster_whisper(settings: WhisperSettings) -> Engine:
    from pipeline.asr.faster import FasterWhisperEngine

    return FasterWhisperEngine(settings)


def _openai_whisper(settings: WhisperSettings) -> Engine:
    from pipeline.asr.openai_engine import OpenAIWhisperEngine

    return OpenAIWhisperEngine(settings)


ENGINES: dict[str, EngineSpec] = {spec.name: spec for spec in (
    EngineSpec("faster-whisper", _faster_whisper, compute_type="int8"),
    EngineSpec("openai-whisper", _openai_whisper, compute_type="float32", extra="openai"),
)}
DEFAULT_ENGINE = "faster-whisper"
ENGINE_NAMES = tuple(ENGINES)


def choices() -> str:
    """The engines' names for a one-line message: "a or b"."""
    return " or ".join(ENGINE_NAMES)


def engine_spec(name: str) -> EngineSpec:
    try:
        return ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown Whisper engine '{name}'", f"choose {choices()}") from None


def make_engine(settings: WhisperSettings) -> Engine:
    """The engine `settings.engine` names, not yet loaded."""
    return engine_spec(settings.engine).build(settings)


def engine_help() -> str:
    """`--engine`'s help: the default, and the extra each other engine needs."""
    needs = "; ".join(f"{spec.name} needs sort-archive[{spec.extra}]"
                      for spec in ENGINES.values() if spec.extra)
    return (f"Whisper engine (default {DEFAULT_ENGINE}{'; ' + needs if needs else ''}); "
            "overrides whisper.engine in the config")


def whisper_settings(section: WhisperConfig | None, config: ForumConfig | None,
                     settings: Settings, *, engine: str | None = None,
                     model: str | None = None) -> WhisperSettings:
    """The config's `whisper:` section over the measured defaults; the command line's
    `engine` and `model` over both. `config` (when there is one) places a relative
    `model_dir` and names the file in errors; else the environment's model folder.

    An engine name the registry does not know is a ConfigError (exit 2, one line).
    """
    if section is None:
        from pipeline.config.forum import WhisperConfig

        section = WhisperConfig()
    model_dir = (config.resolve(section.model_dir) if config is not None and section.model_dir
                 else settings.model_dir)
    name = engine or section.engine or DEFAULT_ENGINE
    if engine is None and name not in ENGINES:
        raise ConfigError(config.path if config is not None else None, "whisper.engine",
                          f"unknown Whisper engine '{name}'; choose {choices()}")
    spec = engine_spec(name)  # an unknown --engine: a UsageError, exit 2
    defaults = WhisperSettings()
    return replace(defaults, engine=name, model=model or section.model, model_dir=model_dir,
                   compute_type=section.compute_type or spec.compute_type,
                   decode=_decode(section, defaults.decode))


def _decode(section: WhisperConfig, decode: DecodeOptions) -> DecodeOptions:
    if section.beam_size is not None:
        decode = replace(decode, beam_size=section.beam_size)
    if section.vad is not None:
        decode = replace(decode, vad=section.vad)
    if section.vad_min_silence_ms is not None:
        decode = replace(decode, vad_min_silence_ms=section.vad_min_silence_ms)
    if section.condition_on_previous_text is not None:
        decode = replace(decode, condition_on_previous_text=section.condition_on_previous_text)
    return decode
