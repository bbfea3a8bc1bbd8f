"""The CTranslate2 -> openai-whisper converter, on the real bundled base weights."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import numpy as np
import pytest

from pipeline.asr.convert import (
    CONVERTED_DIR,
    convert_ct2,
    openai_checkpoint,
    read_ct2,
)
from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.weights import BASE_MODEL_SHA256, assemble_base_model
from pipeline.errors import ModelError
from pipeline.settings import Settings

pytestmark = pytest.mark.slow

BASE_DIMS = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 512, "n_audio_head": 8,
             "n_audio_layer": 6, "n_vocab": 51865, "n_text_ctx": 448, "n_text_state": 512,
             "n_text_head": 8, "n_text_layer": 6}


@pytest.fixture(scope="module")
def source() -> Path:
    """The bundled CTranslate2 base folder (assembled once into the user's model cache)."""
    return assemble_base_model(Settings.from_environ().model_dir)


@pytest.fixture(scope="module")
def converted(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh conversion into an empty model folder (the source folder is linked in)."""
    root = tmp_path_factory.mktemp("models")
    (root / "whisper-base-ct2").symlink_to(source, target_is_directory=True)
    return openai_checkpoint(WhisperSettings(model_dir=root))


def test_the_checkpoint_is_cached_by_name_and_source_sha(converted: Path) -> None:
    assert converted.parent.name == CONVERTED_DIR
    assert converted.name == f"base-{BASE_MODEL_SHA256[:12]}.pt"
    root = converted.parent.parent
    stat = converted.stat()
    assert openai_checkpoint(WhisperSettings(model_dir=root)) == converted
    again = converted.stat()
    assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)  # reused
    assert [p.name for p in converted.parent.iterdir()] == [converted.name]  # no temp files


def test_openai_whisper_loads_it_unchanged(converted: Path, source: Path) -> None:
    import torch
    import whisper

    model = whisper.load_model(str(converted), device="cpu")
    assert {k: getattr(model.dims, k) for k in BASE_DIMS} == BASE_DIMS
    assert model.is_multilingual and model.num_languages == 99

    variables = read_ct2(source / "model.bin").variables
    fused = variables["encoder/layer_3/self_attention/linear_0/weight"].astype(np.float32)
    attn = model.encoder.blocks[3].attn
    for part, rows in zip((attn.query, attn.key, attn.value), np.split(fused, 3), strict=True):
        assert np.array_equal(part.weight.detach().numpy(), rows)
    assert attn.key.bias is None
    cross = model.decoder.blocks[5].cross_attn
    kv = variables["decoder/layer_5/attention/linear_1/weight"].astype(np.float32)
    assert np.array_equal(cross.value.weight.detach().numpy(), kv[512:])
    assert np.array_equal(model.decoder.ln.weight.detach().numpy(),
                          variables["decoder/layer_norm/gamma"].astype(np.float32))
    # The encoder's stored position table is openai-whisper's own sinusoids (to fp16).
    expected = whisper.model.sinusoids(1500, 512)
    assert torch.allclose(model.encoder.positional_embedding, expected, atol=1e-3)


def test_alignment_heads_are_carried_from_config_json(converted: Path) -> None:
    import torch
    import whisper

    stored = torch.load(converted, weights_only=True)["alignment_heads"]

    def mask(dump: bytes) -> np.ndarray:
        return np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool)

    # config.json's heads are exactly the ones OpenAI publishes for base.
    assert np.array_equal(mask(stored), mask(whisper._ALIGNMENT_HEADS["base"]))


def test_a_truncated_model_bin_is_a_model_error(source: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    with (source / "model.bin").open("rb") as handle:
        (broken / "model.bin").write_bytes(handle.read(4096))
    with pytest.raises(ModelError) as caught:
        convert_ct2(broken, tmp_path / "out.pt")
    assert "not a complete CTranslate2 model" in caught.value.one_line()
    assert "make setup" in caught.value.one_line()
    assert not (tmp_path / "out.pt").exists()


def test_another_binary_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes((5).to_bytes(4, "little") + b"\x00" * 16)
    with pytest.raises(ModelError, match="binary version 5"):
        convert_ct2(tmp_path, tmp_path / "out.pt")
