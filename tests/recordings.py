"""Builders of small real media for the tests (seconds long, made by ffmpeg)."""

from __future__ import annotations

import subprocess
from pathlib import Path

FPS = 25
LUMA_STEP = 7  # grey level added per frame, so a frame's brightness tells its number
LUMA_SPAN = 219  # studio-range luma (16..235), which ffmpeg stretches to 0..255 on output
BOX = 48  # side of the counter box of `open_gop_counter_video`, pixels


def expected_luma(frame: int) -> float:
    """What `first_frame_luma` reads for frame number `frame` of a counter video."""
    return (frame * LUMA_STEP % LUMA_SPAN) * 255 / LUMA_SPAN


def run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def counter_video(path: Path, seconds: float, tones: list[float], *, audio: bool = True) -> Path:
    """H.264/AAC mp4 whose frame N is a flat grey that encodes N (see expected_luma), and
    whose sound is a different sine tone in each equal part (one per entry of `tones`)."""
    part = seconds / len(tones)
    freq = "+".join(
        f"{f}*between(t,{i * part},{(i + 1) * part - 1e-6})" for i, f in enumerate(tones)
    )
    args = ["-f", "lavfi", "-i", f"color=c=black:s=160x120:r={FPS}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i",
                 f"aevalsrc='0.5*sin(2*PI*({freq})*t)':s=48000:d={seconds}"]
    args += ["-vf", f"geq=lum='16+mod(N*{LUMA_STEP},{LUMA_SPAN})':cb=128:cr=128",
             "-c:v", "libx264", "-preset", "veryfast", "-qp", "0", "-pix_fmt", "yuv420p",
             "-g", "50"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    run(*args, "-t", str(seconds), str(path))
    return path


def variable_rate_video(path: Path) -> Path:
    """4 s of H.264/AAC: 2 s at 25 fps, then 2 s at 10 fps (a variable frame rate, as
    phones and screen recorders write). ffprobe gives it r_frame_rate 50: every frame lies
    on that grid, two or five steps apart."""
    run("-f", "lavfi", "-i", "color=c=gray:s=160x120:r=25:d=2",
        "-f", "lavfi", "-i", "color=c=white:s=160x120:r=10:d=2",
        "-f", "lavfi", "-i", "sine=f=440:d=4", "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-map", "2:a", "-c:v", "libx264",
        "-preset", "veryfast", "-fps_mode", "vfr", "-c:a", "aac", str(path))
    return path


def first_frame_luma(path: Path) -> float:
    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True,
    ).stdout
    return sum(raw) / len(raw)


def dominant_frequency(path: Path, start: float = 0.2, length: float = 0.5) -> float:
    import numpy as np

    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-ss", str(start), "-t", str(length),
         "-i", str(path), "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"],
        check=True, capture_output=True,
    ).stdout
    samples = np.frombuffer(raw, dtype=np.int16).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / 16000)[int(spectrum.argmax())])


def duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(path)], check=True, capture_output=True, text=True,
    ).stdout
    return float(out.strip())


def speech_counter_video(path: Path, speech: list[Path], seconds: float) -> Path:
    """A counter video (see `counter_video`) whose sound is the given speech files, one
    after another, padded with silence to `seconds`."""
    listing = path.with_suffix(".list.txt")
    listing.write_text("".join(f"file '{f}'\n" for f in speech), encoding="utf-8")
    run("-f", "lavfi", "-i", f"color=c=black:s=160x120:r={FPS}:d={seconds}",
        "-f", "concat", "-safe", "0", "-i", str(listing),
        "-vf", f"geq=lum='16+mod(N*{LUMA_STEP},{LUMA_SPAN})':cb=128:cr=128",
        "-af", f"apad,atrim=0:{seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-qp", "0", "-pix_fmt", "yuv420p", "-g", "50",
        "-c:a", "aac", "-ar", "48000", "-t", str(seconds), str(path))
    return path


def frame_hashes(path: Path, *input_args: str) -> list[str]:
    """The MD5 of every decoded video frame: equal lists mean frame-identical clips
    (`input_args` go before -i, e.g. "-ignore_editlist", "1")."""
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", *input_args, "-i", str(path),
         "-map", "0:v", "-f", "framemd5", "-"], check=True, capture_output=True,
        text=True).stdout
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines()
            if line and not line.startswith("#")]


def forum_recording(path: Path, talks: list[Path], *, speech_seconds: float = 45.0,
                    card: float = 4.0, clapping: float = 4.0, silence: float = 3.0,
                    size: str = "320x180", gop: int = 50) -> list[tuple[float, float, float]]:
    """A forum-like H.264/AAC mp4 built from real speech (for tests/boundaries/test_fit.py).

    Per talk: a silent dark title card, a slide while the talk's real speech plays (its
    first whole fragments that fit in `speech_seconds`), applause-like noise over the slide,
    then a near-black silent gap; room tone at about -54 dBFS throughout. Key frames only
    every `gop` frames (no scene-cut key frames), as in a long stream. Returns per talk
    (card start, speech start, speech end) in seconds, exact to the sample.
    """
    import wave

    import numpy as np

    from pipeline.demo.stream_sound import applause  # a crowd's claps, about -20 dBFS

    rate = 16_000

    def speech_of(talk: Path) -> np.ndarray:
        trans = sorted(talk.glob("*.trans.txt"))[0]
        ids = sorted((line.split(" ", 1)[0] for line in trans.read_text("utf-8").splitlines()
                      if line.strip()), key=lambda frag: int(frag.rsplit("-", 1)[1]))
        chunks, budget = [], round(speech_seconds * rate)
        for frag in ids:
            raw = subprocess.run(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i",
                 str(talk / f"{frag}.flac"), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
                check=True, capture_output=True).stdout
            samples = np.frombuffer(raw, dtype=np.int16)
            if len(samples) > budget:
                break
            budget -= len(samples)
            chunks.append(samples.astype(np.float32) / 32768.0)
        return np.concatenate(chunks)

    width, height = (int(v) for v in size.split("x"))
    slides = ("0xeef1f5", "0xf5efe6", "0xe8f5ec", "0xf2e8f5")
    parts: list[np.ndarray] = []
    video: list[str] = []
    truth: list[tuple[float, float, float]] = []
    at = 0.0
    for index, talk in enumerate(talks):
        speech = speech_of(talk)
        spoken = len(speech) / rate
        truth.append((at, at + card, at + card + spoken))
        parts += [np.zeros(round(card * rate), np.float32), speech, applause(clapping, index, rate),
                  np.zeros(round(silence * rate), np.float32)]
        slide = (f"color=c={slides[index % len(slides)]}:s={size}:r={FPS}:d={{}},drawbox=x=0:"
                 f"y=0:w={width}:h={height // 7}:color=0x1f3a5f:t=fill")
        video += [f"color=c=0x1f3a5f:s={size}:r={FPS}:d={card},drawbox=x={width // 8}:"
                  f"y={height * 2 // 5}:w={width * 3 // 4}:h={height // 6}:color=0xc8d6e8:t=fill",
                  slide.format(f"{spoken:.4f}"), slide.format(clapping),
                  f"color=c=0x101216:s={size}:r={FPS}:d={silence}"]
        at = truth[-1][2] + clapping + silence
    sound = np.concatenate(parts)
    sound += np.random.default_rng(1).uniform(-0.002, 0.002, len(sound)).astype(np.float32)
    wav = path.with_suffix(".sound.wav")
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(sound, -1, 1) * 32767).astype("<i2").tobytes())
    inputs = [arg for source in video for arg in ("-f", "lavfi", "-i", source)]
    graph = "".join(f"[{i}:v]" for i in range(len(video))) + f"concat=n={len(video)}:v=1[v]"
    run(*inputs, "-i", str(wav), "-filter_complex", graph, "-map", "[v]",
        "-map", f"{len(video)}:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop),
        "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "48000",
        "-shortest", str(path))
    wav.unlink()
    return truth


def keyframe_counter_video(path: Path, seconds: float, tones: list[float], *,
                           keyint: int = 250, codec: list[str] | None = None,
                           rate: str = str(FPS), extra: tuple[str, ...] = ()) -> Path:
    """A counter video (see `counter_video`) with a keyframe only every `keyint` frames
    (10 s at 25 fps) and, for H.264, B-frames in every GOP (libx264's default three,
    b-adapt off so they are always used): what a real recording looks like to a cutter.
    `codec` replaces the H.264 video options (say ["-c:v", "mpeg4"]); `rate` is the frame
    rate, `extra` more output options; the container follows the file name."""
    part = seconds / len(tones)
    freq = "+".join(
        f"{f}*between(t,{i * part},{(i + 1) * part - 1e-6})" for i, f in enumerate(tones)
    )
    video = codec or ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                      "-x264-params", "b-adapt=0"]
    run("-f", "lavfi", "-i", f"color=c=black:s=160x120:r={rate}:d={seconds}",
        "-f", "lavfi", "-i", f"aevalsrc='0.5*sin(2*PI*({freq})*t)':s=48000:d={seconds}",
        "-vf", f"geq=lum='16+mod(N*{LUMA_STEP},{LUMA_SPAN})':cb=128:cr=128",
        *video, "-pix_fmt", "yuv420p", "-g", str(keyint), "-keyint_min", str(keyint),
        "-sc_threshold", "0", "-shortest", *extra, "-t", str(seconds), str(path))
    return path


def frame_lumas(path: Path, *input_args: str, box: bool = False) -> list[float]:
    """The mean luma of every frame, as decoded, with no frame dropped or repeated
    (`input_args` go before -i, e.g. "-ignore_editlist", "1"); with `box`, of the inside of
    the counter box of an `open_gop_counter_video` (8 pixels in from its edges)."""
    inside = BOX - 16
    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", *input_args, "-i", str(path),
         "-map", "0:v", "-fps_mode", "passthrough",
         "-vf", f"crop={inside}:{inside}:8:8,scale=16:12" if box else "scale=16:12",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True,
    ).stdout
    size = 16 * 12
    return [sum(raw[i:i + size]) / size for i in range(0, len(raw), size)]


def open_gop_counter_video(path: Path, seconds: float, tones: list[float], *,
                           idr_every: int | None = 250) -> Path:
    """A recording as many cameras and streaming encoders write it: H.264 High with open
    GOPs (libx264 open-gop=1, -bf 3), a keyframe every 50 frames (2 s at 25 fps), each
    keyframe but the IDR frames an I-frame whose leading B-frames refer to the GOP before
    it; an IDR frame every `idr_every` frames (-force_key_frames, -forced-idr), or with None
    only the first. The picture is a moving test pattern (testsrc2, 320x180: its frames
    differ, so a frame decoded from the wrong references shows) with a BOX-pixel grey box
    in its top-left corner whose luma encodes the frame number (see expected_luma, and
    frame_lumas's `box`). The sound: a sine tone per equal part (one per entry of `tones`),
    AAC 44.1 kHz stereo."""
    part = seconds / len(tones)
    freq = "+".join(
        f"{f}*between(t,{i * part},{(i + 1) * part - 1e-6})" for i, f in enumerate(tones)
    )
    counter = (f"color=c=black:s={BOX}x{BOX}:r={FPS}:d={seconds},"
               f"geq=lum='16+mod(N*{LUMA_STEP},{LUMA_SPAN})':cb=128:cr=128")
    idr = (["-force_key_frames", f"expr:eq(mod(n,{idr_every}),0)", "-forced-idr", "1"]
           if idr_every else [])
    run("-f", "lavfi", "-i", f"testsrc2=s=320x180:r={FPS}:d={seconds}",
        "-f", "lavfi", "-i", counter,
        "-f", "lavfi", "-i", f"aevalsrc='0.5*sin(2*PI*({freq})*t)':s=44100:d={seconds}",
        "-filter_complex", "[0:v][1:v]overlay=0:0,format=yuv420p[v]",
        "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "veryfast",
        "-profile:v", "high", "-bf", "3", "-threads", "2",
        "-x264-params", "keyint=50:min-keyint=50:open-gop=1:scenecut=0", *idr,
        "-c:a", "aac", "-ar", "44100", "-ac", "2", "-t", str(seconds), str(path))
    return path
