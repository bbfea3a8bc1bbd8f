"""`sort-archive transcribe FILE` and `sort-archive models`, as staff run them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.asr.weights import assemble_base_model
from pipeline.demo import find_speech_dir
from pipeline.errors import ExitCode
from pipeline.settings import Settings
from tests.recordings import run
from tests.test_cli import assert_one_line_error, sort_archive

TALK = "data/6rmA7KCV7ZiE/MJ0_NG4dsCY"


@pytest.fixture(scope="module")
def speech_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small video whose sound is two fragments of a real talk."""
    talk = find_speech_dir(Settings.from_environ().speech_dir) / TALK
    fragments = sorted(talk.glob("*.flac"))[:2]
    folder = tmp_path_factory.mktemp("file")
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{f}'\n" for f in fragments), encoding="utf-8")
    run("-f", "lavfi", "-i", "color=c=gray:s=160x120:r=25", "-f", "concat", "-safe", "0",
        "-i", str(listing), "-shortest", "-c:v", "libx264", "-c:a", "aac",
        str(folder / "기조강연 talk.mp4"))
    return folder / "기조강연 talk.mp4"


def test_transcribe_a_file_writes_the_session_formats(speech_video: Path,
                                                      tmp_path: Path) -> None:
    result = sort_archive("transcribe", str(speech_video), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    stem = tmp_path / "out" / "기조강연 talk"
    for suffix in (".ko.vtt", ".ko.srt", ".json", ".txt", ".quality.json"):
        assert Path(f"{stem}{suffix}").is_file(), suffix
    assert "기업" in Path(f"{stem}.txt").read_text(encoding="utf-8")
    document = json.loads(Path(f"{stem}.json").read_text(encoding="utf-8"))
    assert document["segments"][0]["words"]
    quality = json.loads(Path(f"{stem}.quality.json").read_text(encoding="utf-8"))
    assert quality["speech_ratio"] > 0.5 and quality["segment_count"] >= 1


def test_a_file_without_sound_is_exit_3(tmp_path: Path) -> None:
    run("-f", "lavfi", "-i", "color=c=black:s=64x64:d=1", str(tmp_path / "silent.mp4"))
    result = sort_archive("transcribe", str(tmp_path / "silent.mp4"), "--out", str(tmp_path))
    assert_one_line_error(result, ExitCode.SOURCE, "silent.mp4", "no audio track")


def test_a_model_that_cannot_load_is_exit_5(speech_video: Path, tmp_path: Path) -> None:
    result = sort_archive("transcribe", str(speech_video), "--out", str(tmp_path),
                          "--model", "no-such-model", env={"HF_HUB_OFFLINE": "1"})
    assert_one_line_error(result, ExitCode.TRANSCRIBE, "no-such-model", "models list")
    assert not list(tmp_path.iterdir())


def test_models_list_verify_and_import(tmp_path: Path) -> None:
    env = {"SORT_ARCHIVE_MODEL_DIR": str(tmp_path / "models")}
    base = assemble_base_model(Settings.from_environ().model_dir)
    listed = sort_archive("models", "list", env=env)
    assert listed.returncode == 0 and "no models" in listed.stdout

    verified = sort_archive("models", "verify", env=env)  # assembles the bundled base
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok    base")

    copy = tmp_path / "usb" / "whisper-base-copy"
    shutil.copytree(base, copy)
    imported = sort_archive("models", "import", str(copy), "--name", "base-copy", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "--model base-copy" in imported.stdout
    listed = sort_archive("models", "list", env=env)
    assert "base-copy" in listed.stdout and "ctranslate2" in listed.stdout

    stored = tmp_path / "models" / "imported" / "base-copy" / "model.bin"
    with stored.open("r+b") as handle:  # one flipped byte
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    damaged = sort_archive("models", "verify", env=env)
    assert damaged.returncode == ExitCode.TRANSCRIBE
    assert "FAIL  base-copy" in damaged.stdout and "models import" in damaged.stdout

    bad = sort_archive("models", "import", str(tmp_path / "usb"), env=env)
    assert_one_line_error(bad, ExitCode.TRANSCRIBE, "neither a CTranslate2 model folder")
