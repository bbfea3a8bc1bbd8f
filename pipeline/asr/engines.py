"""The engine registry: every Whisper engine the pipeline knows, in one place.

Each entry says how the engine is built (imported only when built, so naming the
engines costs nothing: `sort-archive --help` lists them), the compute type it uses
unless the config says otherwise, and the package extra it needs. The command
line's `--engine` choices, the config's `whisper.engine` check, `make_engine` and
the default compute type all read `ENGINES`; adding an engine is one entry here.

`whisper_settings` resolves a run's settings against it: the measured defaults
(`WhisperSettings`), under the forum config's `whisper:` section, under the command
line's `--engine`/`--model`/`--device`.

The device (`whisper.device` or `--device`: cpu, the default, cuda or cuda:N) chooses the
engine when none is named: on cuda it is torch-batched (`GPU_ENGINE`), because
faster-whisper's CTranslate2 cannot use the GPUs we have (no CUDA 12 libraries for it)
and PyTorch can. A named engine is used on the device asked for. When the chosen engine
cannot reach that GPU here (`EngineSpec.gpu_problem`: torch or CTranslate2 sees no CUDA
device, or fewer than N + 1, or torch is not installed), the run does not stop: it
transcribes on the CPU, with the CPU default engine when the engine was chosen by the
device and with the named one otherwise, and says so in one warning line. The settings
returned are what will run (engine, device), so the transcribe fingerprint, which holds
the engine's identity, records the CPU run and not the GPU one that was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from pipeline.asr.engine import Engine
    from pipeline.config.forum import ForumConfig, WhisperConfig
    from pipeline.settings import Settings


log = logging.getLogger(__name__)


def _torch_gpu_problem(device: str) -> str | None:
    try:
        import torch
    except ImportError:
        return "no CUDA GPU for torch here (torch is not installed)"
    return _count_problem(device, torch.cuda.device_count() if torch.cuda.is_available()
                          else 0, "torch")


def _ctranslate2_gpu_problem(device: str) -> str | None:
    import ctranslate2  # type: ignore[import-untyped]

    return _count_problem(device, ctranslate2.get_cuda_device_count(), "CTranslate2")


def _count_problem(device: str, count: int, runtime: str) -> str | None:
    index = int(device.partition(":")[2] or 0)
    if count == 0:
        return f"no CUDA GPU here ({runtime} finds none)"
    return None if index < count else f"no CUDA GPU {index} here ({runtime} finds {count})"


@dataclass(frozen=True)
class EngineSpec:
    name: str
    build: Callable[[WhisperSettings], Engine]  # the engine, not yet loaded
    compute_type: str  # the default; measured in docs/benchmarks.md
    extra: str | None = None  # `pip install 'sort-archive[extra]'`; None: always installed
    # Why the engine cannot decode on a CUDA device ("cuda", "cuda:1") here; None: it can.
    gpu_problem: Callable[[str], str | None] = _torch_gpu_problem


def _faster_whisper(settings: WhisperSettings) -> Engine:
    from pipeline.asr.faster import FasterWhisperEngine

    return FasterWhisperEngine(settings)


def _openai_whisper(settings: WhisperSettings) -> Engine:
    from pipeline.asr.openai_engine import OpenAIWhisperEngine

    return OpenAIWhisperEngine(settings)


def _torch_batched(settings: WhisperSettings) -> Engine:
    from pipeline.asr.torch_batched import TorchBatchedEngine

    return TorchBatchedEngine(settings)


ENGINES: dict[str, EngineSpec] = {spec.name: spec for spec in (
    EngineSpec("faster-whisper", _faster_whisper, compute_type="int8",
               gpu_problem=_ctranslate2_gpu_problem),
    EngineSpec("openai-whisper", _openai_whisper, compute_type="float32", extra="openai"),
    # float16 on a GPU, its device; on the CPU it decodes in float32 (as openai-whisper).
    EngineSpec("torch-batched", _torch_batched, compute_type="float16", extra="openai"),
)}
DEFAULT_ENGINE = "faster-whisper"
GPU_ENGINE = "torch-batched"  # what a CUDA device chooses when no engine is named
DEVICES = "cpu, cuda or cuda:N"
DEVICE_HELP = (f"where to decode: {DEVICES} (default cpu); cuda chooses {GPU_ENGINE} unless "
               "--engine says otherwise, and falls back to the CPU with a warning where there "
               "is no GPU; overrides whisper.device in the config")
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
                     model: str | None = None, device: str | None = None) -> WhisperSettings:
    """The config's `whisper:` section over the measured defaults; the command line's
    `engine`, `model` and `device` over both. `config` (when there is one) places a
    relative `model_dir` and names the file in errors; else the environment's model folder.
    The engine and device are the ones that will run (see the module's docstring).

    An engine name the registry does not know is a ConfigError (exit 2, one line).
    """
    if section is None:
        from pipeline.config.forum import WhisperConfig

        section = WhisperConfig()
    model_dir = (config.resolve(section.model_dir) if config is not None and section.model_dir
                 else settings.model_dir)
    defaults = WhisperSettings()
    device = _device(device) or section.device or defaults.device
    named = engine or section.engine
    name = named or (GPU_ENGINE if device.startswith("cuda") else DEFAULT_ENGINE)
    if engine is None and name not in ENGINES:
        raise ConfigError(config.path if config is not None else None, "whisper.engine",
                          f"unknown Whisper engine '{name}'; choose {choices()}")
    spec = engine_spec(name)  # an unknown --engine: a UsageError, exit 2
    problem = spec.gpu_problem(device) if device.startswith("cuda") else None
    if problem is not None:
        fallback = engine_spec(named or DEFAULT_ENGINE)
        instead = f"not on {device}" if fallback is spec else f"not {name} on {device}"
        log.warning("%s: transcribing on the CPU with %s, %s", problem, fallback.name, instead)
        spec, device = fallback, "cpu"
    return replace(defaults, engine=spec.name, model=model or section.model,
                   model_dir=model_dir, device=device,
                   compute_type=section.compute_type or spec.compute_type,
                   decode=_decode(section, defaults.decode))


def _device(device: str | None) -> str | None:
    """The command line's `--device`, checked as the config's `whisper.device` is."""
    if device is None:
        return None
    from pipeline.config.forum import DEVICE

    if not DEVICE.fullmatch(device):
        raise UsageError(f"unknown device '{device}' for --device", f"choose {DEVICES}")
    return device


def _decode(section: WhisperConfig, decode: DecodeOptions) -> DecodeOptions:
    if section.beam_size is not None:
        decode = replace(decode, beam_size=section.beam_size)
    if section.vad is not None:
        decode = replace(decode, vad=section.vad)
    if section.vad_min_silence_ms is not None:
        decode = replace(decode, vad_min_silence_ms=section.vad_min_silence_ms)
    if section.condition_on_previous_text is not None:
        decode = replace(decode, condition_on_previous_text=section.condition_on_previous_text)
    if section.batch_size is not None:
        decode = replace(decode, batch_size=section.batch_size)
    return decode
