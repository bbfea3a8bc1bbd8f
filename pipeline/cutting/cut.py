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
import logging
import math
import shutil
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

from pipeline.cutting import h264, mp4_boxes
from pipeline.cutting.join_check import verify_joined
from pipeline.cutting.spans import (
    CutSpans,
    NotJoinable,
    SoundCopy,
    copy_span,
    end_packets,
    find_spans,
    joinable,
    restart_point,
    sound_copy,
)
from pipeline.errors import MediaError
from pipeline.faults import checkpoint
from pipeline.media.probe import run_with_progress

log = logging.getLogger("pipeline.split")

MODES = ("smart", "accurate", "copy")
VIDEO = {"vcodec": "libx264", "preset": "veryfast", "crf": 20}
PARTS = {**VIDEO, "preset": "superfast"}  # the head and tail: seconds long, made on each cut
AUDIO = {"acodec": "aac", "audio_bitrate": "128k"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class CutReport:
    mode: str  # the mode actually used
    start: float  # achieved start in the source, seconds
    end: float  # achieved end in the source, seconds
    fallback_reason: str | None  # why `smart` fell back to `accurate`
    reencoded_seconds: float  # how much video was re-encoded
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per phase


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
            plan = find_spans(source, start, end, ends=mode != "accurate")
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


def _accurate(plan: CutSpans, partial: Path, progress: Callable[[float], None],
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


def _copy(plan: CutSpans, partial: Path, phases: dict[str, float]) -> CutReport:
    """Stream copy from the keyframe at or before the start (nothing of the session is
    lost) to the first point at or after the end where the copy can stop cleanly."""
    keys = [p for p in plan.start_packets if p.key and p.pts <= plan.first + Fraction(1, 2)]
    key = Fraction(keys[-1].pts) if keys else plan.first
    stop = plan.source.ticks(plan.end)
    limit: dict[str, Any] = {}
    if plan.step is not None:
        with _phase(phases, "probe"):
            ends = h264.clean_ends(plan.step, *end_packets(plan))
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


def _smart(plan: CutSpans, partial: Path, parts: Path, progress: Callable[[float], None],
           phases: dict[str, float]) -> CutReport:
    source, step = plan.source, joinable(plan)
    with _phase(phases, "probe"):
        key, stop = copy_span(plan, step)
        restart = restart_point(plan, key, stop)
        sound = sound_copy(plan) if source.has_audio else None
    if isinstance(sound, str):
        log.info("%s: re-encoding the sound: %s", partial.name, sound)
    sps, pps = mp4_boxes.parameter_sets(source.extradata)
    used = {mp4_boxes.parameter_set_id(unit) for unit in sps + pps}
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
        mp4_boxes.merge_parameter_sets(pieces[0][0], sps, pps)
        _join(plan, pieces, encoded if isinstance(sound, str) else sound, partial)
        if isinstance(sound, SoundCopy):
            mp4_boxes.edit_sound(partial, sound.skip, sound.seconds)
    with _phase(phases, "verify"):
        verify_joined(plan, partial, head, round((restart - key) / step) + head,
                      sound if isinstance(sound, SoundCopy) else None)
    progress(plan.end - plan.start)
    return CutReport(mode="smart", start=plan.start, end=plan.end, fallback_reason=None,
                     reencoded_seconds=round((head + tail) * frame, 6), phases=phases)


def _timed(phases: dict[str, float], name: str, work: Callable[..., _T], *args: Any) -> _T:
    with _phase(phases, name):
        return work(*args)


def _encode_audio(plan: CutSpans, out: Path, phases: dict[str, float]) -> Path:
    """The session's sound, cut sample-exact (ffmpeg trims decoded audio to -ss/-t)."""
    with _phase(phases, "audio"):
        stream = ffmpeg.input(str(plan.path), ss=f"{plan.start:.6f}",
                              t=f"{plan.end - plan.start:.6f}")
        run_with_progress(ffmpeg.output(stream["a:0"], str(out), **AUDIO, f="mp4"),
                          what="encoding the session's sound", duration=0)
    return out


def _encode(plan: CutSpans, first: Fraction, frames: int, out: Path,
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
    return mp4_boxes.mp4_parameter_sets(out)


def _part(plan: CutSpans, first: Fraction, frames: int, out: Path, set_id: int,
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


def _copy_part(plan: CutSpans, key: int, frames: int, out: Path) -> None:
    """The middle: `frames` packets from the keyframe at tick `key`, copied."""
    output = ffmpeg.output(ffmpeg.input(str(plan.path), ss=_floor_us(plan.seconds(key)))["v:0"],
                           str(out), vcodec="copy", **{"frames:v": frames}, **_timescale(plan),
                           f="mp4")
    run_with_progress(output, what="copying the middle of the session", duration=0)


def _join(plan: CutSpans, pieces: list[tuple[Path, int]], sound: Path | SoundCopy | None,
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


def _timescale(plan: CutSpans) -> dict[str, Any]:
    """The source's time scale, for every part and the clip: the concat demuxer reads all
    parts in the first one's time base, without rescaling."""
    base = plan.source.time_base
    return {"video_track_timescale": base.denominator} if base.numerator == 1 else {}


def _floor_us(seconds: float) -> str:
    """A seek time not after `seconds` (a copy dropped its first keyframe if -ss passed it)."""
    return f"{math.floor(round(seconds * 1e6, 3)) / 1e6:.6f}"
