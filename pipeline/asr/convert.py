"""CTranslate2 Whisper weights -> an openai-whisper checkpoint, without a model hub.

The only Whisper weights available offline are the bundled CTranslate2 conversion of
"base" (pipeline.asr.weights). openai-whisper loads PyTorch checkpoints
(`{"dims": {...}, "model_state_dict": {...}}`), so this module reads `model.bin`
itself and writes such a checkpoint, which `whisper.load_model(path)` loads unchanged.

The CTranslate2 file (binary version 6, written by `ModelSpec._serialize`) is, in
little-endian order: u32 version, string spec name ("WhisperSpec"), u32 spec revision,
u32 variable count, then per variable a string name, u8 rank, u32 per dimension,
u8 dtype (0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16), u32 byte count
and the raw data; then u32 alias count and pairs of strings (alias, target). A string is
a u16 length (with the trailing NUL), the UTF-8 bytes and a NUL.

How the variables map (CTranslate2 -> openai-whisper):

- `*/self_attention/linear_0` fuses query, key and value (rows q|k|v): it is split in
  three. Whisper's key projection has no bias; CTranslate2 stores zeros there. A key
  bias would not change attention anyway (it adds the same q.b to every score of a
  query, and softmax ignores a constant), so it is dropped.
- `decoder/layer_N/attention` is the cross-attention: `linear_0` = query, `linear_1` =
  key|value fused (split in two, key bias dropped), `linear_2` = out.
- `linear_1` of a self-attention is its output projection; `ffn/linear_0|1` are `mlp.0|2`.
- layer norms: gamma/beta -> weight/bias; `encoder/layer_norm` -> `encoder.ln_post`,
  `decoder/layer_norm` -> `decoder.ln`.
- `encoder/position_encodings/encodings` -> `encoder.positional_embedding`. openai-whisper
  computes this sinusoid table itself but keeps it as a persistent buffer, so a strict
  `load_state_dict` needs it: the stored table (the original checkpoint's) is used.
- `decoder/embeddings/weight` -> `decoder.token_embedding.weight` (the output projection
  is tied to it: an alias in CTranslate2, implicit in openai-whisper);
  `decoder/position_encodings/encodings` -> `decoder.positional_embedding` (learned).
- int8/int16 weights (a quantised conversion) are de-quantised with their `weight_scale`.

Dimensions come from the shapes (mels from conv1, contexts from the position tables,
layers by counting) and the heads from the spec's `num_heads` scalars (all Whisper
models use 64-dimensional heads, the fallback). The alignment heads (which
cross-attention heads follow the audio, for word timings) come from config.json; they
are stored in the checkpoint under "alignment_heads" in openai-whisper's own dump format
(gzip + base85 of a layers x heads bool array), for `model.set_alignment_heads`.
"""

from __future__ import annotations

import base64
import errno
import gzip
import json
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.asr.weights import BUNDLED_MODEL, default_model_dir, file_sha256, model_sha256
from pipeline.errors import ModelError

if TYPE_CHECKING:
    from pipeline.asr.decoding import WhisperSettings

CONVERTED_DIR = "openai-whisper"  # under the model folder: <name>-<sha12>.pt
SUPPORTED_VERSION = 6
HEAD_DIM = 64  # every Whisper size: tiny 384/6 ... large 1280/20
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_CONVERT_HINT = ("delete the model folder and run `make setup` again, or use the default "
                 "engine (--engine faster-whisper)")


@dataclass(frozen=True)
class Ct2Model:
    spec: str
    revision: int
    variables: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.offset, self.path = data, 0, path

    def take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise self.broken("ends early")
        (value,) = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return int(value)

    def string(self) -> str:
        length = self.take("<H")
        raw = self.data[self.offset:self.offset + length]
        if length == 0 or len(raw) != length or raw[-1] != 0:
            raise self.broken("has a malformed name")
        self.offset += length
        return raw[:-1].decode("utf-8")

    def raw(self, count: int) -> memoryview:
        if self.offset + count > len(self.data):
            raise self.broken("ends early")
        view = memoryview(self.data)[self.offset:self.offset + count]
        self.offset += count
        return view

    def broken(self, problem: str) -> ModelError:
        return ModelError(f"{self.path} {problem} at byte {self.offset}: not a complete "
                          "CTranslate2 model", _CONVERT_HINT)


def read_ct2(path: Path) -> Ct2Model:
    """Every variable of a CTranslate2 `model.bin`, aliases resolved, as numpy arrays."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}", _CONVERT_HINT) from None
    reader = _Reader(data, path)
    version = reader.take("<I")
    if version != SUPPORTED_VERSION:
        raise ModelError(f"{path} is CTranslate2 binary version {version}; the converter reads "
                         f"version {SUPPORTED_VERSION}", _CONVERT_HINT)
    spec = reader.string()
    revision = reader.take("<I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.take("<I")):
        name = reader.string()
        shape = tuple(reader.take("<I") for _ in range(reader.take("<B")))
        dtype_id = reader.take("<B")
        if dtype_id >= len(_DTYPES):
            raise reader.broken(f"has unknown dtype {dtype_id} for {name}")
        raw = reader.raw(reader.take("<I"))
        variables[name] = _array(raw, _DTYPES[dtype_id], shape, reader)
    for _ in range(reader.take("<I")):
        alias, target = reader.string(), reader.string()
        if target not in variables:
            raise reader.broken(f"aliases {alias} to a missing {target}")
        variables[alias] = variables[target]
    if reader.offset != len(data):
        raise reader.broken("has trailing data")
    return Ct2Model(spec=spec, revision=revision, variables=variables)


def _array(raw: memoryview, dtype: str, shape: tuple[int, ...], reader: _Reader) -> np.ndarray:
    if dtype == "bfloat16":  # the upper half of a float32
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        array = bits.view(np.float32)
    else:
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
    if array.size != int(np.prod(shape, dtype=np.int64)):
        raise reader.broken(f"has {array.size} values for shape {shape}")
    return array.reshape(shape)


def _float(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A weight as floats: de-quantised when CTranslate2 stored it as int8/int16."""
    try:
        value = variables[name]
    except KeyError:
        raise ModelError(f"the CTranslate2 model has no variable {name}: not a Whisper "
                         "model, or a layout this converter does not know",
                         _CONVERT_HINT) from None
    if value.dtype.kind in "iu":
        scale = variables.get(name + "_scale")
        if scale is None:
            raise ModelError(f"{name} is quantised without a scale", _CONVERT_HINT)
        scale = scale.astype(np.float32)
        value = value.astype(np.float32) / (scale[:, None] if scale.ndim == 1 else scale)
    return value


def _count(variables: dict[str, np.ndarray], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    found = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    if found != set(range(len(found))):
        raise ModelError(f"the {prefix} layers are not numbered 0..N-1", _CONVERT_HINT)
    return len(found)


def _heads(variables: dict[str, np.ndarray], prefix: str, state: int) -> int:
    stored = variables.get(f"{prefix}/num_heads")
    return int(stored) if stored is not None else max(state // HEAD_DIM, 1)


def whisper_dims(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """openai-whisper's ModelDimensions, from the variables' shapes."""
    conv1 = _float(variables, "encoder/conv1/weight")  # (state, mels, 3)
    audio_pos = _float(variables, "encoder/position_encodings/encodings")
    embed = _float(variables, "decoder/embeddings/weight")
    text_pos = _float(variables, "decoder/position_encodings/encodings")
    audio_state, text_state = int(conv1.shape[0]), int(embed.shape[1])
    return {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(audio_pos.shape[0]),
        "n_audio_state": audio_state,
        "n_audio_head": _heads(variables, "encoder", audio_state),
        "n_audio_layer": _count(variables, "encoder"),
        "n_vocab": int(embed.shape[0]),
        "n_text_ctx": int(text_pos.shape[0]),
        "n_text_state": text_state,
        "n_text_head": _heads(variables, "decoder", text_state),
        "n_text_layer": _count(variables, "decoder"),
    }


def state_dict(variables: dict[str, np.ndarray], dims: dict[str, int]) -> dict[str, np.ndarray]:
    """openai-whisper's state dict (numpy arrays), named as `Whisper.state_dict()` names them."""
    out: dict[str, np.ndarray] = {}

    def linear(target: str, source: str, bias: bool = True) -> None:
        out[f"{target}.weight"] = _float(variables, f"{source}/weight")
        if bias:
            out[f"{target}.bias"] = _float(variables, f"{source}/bias")

    def norm(target: str, source: str) -> None:
        out[f"{target}.weight"] = _float(variables, f"{source}/gamma")
        out[f"{target}.bias"] = _float(variables, f"{source}/beta")

    def split(target: str, source: str, parts: tuple[str, ...]) -> None:
        weights = np.split(_float(variables, f"{source}/weight"), len(parts), axis=0)
        biases = np.split(_float(variables, f"{source}/bias"), len(parts), axis=0)
        for part, weight, bias in zip(parts, weights, biases, strict=True):
            out[f"{target}.{part}.weight"] = weight
            if part != "key":  # no key bias in Whisper (and none needed: see the docstring)
                out[f"{target}.{part}.bias"] = bias

    def block(target: str, source: str, cross: bool) -> None:
        split(f"{target}.attn", f"{source}/self_attention/linear_0", ("query", "key", "value"))
        linear(f"{target}.attn.out", f"{source}/self_attention/linear_1")
        norm(f"{target}.attn_ln", f"{source}/self_attention/layer_norm")
        if cross:
            linear(f"{target}.cross_attn.query", f"{source}/attention/linear_0")
            split(f"{target}.cross_attn", f"{source}/attention/linear_1", ("key", "value"))
            linear(f"{target}.cross_attn.out", f"{source}/attention/linear_2")
            norm(f"{target}.cross_attn_ln", f"{source}/attention/layer_norm")
        linear(f"{target}.mlp.0", f"{source}/ffn/linear_0")
        linear(f"{target}.mlp.2", f"{source}/ffn/linear_1")
        norm(f"{target}.mlp_ln", f"{source}/ffn/layer_norm")

    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    out["encoder.positional_embedding"] = _float(variables, "encoder/position_encodings/encodings")
    for i in range(dims["n_audio_layer"]):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")

    out["decoder.token_embedding.weight"] = _float(variables, "decoder/embeddings/weight")
    out["decoder.positional_embedding"] = _float(variables, "decoder/position_encodings/encodings")
    for i in range(dims["n_text_layer"]):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")
    _check_untranslatable(variables)
    return out


def _check_untranslatable(variables: dict[str, np.ndarray]) -> None:
    """What openai-whisper's fixed architecture cannot express must not be silently lost."""
    projection = variables.get("decoder/projection/weight")
    embedding = variables["decoder/embeddings/weight"]
    if projection is not None and projection is not embedding and not np.array_equal(
            projection, embedding):
        raise ModelError("the model's output projection is not tied to its token embedding; "
                         "openai-whisper cannot load it", _CONVERT_HINT)
    if "decoder/projection/bias" in variables:
        raise ModelError("the model has an output bias; openai-whisper cannot load it",
                         _CONVERT_HINT)
    scale = variables.get("decoder/scale_embeddings")
    if scale is not None and scale.size == 1 and float(scale) not in (0.0, 1.0):
        raise ModelError("the model scales its embeddings; openai-whisper cannot load it",
                         _CONVERT_HINT)


def alignment_heads_dump(heads: list[list[int]] | None, layers: int, per_layer: int
                         ) -> bytes | None:
    """openai-whisper's alignment-heads format: base85(gzip(bool[layers, heads]))."""
    if not heads:
        return None
    mask = np.zeros((layers, per_layer), dtype=bool)
    for layer, head in heads:
        if not (0 <= layer < layers and 0 <= head < per_layer):
            raise ModelError(f"config.json names alignment head ({layer}, {head}) outside "
                             f"the model's {layers}x{per_layer}", _CONVERT_HINT)
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def read_alignment_heads(model_dir: Path) -> list[list[int]] | None:
    """The `alignment_heads` of a CTranslate2 model folder's config.json, if any."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    heads = config.get("alignment_heads") if isinstance(config, dict) else None
    return [[int(a), int(b)] for a, b in heads] if heads else None


def convert_ct2(model_dir: Path, target: Path) -> Path:
    """Write the openai-whisper checkpoint of the CTranslate2 model in `model_dir` to
    `target` (atomically: a temporary file renamed into place). Returns `target`."""
    import torch

    model = read_ct2(model_dir / "model.bin")
    if model.spec != "WhisperSpec":
        raise ModelError(f"{model_dir} holds a CTranslate2 {model.spec}, not a Whisper model",
                         _CONVERT_HINT)
    dims = whisper_dims(model.variables)
    weights = state_dict(model.variables, dims)
    # float16 stays float16 (as OpenAI's own checkpoints); anything else becomes float32.
    keep_half = all(model.variables[name].dtype == np.float16 for name in (
        "decoder/embeddings/weight", "encoder/conv1/weight"))
    dtype = torch.float16 if keep_half else torch.float32
    checkpoint: dict[str, Any] = {
        "dims": dims,
        "model_state_dict": {name: torch.from_numpy(np.array(value)).to(dtype)
                             for name, value in weights.items()},
    }
    heads = alignment_heads_dump(read_alignment_heads(model_dir), dims["n_text_layer"],
                                 dims["n_text_head"])
    if heads is not None:
        checkpoint["alignment_heads"] = heads
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.",
                                        suffix=".pt")
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise  # a full disk is the run's problem, not the model's (exit 9)
        raise _write_error(target, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(checkpoint, handle)
        os.replace(tmp_name, target)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise  # a full disk is the run's problem, not the model's (exit 9)
        raise _write_error(target, exc) from None
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return target


def _write_error(target: Path, exc: OSError) -> ModelError:
    return ModelError(f"cannot write the converted Whisper model {target}: "
                      f"{exc.strerror or exc}", "make the model folder writable, or point "
                      "SORT_ARCHIVE_MODEL_DIR at one that is")


@dataclass(frozen=True)
class Converted:
    checkpoint: Path  # the openai-whisper .pt
    source: Path  # the CTranslate2 folder it was made from
    source_sha256: str


def converted_path(model_root: Path, name: str, source_sha256: str) -> Path:
    return model_root / CONVERTED_DIR / f"{name}-{source_sha256[:12]}.pt"


def convert_once(source: Path, name: str, source_sha256: str, model_root: Path) -> Converted:
    """The cached conversion of CTranslate2 folder `source`; converted on first use."""
    target = converted_path(model_root, name, source_sha256)
    if not target.is_file():
        convert_ct2(source, target)
    return Converted(checkpoint=target, source=source, source_sha256=source_sha256)


def openai_checkpoint(settings: WhisperSettings) -> Path:
    """The openai-whisper checkpoint of the bundled base model, converted once."""
    return bundled_conversion(settings.model_dir).checkpoint


def bundled_conversion(model_dir: Path | None) -> Converted:
    from pipeline.asr.weights import resolve_model

    root = model_dir or default_model_dir()
    source = Path(resolve_model(BUNDLED_MODEL, root))
    return convert_once(source, BUNDLED_MODEL, model_sha256(BUNDLED_MODEL, root), root)


def folder_conversion(folder: Path, model_dir: Path | None) -> Converted:
    """A local CTranslate2 Whisper folder, converted into the model cache."""
    sha = file_sha256(folder / "model.bin")
    return convert_once(folder, folder.name, sha, model_dir or default_model_dir())
