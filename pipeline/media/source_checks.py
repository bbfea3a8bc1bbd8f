"""Is it a whole, finished forum video? The checks fetch makes on what it is given
(a local file, a saved yt-dlp info dict) and on what it downloads.

Each failure is one `FetchError` (exit 3) saying what is wrong and what to do:
a file that is missing, empty or not media; no sound or no picture; sound that
stops well before the length the file's header gives (a truncated copy or
download); a stream still live, upcoming or processing; a video that is not
public; an info dict without usable links. yt-dlp's errors are cut down to
their first line, with the hint that fits the source and the failure.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from pipeline.errors import FetchError, MediaError
from pipeline.media.probe import MediaInfo, probe, wav_seconds

_NOT_READY = {  # live_status: (what it is, what to do)
    "is_live": ("the stream is still live", "run again after it has ended"),
    "is_upcoming": ("the stream has not started yet", "run again after it has ended"),
    "post_live": ("the video is still processing on YouTube (post_live)",
                  "run again in an hour"),
}
_NOT_PUBLIC = {"private", "premium_only", "subscriber_only", "needs_auth"}
# Sound may end a little before the header's length (AAC priming, a last short frame);
# a truncated file loses far more.
TRUNCATED_SLACK = 1.0  # seconds


def check_media(video: Path, what: str, field: str) -> MediaInfo:
    """A recording the later stages can use: readable, with sound and picture."""
    hint = f"check {field} in the forum config: it must be the forum's whole video"
    try:
        media = probe(video)
    except MediaError as exc:
        lines = exc.stderr_tail.strip().splitlines()
        detail = lines[-1].removeprefix(f"{video}: ") if lines else "unknown format"
        raise FetchError(f"{what} is not a video ffmpeg can read ({detail})", hint) from None
    if not media.has_audio:
        raise FetchError(f"{what} has no audio track",
                         f"Whisper needs the forum's sound; {hint}")
    if not media.has_video:
        raise FetchError(f"{what} has no video track (sound only)",
                         f"clips need the picture; {hint}")
    return media


def check_whole(media: MediaInfo, audio: Path, what: str, field: str) -> None:
    """The sound must last as long as the file says: a copy or download that stopped
    early keeps its header (with the whole length) but loses the end."""
    declared = media.audio_duration
    if declared is None:
        return
    heard = wav_seconds(audio)
    if declared - heard > max(TRUNCATED_SLACK, 0.005 * declared):
        again = ("copy the whole file again" if field == "source.file"
                 else "run again with --only fetch --force to download it again")
        raise FetchError(f"{what} is incomplete: its sound stops at {heard:.1f} s of the "
                         f"{declared:.1f} s its header gives (a truncated copy or download)",
                         f"{again}; check {field}")


def load_info(path: Path, field: str) -> dict[str, Any]:
    """yt-dlp's info dict as `yt-dlp -J` or `--write-info-json` saved it."""
    again = f"save it again with `yt-dlp -J URL`, or fix {field}"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FetchError(f"{path} not found", f"check {field} in the forum config") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FetchError(f"{path} is not a yt-dlp info.json ({exc})", again) from None
    if not isinstance(info, dict):
        raise FetchError(f"{path} is not a yt-dlp info.json (not a JSON object)", again)
    return info


def check_links(info: dict[str, Any], path: Path, field: str) -> None:
    """A saved info dict (once it is known to be a finished video) must say where to
    download it: http(s) links, as yt-dlp wrote them."""
    formats = info.get("formats") or [info]
    links = [item.get("url") if isinstance(item, dict) else None for item in formats]
    bad = [link for link in links if not re.match(r"https?://", str(link or ""))]
    if bad:
        raise FetchError(f"{path} is not a yt-dlp info.json (a format without an http(s) "
                         f"link: {str(bad[0])[:80]!r})",
                         f"save it again with `yt-dlp -J URL`, or fix {field}")


def download_hint(error: str, field: str) -> str:
    if field == "source.file":
        return "check source.file in the forum config"
    if re.search(r"Giving up after \d+ retries|timed out|bytes read", error):
        return ("the connection broke off or stalled; check the network and run again: the "
                "download resumes where it stopped")
    if field == "source.info_json":
        return ("its links may have expired: save the info again with `yt-dlp -J URL`, or "
                "give source.url")
    return "check the link in source.url, that the video is public, and the network"


def check_local_source(path: Path) -> Path:
    hint = "check source.file in the forum config"
    if not path.exists():
        raise FetchError(f"source file {path} not found", hint)
    if not path.is_file():
        raise FetchError(f"source file {path} is not a file", hint)
    if path.stat().st_size == 0:
        raise FetchError(f"source file {path} is empty (0 bytes)",
                         f"copy the recording again; {hint}")
    return path


def refuse_unfinished(info: dict[str, Any]) -> None:
    status = info.get("live_status")
    title = f"'{info.get('title') or 'the video'}'"
    if status in _NOT_READY:
        state, advice = _NOT_READY[status]
        when = info.get("release_timestamp")
        if status == "is_upcoming" and isinstance(when, int | float):
            start = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            state = f"{state} (scheduled for {start})"
        raise FetchError(f"{title} cannot be archived yet: {state}", advice)
    availability = info.get("availability")
    if availability in _NOT_PUBLIC:
        raise FetchError(f"{title} is not public on YouTube ({availability})",
                         "ask the channel to make it public or unlisted, then run again")
    if info.get("_type") == "playlist":
        raise FetchError("source.url is a playlist", "give the link of the forum video itself")


def first_line(exc: Exception) -> str:
    text = str(exc).replace("ERROR: ", "").strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    # yt-dlp names its extractor and the video id first ("[generic] forum: ..."), and
    # repeats the cause in full at the end ("... refused (caused by TransportError(...))").
    line = re.sub(r"^\[[\w:-]+\] (?:[\w-]+: )?", "", line)
    return re.sub(r" \(caused by .*\)$", "", line)
