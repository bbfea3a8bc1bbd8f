"""Thin helpers over ffmpeg/ffprobe shared by the stages.

`ffprobe` is the one way the pipeline asks ffprobe anything (`probe` for a file's
length and streams, `pipeline.cutting.h264` for a smart cut's packets). They raise
`MediaError` carrying ffmpeg's last stderr lines, so a failed cut tells staff what
ffmpeg complained about instead of a bare exit status.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline.errors import MediaError
from pipeline.faults import interrupted

FFMPEG_HINT = "install ffmpeg (Debian: apt-get install ffmpeg) or run `make test` once"


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    has_video: bool
    has_audio: bool
    video_codec: str | None
    audio_codec: str | None
    audio_duration: float | None = None  # what the file's header says, where it says it


def require_ffmpeg() -> None:
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise MediaError(f"{tool} is not installed", hint=FFMPEG_HINT)


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    """ffprobe's JSON answer about `path` to `args` (e.g. "-show_streams"); `MediaError`
    with ffprobe's last stderr line when it cannot read the file."""
    require_ffmpeg()
    done = subprocess.run(["ffprobe", "-v", "error", *args, "-of", "json", str(path)],
                          capture_output=True, encoding="utf-8", errors="replace")
    if done.returncode != 0:
        raise MediaError(f"cannot read media file {path}", stderr_tail=done.stderr,
                         hint="check that the file is a complete video")
    result: dict[str, Any] = json.loads(done.stdout or "{}")
    return result


def probe(path: Path) -> MediaInfo:
    """Duration and streams of a media file."""
    data = ffprobe(path, "-show_format", "-show_streams")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = float(data.get("format", {}).get("duration") or 0.0)
    return MediaInfo(
        duration=duration,
        has_video=video is not None,
        has_audio=audio is not None,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        audio_duration=_seconds(audio.get("duration")) if audio else None,
    )


def _seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):  # absent, or "N/A"
        return None


def wav_seconds(path: Path) -> float:
    """The length of a PCM WAV file, from its header."""
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


def run_with_progress(
    stream: Any,
    *,
    what: str,
    duration: float,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    """Run an ffmpeg-python output stream, reporting seconds of output written.

    `-progress pipe:1` gives machine-readable `out_time_us=` lines; stderr is
    drained on a thread so a chatty ffmpeg can never block on a full pipe.
    """
    require_ffmpeg()
    args = (
        stream.global_args("-hide_banner", "-nostats", "-loglevel", "error", "-progress", "pipe:1")
        .overwrite_output()
        .compile()
    )
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr_chunks: list[bytes] = []
    drain = threading.Thread(
        target=lambda: stderr_chunks.append(process.stderr.read() if process.stderr else b""),
        daemon=True,
    )
    drain.start()
    assert process.stdout is not None
    for raw in process.stdout:
        if interrupted():  # Ctrl-C: stop this ffmpeg now, not at the end of its session
            process.kill()
            process.wait()
            drain.join()
            raise KeyboardInterrupt
        line = raw.decode("utf-8", "replace").strip()
        if on_progress and line.startswith("out_time_us=") and line[12:].lstrip("-").isdigit():
            on_progress(min(duration, max(0.0, int(line[12:]) / 1_000_000)))
    code = process.wait()
    drain.join()
    stderr = _decode(b"".join(stderr_chunks))
    # ffmpeg 5 exits 0 when the disk fills up while it closes the file, so look for it.
    if "No space left on device" in stderr:
        raise OSError(28, "No space left on device", f"while {what}")
    if code != 0:
        raise MediaError(f"ffmpeg failed while {what}", stderr_tail=stderr)


def extract_audio(source: Path, target: Path, *, duration: float,
                  on_progress: Callable[[float], None] | None = None) -> None:
    """16 kHz mono PCM WAV, the input Whisper expects; written atomically."""
    partial = target.with_name(target.name + ".part.wav")
    stream = ffmpeg.input(str(source)).output(
        str(partial), vn=None, ac=1, ar=16000, acodec="pcm_s16le"
    )
    run_with_progress(stream, what=f"extracting audio from {source.name}", duration=duration,
                      on_progress=on_progress)
    if not partial.is_file() or partial.stat().st_size <= 44:  # 44 bytes: a bare WAV header
        raise MediaError(f"ffmpeg wrote no audio while extracting it from {source.name}",
                         hint="check that the recording has sound and the disk has space")
    partial.replace(target)


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")
