"""What a smart cut needs to know about a source, read with ffprobe without scanning it.

- `probe_source`: the video stream's parameters (codec, profile, level, size, pixel format,
  time base, B-frame depth, the avcC parameter sets) and whether there is sound (its codec,
  time base, sample rate and end).
- `packets_near`: the video packets (pts, dts, keyframe flag) from the keyframe at or before
  a time to a little after it, read with `ffprobe -read_intervals`, so a cut point on a
  3-hour file costs a seek and a few seconds of packet headers, never a scan of the file;
  `packets_around` reads the sound's packets (pts, duration, size) of the same stretch too,
  and `packets_windows` several stretches in one pass (`read_windows` may start it before
  the source is probed).
- `is_idr`, `starts_with_idr`, `leading_pictures`: whether a keyframe is an IDR picture with
  no frame after it that shows before it (an I-frame of an open GOP is flagged as a keyframe
  too, but is no clean place to start); `clean_ends`: where a copy can stop.
- Reading and editing the mp4 boxes themselves (parameter sets, the sound's edit list)
  is in `pipeline.cutting.mp4_boxes`.

Times are in ticks of the video stream's time base unless a name says seconds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.cutting.mp4_boxes import hexdump_bytes
from pipeline.errors import MediaError
from pipeline.media.probe import ffprobe


@dataclass(frozen=True)
class Source:
    codec: str
    profile: str
    level: int
    width: int
    height: int
    pix_fmt: str
    field_order: str
    sar: str
    time_base: Fraction
    frame_rate: Fraction  # r_frame_rate
    has_b_frames: int
    colors: dict[str, str]  # ffmpeg output options: color_range, colorspace, ...
    start: float  # the container's start time, seconds (what -ss counts from)
    duration: float  # seconds, of the video stream where known
    extradata: bytes
    has_audio: bool
    audio_codec: str = ""  # of the first sound stream, the one a cut keeps
    audio_time_base: Fraction = Fraction(0)
    sample_rate: int = 0
    video_index: int = 0  # stream indexes of v:0 and a:0 (-1: none)
    audio_index: int = -1
    audio_end: float = float("inf")  # where the sound ends, seconds on the file's clock

    @property
    def frame_ticks(self) -> Fraction:
        """One frame's length in ticks (need not be whole: 30000/1001 fps in 1/12800)."""
        return 1 / (self.frame_rate * self.time_base)

    def seconds(self, ticks: float | Fraction) -> float:
        return float(ticks * self.time_base) - self.start

    def ticks(self, seconds: float) -> Fraction:
        return Fraction(seconds + self.start) / self.time_base


X264_PROFILES = {"Constrained Baseline": "baseline", "Baseline": "baseline", "Main": "main",
                 "High": "high"}  # the H.264 profiles x264 encodes 8-bit 4:2:0 in
PIXEL_FORMATS = ("yuv420p", "yuvj420p")


def cannot_match(source: Source) -> str | None:
    """Why x264 cannot encode parts that join this source's video, or None."""
    if source.codec != "h264":
        return f"the source video is {source.codec or 'unknown'}, not H.264"
    if source.pix_fmt not in PIXEL_FORMATS:
        return f"pixel format {source.pix_fmt} cannot be matched by the encoder"
    if source.profile not in X264_PROFILES:
        return f"H.264 profile {source.profile!r} cannot be matched by the encoder"
    if source.field_order not in ("progressive", "unknown"):
        return f"the source is interlaced ({source.field_order})"
    if source.has_b_frames > 2:
        return (f"B-frame reordering of depth {source.has_b_frames} cannot be matched by "
                "the encoder (at most 2)")
    return None


@dataclass(frozen=True)
class Packet:
    pts: int
    dts: int
    key: bool
    duration: int = 0  # ticks; 0 where not read
    size: int = 0  # bytes; 0 where not read
    pos: int = -1  # byte offset in the file; -1 where not read


def _fraction(text: str | None) -> Fraction:
    try:
        return Fraction(text or "0/1")
    except (ValueError, ZeroDivisionError):
        return Fraction(0)


def probe_source(path: Path) -> Source:
    data = ffprobe(path, "-show_streams", "-show_format", "-show_data")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None:
        raise MediaError(f"{path.name} has no video stream", hint="check the recording")
    fmt = data.get("format", {})
    colors = {option: str(video[field]) for field, option in (
        ("color_range", "color_range"), ("color_space", "colorspace"),
        ("color_transfer", "color_trc"), ("color_primaries", "color_primaries"))
        if video.get(field) not in (None, "unknown", "reserved")}
    return Source(
        codec=str(video.get("codec_name", "")),
        profile=str(video.get("profile", "")),
        level=int(video.get("level") or 0),
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        pix_fmt=str(video.get("pix_fmt", "")),
        field_order=str(video.get("field_order", "unknown")),
        sar=str(video.get("sample_aspect_ratio", "0:1")),
        time_base=_fraction(video.get("time_base")),
        frame_rate=_fraction(video.get("r_frame_rate")),
        has_b_frames=int(video.get("has_b_frames") or 0),
        colors=colors,
        start=float(fmt.get("start_time") or 0.0),
        duration=min(float(fmt.get("duration") or "inf"), float(video.get("duration") or "inf")),
        extradata=hexdump_bytes(video.get("extradata", "")),
        has_audio=audio is not None,
        audio_codec=str((audio or {}).get("codec_name", "")),
        audio_time_base=_fraction((audio or {}).get("time_base")),
        sample_rate=int((audio or {}).get("sample_rate") or 0),
        video_index=int(video.get("index", 0)),
        audio_index=int(audio.get("index", -1)) if audio else -1,
        audio_end=(float(audio.get("start_time") or 0) + float(audio["duration"])
                   if audio and audio.get("duration") not in (None, "N/A") else float("inf")),
    )


def packets_near(path: Path, source: Source, seconds: float, after: float) -> list[Packet]:
    """Video packets in decode order, from the keyframe at or before `seconds` until a
    packet shows later than `seconds + after`. Only that stretch of the file is read."""
    at = max(0.0, seconds + source.start)
    data = ffprobe(path, "-select_streams", "v:0", "-show_entries",
                   "packet=pts,dts,flags,pos,size",
                   "-read_intervals", _interval(at, after))
    return [_packet(p) for p in data.get("packets", []) if p.get("pts") is not None]


FROM_START = 1.0  # seconds: a stretch that starts this near the file's start is read from it


def reads_from_start(source: Source, seconds: float) -> bool:
    """Whether `packets_around(..., seconds, ...)` reads from the file's first packets."""
    return max(0.0, seconds + source.start) < FROM_START


@dataclass(frozen=True)
class WindowsRead:
    """The packets of several windows as one ffprobe read them, for `packets_windows`."""

    start: float  # the file's start time the windows were placed by
    windows: tuple[tuple[float, float], ...]
    packets: list[dict[str, Any]]


def read_windows(path: Path, windows: list[tuple[float, float]],
                 start: float = 0.0) -> WindowsRead:
    """Read the packets of all streams in several (seconds, after) windows, in one ffprobe,
    placed for a file that starts at `start` seconds (before its streams are known: most
    files start at 0, and `packets_windows` reads again if this one does not)."""
    intervals = [_interval(max(0.0, seconds + start), after,
                           from_start=max(0.0, seconds + start) < FROM_START)
                 for seconds, after in windows]
    data = ffprobe(path, "-show_entries", "packet=stream_index,pts,dts,flags,duration,size,pos",
                   "-read_intervals", ",".join(intervals))
    return WindowsRead(start, tuple(windows), data.get("packets", []))


def packets_windows(path: Path, source: Source, windows: list[tuple[float, float]],
                    read: WindowsRead | None = None) -> list[tuple[list[Packet], list[Packet]]]:
    """`packets_around` for several (seconds, after) windows, read by one ffprobe (or taken
    from `read`, if it read these windows where this source starts). Its answer runs the
    windows together; each stream's packets are split where they stop following on (the
    next one not where the last one ends), which is where ffprobe seeks to the next window.
    Where two windows meet or overlap exactly there is no such place: each is then given the
    packets of both, one run that covers them both. A stream that does not follow on within
    a window has its windows read one by one."""
    if read is None or read.start != source.start or read.windows != tuple(windows):
        read = read_windows(path, windows, source.start)
    runs: dict[int, list[list[Packet]]] = {source.video_index: [[]], source.audio_index: [[]]}
    for p in read.packets:
        if p.get("pts") is None or int(p.get("stream_index", -2)) not in runs:
            continue
        packet, run = _packet(p), runs[int(p["stream_index"])]
        if run[-1] and packet.dts != run[-1][-1].dts + run[-1][-1].duration:
            run.append([])
        run[-1].append(packet)
    if any(len(run) not in (1, len(windows)) for run in runs.values()):  # a gap within
        return [packets_around(path, source, *window) for window in windows]  # a window
    video, audio = runs[source.video_index], runs[source.audio_index]
    return [(video[index] if len(video) > 1 else video[0],
             audio[index] if len(audio) > 1 else audio[0]) for index in range(len(windows))]


def packets_around(path: Path, source: Source, seconds: float,
                   after: float) -> tuple[list[Packet], list[Packet]]:
    """The video packets of `packets_near` and the first sound stream's packets of the same
    stretch (pts, duration, size; from where the seek put the sound, at or before the
    keyframe's time), read in one pass. Within the first second of the file the stretch
    starts at the file's first packets (a seek to 0 would pass over the sound's priming)."""
    at = max(0.0, seconds + source.start)
    data = ffprobe(path, "-show_entries", "packet=stream_index,pts,dts,flags,"
                   "duration,size,pos", "-read_intervals",
                   _interval(at, after, from_start=reads_from_start(source, seconds)))
    streams: dict[int, list[Packet]] = {source.video_index: [], source.audio_index: []}
    for p in data.get("packets", []):
        if p.get("pts") is not None and int(p.get("stream_index", -2)) in streams:
            streams[int(p["stream_index"])].append(_packet(p))
    return streams[source.video_index], streams[source.audio_index]


def _interval(at: float, after: float, from_start: bool = False) -> str:
    # An absolute end: ffprobe counts "%+offset" from where the seek landed (the keyframe).
    return f"%{at + after:.6f}" if from_start else f"{at:.6f}%{at + after:.6f}"


def _packet(p: dict[str, Any]) -> Packet:
    return Packet(pts=int(p["pts"]), dts=int(p.get("dts", p["pts"])),
                  key="K" in p.get("flags", ""), duration=int(p.get("duration") or 0),
                  size=int(p.get("size") or 0), pos=int(p.get("pos") or -1))


def nal_length_size(extradata: bytes) -> int:
    """Bytes of each NAL unit's length prefix in the samples (from the avcC; 4 by default)."""
    return (extradata[4] & 3) + 1 if extradata[:1] == b"\x01" and len(extradata) > 4 else 4


def _first_slice(handle: BinaryIO, pos: int, end: int, size: int) -> int | None:
    """The NAL type (1 or 5) of the first slice among length-prefixed NAL units from `pos`
    to `end`, or None where they do not parse as such."""
    while pos + size < end:
        handle.seek(pos)
        unit = handle.read(size + 1)
        length = int.from_bytes(unit[:size], "big")
        if len(unit) < size + 1 or length == 0 or unit[size] & 0x80:
            return None
        kind = unit[size] & 0x1F
        if kind in (1, 5):
            return kind
        pos += size + length
    return None


def is_idr(path: Path, packet: Packet, extradata: bytes) -> bool | None:
    """Whether the picture of a packet read with its byte position and size is an IDR
    picture (True), another picture (False), or cannot be told from the file (None: a
    container whose packets do not lie there as length-prefixed NAL units)."""
    if packet.pos < 0 or packet.size <= 0:
        return None
    with path.open("rb") as handle:
        kind = _first_slice(handle, packet.pos, packet.pos + packet.size,
                            nal_length_size(extradata))
    return None if kind is None else kind == 5


def starts_with_idr(mp4: Path, extradata: bytes) -> bool:
    """Whether the first picture of a one-track mp4 that ffmpeg wrote (its samples one
    after another from the start of the mdat) holds an IDR slice (NAL type 5): read from
    the file, a few bytes a NAL unit."""
    with mp4.open("rb") as handle:
        end, pos = handle.seek(0, 2), 0
        while pos + 8 <= end:  # to the mdat
            handle.seek(pos)
            header = handle.read(16)
            box, kind = struct.unpack_from(">I4s", header)
            if kind == b"mdat":
                pos, end = pos + (16 if box == 1 else 8), (
                    pos + struct.unpack_from(">Q", header, 8)[0] if box == 1
                    else pos + box if box else end)
                break
            pos += struct.unpack_from(">Q", header, 8)[0] if box == 1 else max(box, 8)
        else:
            return False
        return _first_slice(handle, pos, end, nal_length_size(extradata)) == 5


def on_grid(packets: list[Packet], step: Fraction) -> bool:
    """Whether every packet shows on the frame grid of the first (a constant frame rate)."""
    origin = packets[0].pts
    return all(abs((p.pts - origin) - round((p.pts - origin) / step) * step) <= 1
               for p in packets)


def leading_pictures(packets: list[Packet], index: int) -> bool:
    """Whether a packet after the keyframe `packets[index]`, in decode order, shows before
    it: an open GOP, whose first frames need the GOP before."""
    return any(p.pts < packets[index].pts for p in packets[index + 1:])


def clean_ends(step: Fraction, packets: list[Packet], index: int) -> list[Fraction]:
    """Ticks T where a copy that runs through the keyframe `packets[index]` can stop: the
    packets up to some point in decode order are exactly the frames before T, so none
    refers to a frame that is left out (with B-frames, a frame shown before T may need one
    shown after). An open GOP's keyframe has leading pictures, decoded after it and shown
    before it; every frame decoded before the keyframe shows before them, so the frames
    are counted from the earliest shown."""
    base = min(p.pts for p in packets[index:])
    ends, highest = [Fraction(base)], base
    for count, packet in enumerate(packets[index:], start=1):
        highest = max(highest, packet.pts)
        if abs(highest - base - (count - 1) * step) <= 1:
            ends.append(base + count * step)
    return ends
