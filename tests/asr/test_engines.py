"""The engine registry: one entry per engine, read by everything that names engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.asr import make_engine
from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.engines import DEFAULT_ENGINE, ENGINE_NAMES, ENGINES, whisper_settings
from pipeline.cli import build_parser
from pipeline.config.forum import WhisperConfig
from pipeline.errors import ConfigError, UsageError
from pipeline.settings import Settings


def test_the_settings_defaults_are_the_registrys_default_engine() -> None:
    defaults = WhisperSettings()
    assert defaults.engine == DEFAULT_ENGINE
    assert defaults.compute_type == ENGINES[DEFAULT_ENGINE].compute_type


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_every_engine_is_built_from_its_entry(name: str) -> None:
    engine = make_engine(WhisperSettings(engine=name))
    assert getattr(engine, "name", None) == name  # built, not loaded


def test_an_unknown_engine_names_the_choices() -> None:
    with pytest.raises(UsageError, match=r"whisper-cpp.*faster-whisper or openai-whisper"):
        make_engine(WhisperSettings(engine="whisper-cpp"))
    with pytest.raises(UsageError, match="whisper-cpp"):
        whisper_settings(None, None, Settings(), engine="whisper-cpp")
    with pytest.raises(ConfigError, match=r"config: whisper\.engine: .*whisper-cpp"):
        whisper_settings(WhisperConfig(engine="whisper-cpp"), None, Settings())


def test_each_engine_gets_its_compute_type_unless_the_config_says(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path)
    for name, spec in ENGINES.items():
        chosen = whisper_settings(None, None, settings, engine=name)
        assert (chosen.engine, chosen.compute_type, chosen.model_dir) == (
            name, spec.compute_type, tmp_path)
    pinned = whisper_settings(WhisperConfig(compute_type="float32"), None, settings)
    assert (pinned.engine, pinned.compute_type) == (DEFAULT_ENGINE, "float32")


def test_the_command_line_offers_the_registrys_engines() -> None:
    parser = build_parser()
    commands: Any = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in ("run", "transcribe"):
        engine = next(a for a in commands[command]._actions if a.dest == "engine")
        assert tuple(engine.choices) == ENGINE_NAMES, command
        assert any(a.dest == "device" for a in commands[command]._actions), command
    assert all(f"sort-archive[{spec.extra}]" in next(
        a for a in commands["run"]._actions if a.dest == "engine").help
        for spec in ENGINES.values() if spec.extra)


def test_the_config_can_ask_for_batched_decoding(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path)
    assert whisper_settings(None, None, settings).decode.batch_size == 1  # measured default
    batched = whisper_settings(WhisperConfig(batch_size=8), None, settings)
    assert batched.decode.batch_size == 8
    with pytest.raises(ValueError, match="batch_size"):
        WhisperConfig(batch_size=0)
