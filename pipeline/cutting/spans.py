"""What a cut keeps (`find_spans`), as the smart cut uses it (pipeline.cutting.cut) and checks it
(pipeline.cutting.join_check): the frames, the sound's own packets, and why a source cannot be cut
smart."""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from pipeline.cutting import h264
from pipeline.cutting.h264 import Packet, Source
from pipeline.errors import MediaError, SplitError

START_WINDOW = 12.0  # seconds of packets read after the start to find the next keyframe
END_WINDOW = 1.0  # seconds read past the end to see where the copy can stop
END_LOOKBACK = 11.0  # seconds read before the end: the last IDR frame (often 10 s apart)


class NotJoinable(Exception):
    """The source cannot be cut smart; the message says why (for the log and the report)."""


@dataclass(frozen=True)
class CutSpans:
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


@dataclass(frozen=True)
class SoundCopy:
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


def copy_span(plan: CutSpans, step: Fraction) -> tuple[int, Fraction]:
    """Where the stream copy starts (the first clean start at or after the first frame:
    `next_keyframe`) and stops (the last clean stop at or before the end, in ticks)."""
    key = next_keyframe(plan)
    if key.pts >= plan.end_tick:
        raise NotJoinable("no keyframe inside the session: nothing to stream-copy")
    stop = max(t for t in h264.clean_ends(step, *end_packets(plan))
               if t <= plan.end_tick + Fraction(1, 2))
    if stop <= key.pts:
        raise NotJoinable("the session ends before the frames of its keyframe can be copied")
    return key.pts, stop


def sound_copy(plan: CutSpans) -> SoundCopy | str:
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
    return SoundCopy(seek=seek, first=first.pts, skip=begin - first.pts,
                      frames=-(-(end - first.pts) // size), size=first.size,
                      seconds=(end - begin) * base)


def joinable(plan: CutSpans) -> Fraction:
    """The frame step, once the source is known to be one the smart cut can join."""
    reason = h264.cannot_match(plan.source)
    if reason or plan.step is None:
        raise NotJoinable(reason or "the source has a variable frame rate")
    return plan.step


def clean_start(plan: CutSpans, packets: list[Packet], index: int) -> bool:
    """Whether a copy can start at the keyframe `packets[index]`: an IDR picture (or one the
    file cannot tell: the copy's first picture is checked again once it is written) with
    no leading pictures. A recovery-point I-frame of an open GOP is not: the frames after
    it still name frames before it in their reference marking, which a decoder reports as
    an error ("mmco: unref short failure") even with its leading pictures dropped."""
    return (not h264.leading_pictures(packets, index)
            and h264.is_idr(plan.path, packets[index], plan.source.extradata) is not False)


def next_keyframe(plan: CutSpans) -> Packet:
    """The first keyframe at or after the first frame where a copy can start cleanly
    (`clean_start`). The window read grows until it holds that keyframe and a few packets
    after it, or reaches the session's end."""
    packets, after, skipped = plan.start_packets, START_WINDOW, 0
    while True:
        final = plan.start + after > min(plan.end, plan.source.duration) + 1
        keys = [i for i, p in enumerate(packets) if p.key and p.pts >= plan.first - Fraction(1, 2)
                and p.pts < plan.end_tick and (final or i + 16 < len(packets))]
        index = next((i for i in keys if clean_start(plan, packets, i)), None)
        if index is not None:
            return packets[index]
        skipped = max(skipped, len(keys))
        if final:
            break
        after *= 4
        packets = h264.packets_near(plan.path, plan.source, plan.start, after)
    if not skipped:
        raise NotJoinable("no keyframe inside the session: nothing to stream-copy")
    raise NotJoinable(f"open GOP: none of the session's {skipped} keyframes is an IDR frame "
                      "with no leading pictures, so no copy can start cleanly")


def restart_point(plan: CutSpans, key: int, stop: Fraction) -> int:
    """The last clean start (`clean_start`) copied, at or after `key` and before `stop`:
    where a decoder can start to check the end of the clip."""
    packets, _ = end_packets(plan)
    found = [p.pts for i, p in enumerate(packets)
             if p.key and key <= p.pts < stop and clean_start(plan, packets, i)]
    return max(found, default=key)


def end_packets(plan: CutSpans) -> tuple[list[Packet], int]:
    """Packets from the last keyframe at or before the end, and that keyframe's index (an
    open GOP's keyframe will do: see `h264.clean_ends`)."""
    packets = plan.end_packets
    if packets is None:
        packets = h264.packets_near(plan.path, plan.source, plan.end, END_WINDOW)
    end_tick = plan.source.ticks(plan.end)
    keys = [i for i, p in enumerate(packets) if p.key and p.pts <= end_tick + Fraction(1, 2)]
    if not keys:
        raise NotJoinable(f"no keyframe found before the end at {plan.end:.3f} s")
    return packets, keys[-1]


def find_spans(path: Path, start: float, end: float, ends: bool = True) -> CutSpans:
    """The frames to keep. The packets around the start, and (with `ends`, for a copy)
    around the end, are read in one pass, while the source is probed."""

    def windows(end: float) -> list[tuple[float, float]]:
        # From END_LOOKBACK before the end: the frame kept last may lie up to half a frame
        # before the end asked for, and the keyframe before it must be in the window, as
        # must an IDR frame to check the clip's end from (`restart_point`). Windows that
        # meet are read as one (two read from the file's start would share a packet).
        if not ends:
            return [(start, START_WINDOW)]
        lookback = max(0.0, end - END_LOOKBACK)
        if lookback <= start + START_WINDOW:
            return [(start, max(START_WINDOW, end - start + END_WINDOW))]
        return [(start, START_WINDOW), (lookback, END_WINDOW + END_LOOKBACK)]

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
    (packets, audio), end_packets = found[0], found[-1][0] if ends else None
    step = source.frame_ticks if source.frame_rate and source.time_base else None
    if not packets or step is None or not h264.on_grid(packets, step) \
            or not _one_step_apart(packets, step, source.has_b_frames):
        return CutSpans(source, path, source.ticks(start), 0, None, start, end, packets, audio,
                     end_packets)
    # The frame nearest each time; a time half-way between two frames (as decimals written
    # in binary land: 2.3 s is 57.4999... frames at 25 fps) goes to the later one.
    origin, tie = packets[0].pts, Fraction(1, 2) + Fraction(1, 10**6)
    first = math.floor((source.ticks(start) - origin) / step + tie)
    last = math.floor((source.ticks(end) - origin) / step + tie)
    count = max(1, last - first)
    first_tick = origin + first * step
    return CutSpans(source, path, first_tick, count, step, round(source.seconds(first_tick), 6),
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
