"""Cut one session out of a recording, frame-exact, re-encoding as little as possible.

Modes:
- `accurate`: re-encode the whole session (H.264 libx264 / AAC). Frame-exact, slow.
- `copy`: stream copy from the keyframe at or before the start to the first frame at or after
  the end where the copy can stop cleanly. Fast, but only keyframe-exact at the start.
- `smart` (default): re-encode from the first frame to the next keyframe (the head), copy
  from there, re-encode the few frames after the last point where the copy can stop cleanly
  (the tail), and join the parts without re-encoding. Frame-exact at both ends. An AAC sound
  is copied too, trimmed to the sample by an edit list; another sound is re-encoded.

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
edit list, which players may ignore. The head and tail are encoded side by side while the
middle is copied (x264 superfast: a few seconds a cut, so speed counts more than size).

How a smart cut is checked. The middle of the clip is the source's own packets, byte for
byte, so only the joins are decoded: from the clip's start to a second past the head (the
head, and the head/copy join), and from the keyframe of the last copied frame to the end (the
copy/tail join and the tail). There must be no decoder error, and every frame there must show
at its place on the frame grid; the clip's index must hold exactly the planned number of
frames (a count, not a decode), and both streams must last the session. A source that cannot
be joined, or a check that fails, falls back to `accurate`, with the reason logged and
returned.

The sound. AAC frames cannot be cut, and one decodes whole only after the one before it.
So the copied sound starts with the packet before the one that holds the session's first
sample, and an edit list on the sound track says to play from that sample for the session's
length: players that honour it (ffmpeg, and players that follow the MP4 rules) play the sound
to the sample, from a clean first frame. A player that ignores the edit list plays the
packet before too, and the first one whole: the sound starts 1024 to 2047 samples early (at
most 42.6 ms at 48 kHz; AAC frames are 1024 samples). At the end ffmpeg 5.1 plays the last AAC
frame whole, up to 1023 samples (21 ms) past the session's end; the video is exact. The
clip's first sound packet is checked to be the planned one, at the planned time.

Everything is written next to the target: the clip to `<name>.part.mp4`, renamed when
complete, and the parts to a hidden folder removed on success and failure.
"""

from __future__ import annotations

import glob
import itertools
import json
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
from typing import Any, TypeVar

import ffmpeg

from pipeline import h264
from pipeline.errors import MediaError, SplitError
from pipeline.faults import checkpoint
from pipeline.h264 import Packet, Source
from pipeline.media import run_with_progress

log = logging.getLogger("pipeline.split")

MODES = ("smart", "accurate", "copy")
VIDEO = {"vcodec": "libx264", "preset": "veryfast", "crf": 20}
PARTS = {**VIDEO, "preset": "superfast"}  # the head and tail: seconds long, made on each cut
AUDIO = {"acodec": "aac", "audio_bitrate": "128k"}
START_WINDOW = 12.0  # seconds of packets read after the start to find the next keyframe
END_WINDOW = 1.0  # seconds read past the end to see where the copy can stop
JOIN_CHECK = 1.0  # seconds decoded past the head's join to verify it
_T = TypeVar("_T")


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
    start_audio: list[Packet]  # the sound's packets from about the same time
    end_packets: list[Packet] | None  # from the keyframe before the end (None: not read)

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
    _remove_leftovers(target)
    parts = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", suffix=".parts", dir=target.parent))
    progress = on_progress or (lambda seconds: None)
    phases: dict[str, float] = {}
    try:
        with _phase(phases, "probe"):
            plan = _plan(source, start, end, ends=mode != "accurate")
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
        checkpoint("split.cut")
        partial.replace(target)
        return report
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _remove_leftovers(target: Path) -> None:
    """A killed cut leaves its parts folder behind (one run per forum: the forum lock)."""
    for stale in target.parent.glob(f".{glob.escape(target.stem)}.*.parts"):
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _phase(phases: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - started


def _plan(path: Path, start: float, end: float, ends: bool = True) -> _Plan:
    """The frames to keep. The packets around the start, and (with `ends`, for a copy)
    around the end, are read in one pass, while the source is probed."""

    def windows(end: float) -> list[tuple[float, float]]:
        # From a second before the end: the frame kept last may lie up to half a frame
        # before the end asked for, and the keyframe before it must be in the window.
        return [(start, START_WINDOW),
                *([(max(0.0, end - 1.0), END_WINDOW + 1.0)] if ends else [])]

    with ThreadPoolExecutor(max_workers=1) as pool:
        guess = pool.submit(h264.read_windows, path, windows(end))
        source = h264.probe_source(path)
        try:
            early: h264.WindowsRead | None = guess.result()
        except MediaError:
            early = None
    end = min(end, source.duration)
    if not 0 <= start < end:
        raise SplitError(f"session {start:.1f}-{end:.1f} s does not fit the "
                         f"{source.duration:.1f} s recording {path.name}",
                         hint="check that the session's times lie inside the recording")
    found = h264.packets_windows(path, source, windows(end), early)
    (packets, audio), end_packets = found[0], found[1][0] if ends else None
    step = source.frame_ticks if source.frame_rate and source.time_base else None
    if not packets or step is None or not h264.on_grid(packets, step) \
            or not _one_step_apart(packets, step, source.has_b_frames):
        return _Plan(source, path, source.ticks(start), 0, None, start, end, packets, audio,
                     end_packets)
    # The frame nearest each time; a time half-way between two frames (as decimals written
    # in binary land: 2.3 s is 57.4999... frames at 25 fps) goes to the later one.
    origin, tie = packets[0].pts, Fraction(1, 2) + Fraction(1, 10**6)
    first = math.floor((source.ticks(start) - origin) / step + tie)
    last = math.floor((source.ticks(end) - origin) / step + tie)
    count = max(1, last - first)
    first_tick = origin + first * step
    return _Plan(source, path, first_tick, count, step, round(source.seconds(first_tick), 6),
                 round(source.seconds(first_tick + count * step), 6), packets, audio,
                 end_packets)


def _one_step_apart(packets: list[Packet], step: Fraction, reordered: int) -> bool:
    """Whether each frame shows one step of the grid after the one before. The grid is
    r_frame_rate, the finest rate the timestamps need: a source that changes its rate (25
    fps, then 10: a variable frame rate) still lies on it, with frames steps apart, and
    counting frames would cut it too long; such a source is cut by time instead. The
    window was read in decode order, so up to `reordered` + 1 frames at its end may be
    missing."""
    shown = sorted(p.pts for p in packets)
    gaps = sum(1 for a, b in itertools.pairwise(shown) if abs(b - a - step) > 1)
    return gaps <= reordered + 1


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
        sound = _sound_copy(plan) if source.has_audio else None
    if isinstance(sound, str):
        log.info("%s: re-encoding the sound: %s", partial.name, sound)
    sps, pps = h264.parameter_sets(source.extradata)
    used = {h264.parameter_set_id(unit) for unit in sps + pps}
    free = [i for i in range(32) if i not in used]  # x264 gives its SPS and PPS one id
    frame = float(step * source.time_base)
    head, tail = round((key - plan.first) / step), round((plan.end_tick - stop) / step)
    copied = round((stop - key) / step)
    # The head, the tail and (when it cannot be copied) the sound are encoded side by side
    # while the middle is copied (and its keyframe checked to be an IDR frame: rarely not,
    # as an I-frame with no leading pictures is flagged as a keyframe too). One part is read
    # back and matched to the source (ffprobe): the tail, done first as it is a few frames
    # long, or the head where there is no tail; both are made with the same settings.
    checked = "tail" if tail else "head"
    with ThreadPoolExecutor(max_workers=3) as pool:
        encodes = {name: pool.submit(_timed, phases, name, _part, plan, first, frames,
                                     parts / f"{name}.mp4", set_id, name == checked)
                   for name, first, frames, set_id in (("head", plan.first, head, free[0]),
                                                      ("tail", stop, tail, free[1]))
                   if frames}
        audio = (pool.submit(_encode_audio, plan, parts / "audio.m4a", phases)
                 if isinstance(sound, str) else None)
        with _phase(phases, "copy"):
            _copy_part(plan, key, copied, parts / "copy.mp4")
        progress(copied * frame)
        if not h264.starts_with_idr(parts / "copy.mp4", source.extradata):
            raise NotJoinable(f"the keyframe at {plan.seconds(key):.3f} s is "
                              "not an IDR frame (open GOP)")
        pieces: list[tuple[Path, int]] = []
        for name, frames in (("head", head), ("copy", copied), ("tail", tail)):
            if name in encodes:
                sets = encodes[name].result()
                sps, pps = sps + sets[0], pps + sets[1]
            if frames:
                pieces.append((parts / f"{name}.mp4", frames))
        progress((head + copied + tail) * frame)
        encoded = audio.result() if audio else None
    with _phase(phases, "join"):
        h264.merge_parameter_sets(pieces[0][0], sps, pps)
        _join(plan, pieces, encoded if isinstance(sound, str) else sound, partial)
        if isinstance(sound, _SoundCopy):
            h264.edit_sound(partial, sound.skip, sound.seconds)
    with _phase(phases, "verify"):
        _verify(plan, partial, head, copied, sound if isinstance(sound, _SoundCopy) else None)
    progress(plan.end - plan.start)
    return CutReport(mode="smart", start=plan.start, end=plan.end, fallback_reason=None,
                     reencoded_seconds=round((head + tail) * frame, 6), phases=phases)


def _timed(phases: dict[str, float], name: str, work: Callable[..., _T], *args: Any) -> _T:
    with _phase(phases, name):
        return work(*args)


def _copy_span(plan: _Plan, step: Fraction) -> tuple[int, Fraction]:
    """Where the stream copy starts (the first keyframe at or after the first frame; the
    caller checks that it is an IDR frame) and stops (the last clean stop at or before the
    end, in ticks)."""
    key = _next_keyframe(plan)
    if key.pts >= plan.end_tick:
        raise NotJoinable("no keyframe inside the session: nothing to stream-copy")
    stop = max(t for t in h264.clean_ends(step, *_end_packets(plan))
               if t <= plan.end_tick + Fraction(1, 2))
    if stop <= key.pts:
        raise NotJoinable("the session ends before the frames of its keyframe can be copied")
    return key.pts, stop


@dataclass(frozen=True)
class _SoundCopy:
    """The session's sound as the source's own AAC packets: `frames` packets from the one at
    `first` (ticks of the sound's time base, one per sample), played from `skip` ticks into
    them for `seconds`, by an edit list. The first packet is the one before the packet that
    holds the session's first sample: an AAC frame is decoded whole only after the one
    before it, so players that honour the edit list play the first sample clean."""

    seek: str | None  # an input -ss that lands on the first packet; None: the file's first
    first: int
    skip: int
    frames: int
    size: int  # bytes of the first packet, to check that it is the one in the clip
    seconds: Fraction


def _sound_copy(plan: _Plan) -> _SoundCopy | str:
    """How to stream-copy the session's sound, or why it must be re-encoded."""
    source, base = plan.source, plan.source.audio_time_base
    if source.audio_codec != "aac":
        return f"the sound is {source.audio_codec or 'unknown'}, not AAC"
    if not base or base * source.sample_rate != 1:
        return f"the sound's time base {base} is not one tick a sample"
    begin = round(plan.first * source.time_base / base)  # the first and the end sample
    end = round(plan.end_tick * source.time_base / base)
    if math.isfinite(source.audio_end):  # the source's sound may stop before the session
        end = min(end, round(Fraction(source.audio_end) / base))
    if end <= begin:
        return "the sound ends before the session starts"
    packets, seconds = plan.start_audio, plan.start
    while True:
        from_start = h264.reads_from_start(source, seconds)
        index = next((i for i, p in enumerate(packets)
                      if p.pts <= begin < p.pts + p.duration), None)
        if (index is not None and (index > 0 or from_start)) or seconds < plan.start:
            break  # a second earlier once: the packet before was not read
        seconds = plan.start - 1.0
        packets = h264.packets_around(plan.path, source, seconds, 2.0)[1]
    if index is None:
        return "the sound's packets at the start could not be read"
    packets = packets[max(0, index - 1):]
    size = packets[0].duration
    if size <= 0 or any(b.pts - a.pts != size or a.duration != size
                        for a, b in itertools.pairwise(packets)):
        return "the sound's packets are not evenly spaced"
    first = packets[0]
    seek = None
    if index > 1 or not from_start:  # not the file's first packet: seek to it
        micro = math.floor(first.pts * base * 10**6) - round(source.start * 10**6)
        if micro < 0:
            return "the sound's first packet comes before the start of the file"
        seek = f"{micro / 10**6:.6f}"
    return _SoundCopy(seek=seek, first=first.pts, skip=begin - first.pts,
                      frames=-(-(end - first.pts) // size), size=first.size,
                      seconds=(end - begin) * base)


def _encode_audio(plan: _Plan, out: Path, phases: dict[str, float]) -> Path:
    """The session's sound, cut sample-exact (ffmpeg trims decoded audio to -ss/-t)."""
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
    packets = plan.end_packets
    if packets is None:
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


def _encode(plan: _Plan, first: Fraction, frames: int, out: Path,
            set_id: int) -> tuple[list[bytes], list[bytes]]:
    """Re-encode `frames` frames from tick `first` with the source's parameters and SPS/PPS
    id `set_id`; return the part's parameter sets."""
    source = plan.source
    pre = max(0.0, plan.seconds(first) - plan.half_frame())
    video = ffmpeg.input(str(plan.path), ss=f"{pre:.6f}")["v:0"]
    if source.sar not in ("0:1", "1:1", "N/A", ""):
        video = video.filter("setsar", source.sar.replace(":", "/"))
    x264 = [f"sps-id={set_id}", "stitchable=1", "b-adapt=0",
            *{0: ["bframes=0"], 1: ["b-pyramid=none"]}.get(source.has_b_frames, [])]
    options: dict[str, Any] = {**PARTS, "profile:v": h264.X264_PROFILES[source.profile],
                               "x264-params": ":".join(x264), "pix_fmt": source.pix_fmt,
                               "fps_mode": "passthrough", "frames:v": frames, **source.colors}
    if source.level:
        options["level"] = f"{source.level / 10:.1f}"
    run_with_progress(ffmpeg.output(video, str(out), **options, **_timescale(plan), f="mp4"),
                      what=f"re-encoding the {out.stem} of the session", duration=0)
    return h264.mp4_parameter_sets(out)


def _part(plan: _Plan, first: Fraction, frames: int, out: Path, set_id: int,
          check: bool) -> tuple[list[bytes], list[bytes]]:
    """`_encode`, and with `check` the part's stream read back and matched to the source."""
    sets = _encode(plan, first, frames, out, set_id)
    if check:
        part, source = h264.probe_source(out), plan.source
        for name in ("profile", "level", "width", "height", "pix_fmt", "has_b_frames"):
            if getattr(part, name) != getattr(source, name):
                raise NotJoinable(f"the re-encoded {out.stem} has {name} "
                                  f"{getattr(part, name)}, the source {getattr(source, name)}")
    return sets


def _copy_part(plan: _Plan, key: int, frames: int, out: Path) -> None:
    """The middle: `frames` packets from the keyframe at tick `key`, copied."""
    output = ffmpeg.output(ffmpeg.input(str(plan.path), ss=_floor_us(plan.seconds(key)))["v:0"],
                           str(out), vcodec="copy", **{"frames:v": frames}, **_timescale(plan),
                           f="mp4")
    run_with_progress(output, what="copying the middle of the session", duration=0)


def _join(plan: _Plan, pieces: list[tuple[Path, int]], sound: Path | _SoundCopy | None,
          partial: Path) -> None:
    """Concatenate the parts without re-encoding (concat demuxer: each part's packets go
    to Annex B with its own parameter sets, then into one mp4 track) and add the sound:
    an encoded file, or the source's own packets (the edit list is set afterwards)."""
    assert plan.step is not None
    frame = plan.step * plan.source.time_base
    listing = pieces[0][0].with_name("parts.ffconcat")
    listing.write_text("ffconcat version 1.0\n" + "".join(
        f"file '{path.name}'\nduration {float(frames * frame):.9f}\n"
        for path, frames in pieces), encoding="utf-8")
    streams = [ffmpeg.input(str(listing), f="concat", safe=0)["v:0"]]
    options: dict[str, Any] = {"c": "copy", "movflags": "+faststart", **_timescale(plan)}
    if isinstance(sound, Path):
        streams.append(ffmpeg.input(str(sound))["a:0"])
    elif sound is not None:
        # From the first packet: with -copypriorss 0 the packets before the seek point
        # (from the video keyframe before it) are left out, and the first one kept is at 0.
        seek = {"ss": sound.seek} if sound.seek else {}
        streams.append(ffmpeg.input(str(plan.path), **seek)["a:0"])
        options["frames:a"] = sound.frames
        if sound.seek:
            options["copypriorss:a"] = 0
    run_with_progress(ffmpeg.output(*streams, str(partial), **options, f="mp4"),
                      what="joining the parts of the session", duration=0)


def _verify(plan: _Plan, clip: Path, head: int, copied: int, sound: _SoundCopy | None) -> None:
    """Check the joined clip where it can have gone wrong, at the joins, without decoding
    the middle (the source's own packets, byte for byte): decode its video and sound from
    its start to JOIN_CHECK past the head, and its video from the keyframe of the last
    copied frame to the end, with no decoder error and every frame there in its place on the
    frame grid (so the middle's timestamps are right at both ends); exactly the planned
    number of video packets in the clip's index; both streams as long as the session; a
    copied sound starting with the planned packet at the planned time, with the planned
    packet count."""
    assert plan.step is not None
    step, count = plan.step * plan.source.time_base, plan.count  # seconds a frame
    check = min(count, head + math.ceil(JOIN_CHECK / step))
    last = head + copied - 1  # the last copied frame
    # ffprobe stops reading at the first packet that shows at or after the end of a window,
    # so read a little further than the frames to check. The second window's seek lands on
    # the keyframe at or before the time given, which the index may count in decode time,
    # where B-frames move a frame earlier by up to their depth: aim that much earlier, so
    # that it is never the tail's first frame, but the keyframe of the last copied frame
    # (or one before it).
    reach = float(check * step) + JOIN_CHECK / 4
    aim = float(max(0, last - plan.source.has_b_frames) * step + step / 4)
    probes = {
        "start": ["-show_streams", "-show_packets", "-show_frames", "-show_entries",
                  "stream=index,codec_type,time_base,duration,nb_frames:"
                  "packet=stream_index,pts,size:frame=stream_index,pts,key_frame",
                  "-read_intervals", f"%{reach:.6f}"],
        "end": ["-select_streams", "v:0", "-show_frames", "-show_entries",
                "frame=stream_index,pts,key_frame", "-read_intervals", f"{aim:.6f}%"],
    }
    with ThreadPoolExecutor(max_workers=len(probes)) as pool:
        runs = {name: pool.submit(_probe_checked, clip, args) for name, args in probes.items()}
        found = {name: run.result() for name, run in runs.items()}
    streams = {s.get("codec_type"): s for s in found["start"].get("streams", [])}
    video, audio = streams.get("video", {}), streams.get("audio", {})
    base = _fraction(video.get("time_base"))
    if not base:
        raise NotJoinable("the joined clip has no video stream")

    def frames(data: dict[str, Any]) -> list[tuple[int, bool]]:
        shown = [f for f in data.get("frames", data.get("packets_and_frames", []))
                 if f.get("stream_index") == video.get("index")
                 and f.get("type", "frame") == "frame"]
        return [(_frame_number(f.get("pts"), base, step), f.get("key_frame") == 1)
                for f in shown]

    if str(video.get("nb_frames")) != str(count):
        raise NotJoinable(f"the joined clip has {video.get('nb_frames')} frames, "
                          f"expected {count}")
    start = [number for number, _ in frames(found["start"])]
    if start[:check] != list(range(check)):
        raise NotJoinable(f"the joined clip's first {check} frames do not decode in order")
    end = frames(found["end"])
    if not end or not end[0][1] or end[0][0] > last or (
            [number for number, _ in end] != list(range(end[0][0], count))):
        raise NotJoinable("the joined clip's frames from the last copied keyframe to the end "
                          "do not decode in order")
    # The sound as long as the session, or as the source's sound that is left.
    length = plan.end - plan.start
    lengths = {"video": length, "audio": min(length, plan.source.audio_end - plan.source.start
                                             - plan.start)}
    for kind, stream in streams.items():
        seconds = float(stream.get("duration") or 0)
        slack = plan.half_frame() * 2 if kind == "video" else 0.05
        if kind in lengths and abs(seconds - lengths[kind]) > slack + 1e-6:
            raise NotJoinable(f"the joined clip's {kind} lasts {seconds:.3f} s, "
                              f"expected {lengths[kind]:.3f} s")
    if sound is not None:
        first: dict[str, Any] = next(
            (p for p in found["start"].get("packets_and_frames", [])
             if p.get("type") == "packet" and p.get("stream_index") == audio.get("index")), {})
        at = _fraction(audio.get("time_base")) * int(first.get("pts", 1))
        planned = -sound.skip * plan.source.audio_time_base
        if at != planned or (sound.size and int(first.get("size") or 0) != sound.size):
            raise NotJoinable(f"the joined clip's sound starts with a packet of "
                              f"{first.get('size')} bytes at {float(at):.6f} s, expected "
                              f"{sound.size} bytes at {float(planned):.6f} s")
        if str(audio.get("nb_frames")) != str(sound.frames):  # the source's sound ran out
            raise NotJoinable(f"the joined clip has {audio.get('nb_frames')} sound packets, "
                              f"expected {sound.frames}")


def _probe_checked(clip: Path, args: list[str]) -> dict[str, Any]:
    """ffprobe's answer, decoding where asked (on all cores: ffprobe's default is one
    thread): any decoder error fails the check."""
    done = subprocess.run(["ffprobe", "-v", "error", "-threads", "0", *args, "-of", "json",
                           str(clip)],
                          capture_output=True, encoding="utf-8", errors="replace")
    errors = done.stderr.strip()
    if done.returncode != 0 or errors:
        raise NotJoinable(f"the joined clip does not decode cleanly: {errors.splitlines()[-1]}"
                          if errors else f"probing the joined clip failed ({done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout or "{}")
    return result


def _frame_number(pts: Any, base: Fraction, step: Fraction) -> int:
    """The frame a timestamp shows (-1 when it lies off the frame grid)."""
    if pts is None:
        return -1
    number = round(int(pts) * base / step)
    return number if abs(int(pts) - number * step / base) <= 1 else -1


def _fraction(text: Any) -> Fraction:
    try:
        return Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return Fraction(0)


def _timescale(plan: _Plan) -> dict[str, Any]:
    """The source's time scale, for every part and the clip: the concat demuxer reads all
    parts in the first one's time base, without rescaling."""
    base = plan.source.time_base
    return {"video_track_timescale": base.denominator} if base.numerator == 1 else {}


def _floor_us(seconds: float) -> str:
    """A seek time not after `seconds` (a copy dropped its first keyframe if -ss passed it)."""
    return f"{math.floor(round(seconds * 1e6, 3)) / 1e6:.6f}"
