"""Cut one session out of a recording, frame-exact, re-encoding as little as possible.

Modes:
- `accurate`: re-encode the whole session (H.264 libx264 / AAC). Frame-exact, slow.
- `copy`: stream copy from the keyframe at or before the start to the first frame at or after
  the end where the copy can stop cleanly. Fast, but only keyframe-exact at the start.
- `smart` (default): re-encode from the first frame to the next keyframe (the head), copy
  from there, re-encode the few frames after the last point where the copy can stop cleanly
  (the tail), and join the parts without re-encoding. Frame-exact at both ends.

Why the smart join is safe. A copy starts on an IDR keyframe with no leading pictures (no
frame after it in decode order shows before it), so it needs nothing from before the cut.
It stops after a run of packets, in decode order, that holds exactly the frames before the
cut, so no copied frame refers to a frame that is left out. The head and tail are encoded
with the source's profile, level, size, pixel format, colours and B-frame depth, but with
SPS/PPS ids the source does not use, and all parameter sets go into the one avcC of the clip
(players that read parameter sets only from the avcC, such as Apple's, see every set; the
in-band copies the join leaves are identical). The parts are mp4s joined by the concat
demuxer, which converts them to Annex B with their own parameter sets, and written with the
source's time scale. The clip holds exactly the session's frames: none is hidden behind an
edit list, which players may ignore. Every smart cut is decoded in full, and its frame count
and stream lengths checked; a source that cannot be joined, or a check that fails, falls
back to `accurate`, with the reason logged and returned.

Everything is written next to the target: the clip to `<name>.part.mp4`, renamed when
complete, and the parts to a hidden folder removed on success and failure.
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline import h264
from pipeline.errors import MediaError, SplitError
from pipeline.h264 import Packet, Source
from pipeline.media import run_with_progress

log = logging.getLogger("pipeline.split")

MODES = ("smart", "accurate", "copy")
VIDEO = {"vcodec": "libx264", "preset": "veryfast", "crf": 20}
AUDIO = {"acodec": "aac", "audio_bitrate": "128k"}
START_WINDOW = 12.0  # seconds of packets read after the start to find the next keyframe
END_WINDOW = 1.0  # seconds read past the end to see where the copy can stop


@dataclass(frozen=True)
class CutReport:
    mode: str  # the mode actually used
    start: float  # achieved start in the source, seconds
    end: float  # achieved end in the source, seconds
    fallback_reason: str | None  # why `smart` fell back to `accurate`
    reencoded_seconds: float  # how much video was re-encoded
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per phase


class NotJoinable(Exception):
    """The source cannot be cut smart; the message says why (for the log and the report)."""


@dataclass(frozen=True)
class _Plan:
    """The frames to keep: `count` frames from tick `first`, `step` ticks apart, from
    `start` to `end` seconds. With a variable frame rate (`step` None) only the requested
    times are known, and `count` is 0."""

    source: Source
    path: Path
    first: Fraction
    count: int
    step: Fraction | None
    start: float
    end: float
    start_packets: list[Packet]

    def seconds(self, ticks: Fraction | int) -> float:
        return self.source.seconds(ticks)

    @property
    def end_tick(self) -> Fraction:
        return self.first + self.count * (self.step or 0)

    def half_frame(self) -> float:
        return float(self.step * self.source.time_base) / 2 if self.step else 0.0


def cut(source: Path, start: float, end: float, target: Path, mode: str = "smart",
        on_progress: Callable[[float], None] | None = None) -> CutReport:
    """Cut [start, end) seconds of `source` into the mp4 `target` (see the module doc)."""
    if mode not in MODES:
        raise ValueError(f"unknown cut mode {mode!r}; expected one of {', '.join(MODES)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".part.mp4")
    parts = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", suffix=".parts", dir=target.parent))
    progress = on_progress or (lambda seconds: None)
    phases: dict[str, float] = {}
    try:
        with _phase(phases, "probe"):
            plan = _plan(source, start, end)
        if mode == "accurate":
            report = _accurate(plan, partial, progress, phases)
        elif mode == "copy":
            report = _copy(plan, partial, phases)
        else:
            try:
                report = _smart(plan, partial, parts, progress, phases)
            except (NotJoinable, MediaError) as exc:
                reason = str(exc) if isinstance(exc, NotJoinable) else f"smart cut failed: {exc}"
                log.warning("%s: cannot cut smart, re-encoding the session: %s",
                            target.name, reason)
                partial.unlink(missing_ok=True)
                report = replace(_accurate(plan, partial, progress, phases),
                                 fallback_reason=reason)
        partial.replace(target)
        return report
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(parts, ignore_errors=True)


@contextmanager
def _phase(phases: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - started


def _plan(path: Path, start: float, end: float) -> _Plan:
    source = h264.probe_source(path)
    end = min(end, source.duration)
    if not 0 <= start < end:
        raise SplitError(f"session {start:.1f}-{end:.1f} s does not fit the "
                         f"{source.duration:.1f} s recording {path.name}",
                         hint="check that the session's times lie inside the recording")
    packets = h264.packets_near(path, source, start, START_WINDOW)
    step = source.frame_ticks if source.frame_rate and source.time_base else None
    if not packets or step is None or not h264.on_grid(packets, step):
        return _Plan(source, path, source.ticks(start), 0, None, start, end, packets)
    # The frame nearest each time; a time half-way between two frames (as decimals written
    # in binary land: 2.3 s is 57.4999... frames at 25 fps) goes to the later one.
    origin, tie = packets[0].pts, Fraction(1, 2) + Fraction(1, 10**6)
    first = math.floor((source.ticks(start) - origin) / step + tie)
    last = math.floor((source.ticks(end) - origin) / step + tie)
    count = max(1, last - first)
    first_tick = origin + first * step
    return _Plan(source, path, first_tick, count, step, round(source.seconds(first_tick), 6),
                 round(source.seconds(first_tick + count * step), 6), packets)


def _accurate(plan: _Plan, partial: Path, progress: Callable[[float], None],
              phases: dict[str, float]) -> CutReport:
    """Re-encode the session in one pass: input seek half a frame before the first frame,
    then exactly `count` frames and the matching stretch of sound."""
    length = plan.end - plan.start
    pre = max(0.0, plan.start - plan.half_frame())
    stream = ffmpeg.input(str(plan.path), ss=f"{pre:.6f}")
    streams = [stream["v:0"].filter("setpts", "PTS-STARTPTS")]
    if plan.source.has_audio:
        streams.append(stream["a:0"].filter("atrim", start=f"{plan.start - pre:.6f}",
                                            duration=f"{length:.6f}")
                       .filter("asetpts", "PTS-STARTPTS"))
    limit = {"frames:v": plan.count} if plan.step else {"t": f"{length:.6f}"}
    output = ffmpeg.output(*streams, str(partial), **VIDEO, **AUDIO, pix_fmt="yuv420p",
                           fps_mode="passthrough", movflags="+faststart", **limit, f="mp4")
    with _phase(phases, "encode"):
        run_with_progress(output, what=f"cutting {partial.name}", duration=length,
                          on_progress=progress)
    return CutReport(mode="accurate", start=plan.start, end=plan.end, fallback_reason=None,
                     reencoded_seconds=length, phases=phases)


def _copy(plan: _Plan, partial: Path, phases: dict[str, float]) -> CutReport:
    """Stream copy from the keyframe at or before the start (nothing of the session is
    lost) to the first point at or after the end where the copy can stop cleanly."""
    keys = [p for p in plan.start_packets if p.key and p.pts <= plan.first + Fraction(1, 2)]
    key = Fraction(keys[-1].pts) if keys else plan.first
    stop = plan.source.ticks(plan.end)
    limit: dict[str, Any] = {}
    if plan.step is not None:
        with _phase(phases, "probe"):
            ends = h264.clean_ends(plan.step, *_end_packets(plan))
        stop = min((t for t in ends if t >= plan.end_tick - Fraction(1, 2)), default=max(ends))
        limit["frames:v"] = round((stop - key) / plan.step)
    start, end = round(plan.seconds(key), 6), round(plan.seconds(stop), 6)
    stream = ffmpeg.input(str(plan.path), ss=_floor_us(start))
    streams = [stream["v:0"], *([stream["a:0"]] if plan.source.has_audio else [])]
    output = ffmpeg.output(*streams, str(partial), c="copy", t=f"{end - start:.6f}",
                           movflags="+faststart", **limit, f="mp4")
    with _phase(phases, "copy"):
        run_with_progress(output, what=f"copying {partial.name}", duration=end - start)
    return CutReport(mode="copy", start=start, end=end, fallback_reason=None,
                     reencoded_seconds=0.0, phases=phases)


def _smart(plan: _Plan, partial: Path, parts: Path, progress: Callable[[float], None],
           phases: dict[str, float]) -> CutReport:
    source, step = plan.source, _joinable(plan)
    with _phase(phases, "probe"):
        key, stop = _copy_span(plan, step)
    sps, pps = h264.parameter_sets(source.extradata)
    used = {h264.parameter_set_id(unit) for unit in sps + pps}
    free = [i for i in range(32) if i not in used]  # x264 gives its SPS and PPS one id
    frame = float(step * source.time_base)
    head, tail = round((key - plan.first) / step), round((plan.end_tick - stop) / step)
    copied = round((stop - key) / step)
    pieces: list[tuple[Path, int]] = []
    # The sound is encoded on the side while the video parts are made.
    with ThreadPoolExecutor(max_workers=1) as pool:
        audio = pool.submit(_encode_audio, plan, parts / "audio.m4a", phases)
        if head:
            with _phase(phases, "head"):
                sets = _encode(plan, plan.first, head, parts / "head.mp4", free[0], progress)
            sps, pps = sps + sets[0], pps + sets[1]
            pieces.append((parts / "head.mp4", head))
        progress(head * frame)
        with _phase(phases, "copy"):
            seek = _floor_us(plan.seconds(key))
            output = ffmpeg.output(ffmpeg.input(str(plan.path), ss=seek)["v:0"],
                                   str(parts / "copy.mp4"), vcodec="copy",
                                   **{"frames:v": copied}, **_timescale(plan), f="mp4")
            run_with_progress(output, what="copying the middle of the session", duration=0)
            pieces.append((parts / "copy.mp4", copied))
        progress((head + copied) * frame)
        if tail:
            with _phase(phases, "tail"):
                sets = _encode(plan, stop, tail, parts / "tail.mp4", free[1], None)
            sps, pps = sps + sets[0], pps + sets[1]
            pieces.append((parts / "tail.mp4", tail))
        sound = audio.result()
    with _phase(phases, "join"):
        h264.merge_parameter_sets(pieces[0][0], sps, pps)
        _join(plan, pieces, sound, partial)
    with _phase(phases, "verify"):
        _verify(plan, partial)
    progress(plan.end - plan.start)
    return CutReport(mode="smart", start=plan.start, end=plan.end, fallback_reason=None,
                     reencoded_seconds=round((head + tail) * frame, 6), phases=phases)


def _copy_span(plan: _Plan, step: Fraction) -> tuple[int, Fraction]:
    """Where the stream copy starts (the first keyframe at or after the first frame, an IDR
    frame) and stops (the last clean stop at or before the end), in ticks."""
    key = _next_keyframe(plan)
    if key.pts >= plan.end_tick:
        raise NotJoinable("no keyframe inside the session: nothing to stream-copy")
    if not h264.is_idr(plan.path, plan.source, key):
        raise NotJoinable(f"the keyframe at {plan.seconds(key.pts):.3f} s is "
                          "not an IDR frame (open GOP)")
    stop = max(t for t in h264.clean_ends(step, *_end_packets(plan))
               if t <= plan.end_tick + Fraction(1, 2))
    if stop <= key.pts:
        raise NotJoinable("the session ends before the frames of its keyframe can be copied")
    return key.pts, stop


def _encode_audio(plan: _Plan, out: Path, phases: dict[str, float]) -> Path | None:
    """The session's sound, cut sample-exact (ffmpeg trims decoded audio to -ss/-t)."""
    if not plan.source.has_audio:
        return None
    with _phase(phases, "audio"):
        stream = ffmpeg.input(str(plan.path), ss=f"{plan.start:.6f}",
                              t=f"{plan.end - plan.start:.6f}")
        run_with_progress(ffmpeg.output(stream["a:0"], str(out), **AUDIO, f="mp4"),
                          what="encoding the session's sound", duration=0)
    return out


def _joinable(plan: _Plan) -> Fraction:
    """The frame step, once the source is known to be one the smart cut can join."""
    reason = h264.cannot_match(plan.source)
    if reason or plan.step is None:
        raise NotJoinable(reason or "the source has a variable frame rate")
    return plan.step


def _next_keyframe(plan: _Plan) -> Packet:
    """The first keyframe at or after the first frame, checked to have no leading
    pictures. The window read grows until it holds the keyframe and a few packets after."""
    packets, after = plan.start_packets, START_WINDOW
    while True:
        index = next((i for i, p in enumerate(packets)
                      if p.key and p.pts >= plan.first - Fraction(1, 2)), None)
        if index is not None and len(packets) - index > 16:
            break
        if plan.start + after > min(plan.end, plan.source.duration) + 1:
            if index is None:
                raise NotJoinable("no keyframe inside the session: nothing to stream-copy")
            break
        after *= 4
        packets = h264.packets_near(plan.path, plan.source, plan.start, after)
    _no_leading_pictures(plan, packets, index)
    return packets[index]


def _end_packets(plan: _Plan) -> tuple[list[Packet], int]:
    """Packets from the last keyframe at or before the end, and that keyframe's index."""
    packets = h264.packets_near(plan.path, plan.source, plan.end, END_WINDOW)
    end_tick = plan.source.ticks(plan.end)
    keys = [i for i, p in enumerate(packets) if p.key and p.pts <= end_tick + Fraction(1, 2)]
    if not keys:
        raise NotJoinable(f"no keyframe found before the end at {plan.end:.3f} s")
    _no_leading_pictures(plan, packets, keys[-1])
    return packets, keys[-1]


def _no_leading_pictures(plan: _Plan, packets: list[Packet], index: int) -> None:
    key = packets[index]
    if h264.leading_pictures(packets, index):
        raise NotJoinable(f"open GOP: frames after the keyframe at "
                          f"{plan.seconds(key.pts):.3f} s show before it")


def _encode(plan: _Plan, first: Fraction, frames: int, out: Path, set_id: int,
            progress: Callable[[float], None] | None) -> tuple[list[bytes], list[bytes]]:
    """Re-encode `frames` frames from tick `first` with the source's parameters and SPS/PPS
    id `set_id`; return the part's parameter sets."""
    source = plan.source
    pre = max(0.0, plan.seconds(first) - plan.half_frame())
    video = ffmpeg.input(str(plan.path), ss=f"{pre:.6f}")["v:0"]
    if source.sar not in ("0:1", "1:1", "N/A", ""):
        video = video.filter("setsar", source.sar.replace(":", "/"))
    x264 = [f"sps-id={set_id}", "stitchable=1",
            *{0: ["bframes=0"], 1: ["b-pyramid=none"]}.get(source.has_b_frames, [])]
    options: dict[str, Any] = {**VIDEO, "profile:v": h264.X264_PROFILES[source.profile],
                               "x264-params": ":".join(x264), "pix_fmt": source.pix_fmt,
                               "fps_mode": "passthrough", "frames:v": frames, **source.colors}
    if source.level:
        options["level"] = f"{source.level / 10:.1f}"
    seconds = frames * float(plan.step * source.time_base) if plan.step else 0.0
    run_with_progress(ffmpeg.output(video, str(out), **options, **_timescale(plan), f="mp4"),
                      what=f"re-encoding the {out.stem} of the session", duration=seconds,
                      on_progress=progress)
    part = h264.probe_source(out)
    for name in ("profile", "level", "width", "height", "pix_fmt", "has_b_frames"):
        if getattr(part, name) != getattr(source, name):
            raise NotJoinable(f"the re-encoded {out.stem} has {name} {getattr(part, name)}, "
                              f"the source {getattr(source, name)}")
    return h264.parameter_sets(part.extradata)


def _join(plan: _Plan, pieces: list[tuple[Path, int]], audio: Path | None,
          partial: Path) -> None:
    """Concatenate the parts without re-encoding (concat demuxer: each part's packets go
    to Annex B with its own parameter sets, then into one mp4 track) and add the sound."""
    assert plan.step is not None
    frame = plan.step * plan.source.time_base
    listing = pieces[0][0].with_name("parts.ffconcat")
    listing.write_text("ffconcat version 1.0\n" + "".join(
        f"file '{path.name}'\nduration {float(frames * frame):.9f}\n"
        for path, frames in pieces), encoding="utf-8")
    streams = [ffmpeg.input(str(listing), f="concat", safe=0)["v:0"]]
    if audio is not None:
        streams.append(ffmpeg.input(str(audio))["a:0"])
    options: dict[str, Any] = {"c": "copy", "movflags": "+faststart", **_timescale(plan)}
    run_with_progress(ffmpeg.output(*streams, str(partial), **options, f="mp4"),
                      what="joining the parts of the session", duration=0)


def _verify(plan: _Plan, clip: Path) -> None:
    """Decode the whole clip: no decoder errors, the planned frame count, both streams as
    long as the session."""
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-v", "error", "-progress",
                           "pipe:1", "-i", str(clip), "-f", "null", "-"],
                          capture_output=True, text=True)
    errors = done.stderr.strip()
    if done.returncode != 0 or errors:
        raise NotJoinable(f"the joined clip does not decode cleanly: {errors.splitlines()[-1]}"
                          if errors else f"decoding the joined clip failed ({done.returncode})")
    counts = [line[6:] for line in done.stdout.splitlines() if line.startswith("frame=")]
    frames = int(counts[-1]) if counts and counts[-1].isdigit() else -1
    if frames != plan.count:
        raise NotJoinable(f"the joined clip has {frames} frames, expected {plan.count}")
    length = plan.end - plan.start
    for stream in h264.ffprobe(clip, "-show_streams").get("streams", []):
        kind, seconds = stream.get("codec_type"), float(stream.get("duration") or 0)
        slack = plan.half_frame() * 2 if kind == "video" else 0.05
        if kind in ("video", "audio") and abs(seconds - length) > slack + 1e-6:
            raise NotJoinable(f"the joined clip's {kind} lasts {seconds:.3f} s, "
                              f"expected {length:.3f} s")


def _timescale(plan: _Plan) -> dict[str, Any]:
    """The source's time scale, for every part and the clip: the concat demuxer reads all
    parts in the first one's time base, without rescaling."""
    base = plan.source.time_base
    return {"video_track_timescale": base.denominator} if base.numerator == 1 else {}


def _floor_us(seconds: float) -> str:
    """A seek time not after `seconds` (a copy dropped its first keyframe if -ss passed it)."""
    return f"{math.floor(round(seconds * 1e6, 3)) / 1e6:.6f}"
