"""The check of a smart-cut clip at its joins (see `verify_joined`)."""

from __future__ import annotations

import json
import math
import subprocess
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.cutting.spans import CutSpans, NotJoinable, SoundCopy

JOIN_CHECK = 1.0  # seconds decoded past the head's join to verify it


def verify_joined(plan: CutSpans, clip: Path, head: int, restart: int,
                  sound: SoundCopy | None) -> None:
    """Check the joined clip where it can have gone wrong, at the joins, without decoding
    the middle (the source's own packets, byte for byte): decode its video and sound from
    its start to JOIN_CHECK past the head, and its video from frame `restart` (the last
    copied IDR frame, where a decoder can start: in an open GOP other keyframes cannot) to
    the end, with no decoder error and every frame there in its place on the frame grid
    (so the middle's timestamps are right at both ends); exactly the planned number of
    video packets in the clip's index; both streams as long as the session; a copied sound
    starting with the planned packet at the planned time, with the planned packet count."""
    assert plan.step is not None
    step, count = plan.step * plan.source.time_base, plan.count  # seconds a frame
    check = min(count, head + math.ceil(JOIN_CHECK / step))
    # ffprobe stops reading at the first packet that shows at or after the end of a window,
    # so read a little further than the frames to check. The second window's seek lands on
    # the keyframe at or before the time given, which the index may count in decode time,
    # where B-frames move a frame earlier by up to their depth: aim a quarter frame after
    # the restart frame, so that the seek lands on it (the keyframe before it is at least
    # a GOP earlier, and the tail's first frame later).
    reach = float(check * step) + JOIN_CHECK / 4
    aim = float(restart * step + step / 4)
    probes = {
        "start": ["-show_streams", "-show_packets", "-show_frames", "-show_entries",
                  "stream=index,codec_type,time_base,duration,nb_frames:"
                  "packet=stream_index,pts,size:frame=stream_index,pts,key_frame",
                  "-read_intervals", f"%{reach:.6f}"],
        "end": ["-select_streams", "v:0", "-show_frames", "-show_entries",
                "frame=stream_index,pts,key_frame", "-read_intervals", f"{aim:.6f}%"],
    }
    with ThreadPoolExecutor(max_workers=len(probes)) as pool:
        runs = {name: pool.submit(probe_checked, clip, args) for name, args in probes.items()}
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
    if not end or not end[0][1] or end[0][0] != restart or (
            [number for number, _ in end] != list(range(end[0][0], count))):
        raise NotJoinable("the joined clip's frames from the last copied IDR frame to the end "
                          "do not decode in order")
    _check_lengths(plan, streams)
    if sound is not None:
        _check_copied_sound(plan, sound, audio, found["start"])


def _check_lengths(plan: CutSpans, streams: dict[Any, dict[str, Any]]) -> None:
    """The video as long as the session; the sound too, or as the source's sound left."""
    length = plan.end - plan.start
    lengths = {"video": length, "audio": min(length, plan.source.audio_end - plan.source.start
                                             - plan.start)}
    for kind, stream in streams.items():
        seconds = float(stream.get("duration") or 0)
        slack = plan.half_frame() * 2 if kind == "video" else 0.05
        if kind in lengths and abs(seconds - lengths[kind]) > slack + 1e-6:
            raise NotJoinable(f"the joined clip's {kind} lasts {seconds:.3f} s, "
                              f"expected {lengths[kind]:.3f} s")


def _check_copied_sound(plan: CutSpans, sound: SoundCopy, audio: dict[str, Any],
                        start: dict[str, Any]) -> None:
    """The copied sound starts with the planned packet at the planned time, and has the
    planned number of packets."""
    first: dict[str, Any] = next(
        (p for p in start.get("packets_and_frames", [])
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


def probe_checked(clip: Path, args: list[str]) -> dict[str, Any]:
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
