"""Fetch: download the forum recording with yt-dlp and extract Whisper's audio.

Local files go through yt-dlp too (as `file://` URLs), so the real downloader
and its metadata handling run for the demo and the tests. The info dict is
turned into a `Recording` here, at the edge; nothing downstream sees it.

Live streams are refused before anything is downloaded: a stream that is
still live, scheduled, or `post_live` (YouTube is still processing the
recording) would give a truncated or unseekable file; so is a private video.
The source may also be an info dict yt-dlp saved (`source: {info_json: ...}`,
what `yt-dlp --load-info-json` reads): the same checks, then the download.

A source that is not a whole forum video is refused with exit 3 before any
later stage sees it (`pipeline.media.source_checks`). A server that stops sending is
given up after `timeout` seconds without data, 11 times over (a hung link must
end the run).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config.forum import ForumConfig
from pipeline.errors import FetchError, MediaError
from pipeline.faults import checkpoint
from pipeline.manifest import fingerprint
from pipeline.media.probe import extract_audio
from pipeline.media.source_checks import (
    check_links,
    check_local_source,
    check_media,
    check_whole,
    download_hint,
    first_line,
    load_info,
    refuse_unfinished,
)
from pipeline.progress import Progress, Task
from pipeline.results import Chapter, FetchResult, MaterialFile, MaterialLink, Recording
from pipeline.settings import DEFAULT_FETCH_TIMEOUT
from pipeline.stage import RunContext, Stage

log = logging.getLogger("pipeline.fetch")

VIDEO_STEM = "recording"
# Prefer H.264/AAC in mp4 so clips cut cleanly; fall back to anything yt-dlp can merge.
FORMAT = "bv*[ext=mp4][height<=1080]+ba[ext=m4a]/b[ext=mp4]/bv*[height<=1080]+ba/b"

RETRIES = 10  # per download: a broken connection resumes where it stopped


@dataclass(frozen=True)
class FetchRequest:
    url: str  # http(s)://, or file:// for a local master file (or a saved info.json)
    work_dir: Path  # the forum's work directory; files go under source/
    # The source changed since the last finished fetch: the old download must not be
    # mistaken for a resumable or finished one.
    discard_previous: bool = False
    info_json: Path | None = None  # yt-dlp's saved info dict: download what it lists
    timeout: float = DEFAULT_FETCH_TIMEOUT  # seconds without data before a retry
    field: str = "source.url"  # the config field that gave the source, for the hints


def file_url(path: Path) -> str:
    return path.resolve().as_uri()


def fetch(request: FetchRequest, progress: Progress) -> Recording:
    """Download (or resume) the recording, write info.json and 16 kHz mono audio."""
    import yt_dlp  # heavy import, kept out of `sort-archive --help`

    source_dir = request.work_dir / "source"
    local = _local_path(request.url) if request.info_json is None else None
    origin = str(request.info_json or request.url)
    # A local master is checked where it lies, before a copy of it is made.
    what = f"the source file {local}" if local else f"the recording from {origin}"
    if local is not None:
        check_media(check_local_source(local), what, request.field)
    source_dir.mkdir(parents=True, exist_ok=True)
    if request.discard_previous:
        for old in [*source_dir.glob(f"{VIDEO_STEM}.*"), source_dir / "audio.wav"]:
            old.unlink(missing_ok=True)

    with progress.task("download", total=None) as bar:
        options = _options(source_dir, bar, request.timeout)
        try:
            with yt_dlp.YoutubeDL(options) as ydl:
                if request.info_json is not None:
                    info = ydl.sanitize_info(load_info(request.info_json, request.field), True)
                else:
                    info = ydl.extract_info(request.url, download=False)
                refuse_unfinished(info)
                if request.info_json is not None:
                    check_links(info, request.info_json, request.field)
                info = ydl.process_ie_result(info, download=True)
                clean = ydl.sanitize_info(info)
        except yt_dlp.utils.DownloadError as exc:
            raise FetchError(f"cannot fetch {origin}: {first_line(exc)}",
                             download_hint(str(exc), request.field)) from None

    video = _downloaded_path(clean, source_dir)
    info_path = source_dir / "info.json"
    _write_json(info_path, clean)
    media = check_media(video, what, request.field)

    audio = source_dir / "audio.wav"
    if not audio.exists() or audio.stat().st_mtime < video.stat().st_mtime:
        with progress.task("extract audio", total=media.duration) as bar:
            try:
                extract_audio(video, audio, duration=media.duration, on_progress=bar.update)
            except MediaError as exc:  # a damaged file; a full disk is an OSError
                raise FetchError(f"cannot read the sound of {what}: {exc.message}",
                                 f"check {request.field}: it must be the forum's whole "
                                 "video") from None
    check_whole(media, audio, what, request.field)

    return Recording(
        video_path=video.resolve(),
        audio_path=audio.resolve(),
        info_path=info_path.resolve(),
        duration=media.duration,
        title=str(clean.get("title") or video.stem),
        source_url=str(clean.get("webpage_url") or request.url) if request.info_json
        else request.url,
        live_status=clean.get("live_status"),
        chapters=_chapters(clean, media.duration),
    )


def _options(source_dir: Path, bar: Task, timeout: float) -> dict[str, Any]:
    def hook(status: dict[str, Any]) -> None:
        if status.get("status") == "downloading":
            checkpoint("fetch.download")
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            bar.update(float(status.get("downloaded_bytes") or 0), float(total) if total else None)

    return {
        "format": FORMAT,
        "merge_output_format": "mp4",
        "outtmpl": str(source_dir / f"{VIDEO_STEM}.%(ext)s"),
        "continuedl": True,  # resume .part files after an interruption
        "nopart": False,
        "retries": RETRIES,
        "fragment_retries": RETRIES,
        "socket_timeout": timeout,
        "enable_file_urls": True,
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "progress_hooks": [hook],
        "logger": _YtDlpLogger(),
    }


class _YtDlpLogger:
    """Routes yt-dlp's chatter to our logger instead of the terminal."""

    def debug(self, message: str) -> None:
        log.debug("%s", message)

    def info(self, message: str) -> None:
        log.debug("%s", message)

    def warning(self, message: str) -> None:
        log.warning("%s", message)

    def error(self, message: str) -> None:
        log.debug("%s", message)  # surfaces as DownloadError, reported once by the CLI


def _local_path(url: str) -> Path | None:
    if not url.startswith("file://"):
        return None
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(url).path))


def _downloaded_path(info: dict[str, Any], source_dir: Path) -> Path:
    for item in info.get("requested_downloads") or []:
        path = item.get("filepath") or item.get("filename")
        if path and Path(path).is_file():
            return Path(path)
    candidates = sorted(p for p in source_dir.glob(f"{VIDEO_STEM}.*")
                        if p.suffix not in {".part", ".ytdl", ".json", ".wav"})
    if not candidates:
        raise FetchError("yt-dlp finished but no recording file was written",
                         "run again with -v to see the downloader's log")
    return candidates[0]


def _chapters(info: dict[str, Any], duration: float) -> tuple[Chapter, ...]:
    chapters = []
    for item in info.get("chapters") or []:
        start = float(item.get("start_time") or 0.0)
        end = float(item.get("end_time") or duration)
        if end > start:
            chapters.append(Chapter(title=str(item.get("title") or ""), start=start, end=end))
    return tuple(chapters)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str),
                       encoding="utf-8")
    partial.replace(path)


def fetch_materials(links: list[MaterialLink], work_dir: Path, progress: Progress,
                    timeout: float = DEFAULT_FETCH_TIMEOUT) -> tuple[MaterialFile, ...]:
    """Download materials given by URL (자료집, slides) into `work_dir/materials/`.

    A file already downloaded is kept: materials are published documents that do not
    change under the same link, and re-runs must not fetch them again.
    """
    import urllib.error
    import urllib.request  # refuses a redirect to file: by itself (a test holds it to it)
    from urllib.parse import quote, unquote, urlparse

    folder = work_dir / "materials"
    files = []
    with progress.task("download materials", total=len(links)) as bar:
        for link in links:
            name = Path(unquote(urlparse(link.url).path)).name
            if name in ("", ".", "..") or "\0" in name:
                name = "material"  # the file stays in `folder`, whatever the link says
            target = folder / name
            # Links are often pasted with Korean names (자료집.pdf): send them %-encoded.
            url = quote(link.url, safe=":/?#[]@!$&'()*+,;=%~")
            if not target.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                try:
                    with urllib.request.urlopen(url, timeout=timeout) as response, \
                            partial.open("wb") as out:
                        while block := response.read(1 << 20):
                            out.write(block)
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    partial.unlink(missing_ok=True)
                    if isinstance(exc, OSError) and exc.errno == 28:
                        raise
                    reason = (f"HTTP Error {exc.code}: {exc.reason}"
                              if isinstance(exc, urllib.error.HTTPError)
                              else getattr(exc, "reason", None) or exc)
                    raise FetchError(f"cannot download {link.url}: {reason}",
                                     f"check {link.field} in the forum config") from None
                partial.replace(target)
            files.append(MaterialFile(path=target.resolve(), kind=link.kind, title=link.title))
            bar.advance()
    return tuple(files)


class FetchStage(Stage[FetchResult]):
    """Declared stage: the recording (and materials given by URL) into the work folder."""

    name = "fetch"
    result_type = FetchResult

    def inputs(self, ctx: RunContext) -> list[Any]:
        links = [link.model_dump() for link in material_links(ctx.config)]
        return [*_source_inputs(ctx.config), links]

    def outputs(self, result: FetchResult) -> list[Path]:
        recording = result.recording
        return [recording.video_path, recording.audio_path, recording.info_path,
                *(m.path for m in result.materials)]

    def run(self, ctx: RunContext) -> FetchResult:
        source_url, stamp = _source_inputs(ctx.config)
        # Only a new source (or --force) may throw away a download: it can be gigabytes.
        source_key = fingerprint([source_url, stamp])
        items = ctx.items(self.name)
        changed = items.changed_since_recorded("source", source_key) or self.name in ctx.forced
        # Which source the files in source/ come from, before they exist: a fetch that fails
        # (a truncated file, no sound) leaves them behind, and once staff replace the
        # source they must be fetched afresh, not taken for a download to resume.
        items.record("source", source_key, [])
        source = ctx.config.forum.source
        info_json = ctx.config.resolve(source.info_json) if source.info_json else None
        field = ("source.info_json" if info_json else "source.file" if source.file
                 else "source.url")
        recording = fetch(FetchRequest(url=source_url, work_dir=ctx.work_dir,
                                       discard_previous=changed, info_json=info_json,
                                       timeout=ctx.options.fetch_timeout, field=field),
                          ctx.progress)
        items.record("source", source_key, [recording.video_path])
        materials = fetch_materials(material_links(ctx.config), ctx.work_dir, ctx.progress,
                                    ctx.options.fetch_timeout)
        return FetchResult(recording=recording, materials=materials)

    def describe(self, ctx: RunContext) -> str:
        forum = ctx.config.forum
        extra = f" and {len(forum.materials)} material(s)" if forum.materials else ""
        return f"{forum.source.url or forum.source.file or forum.source.info_json}{extra}"


def _source_inputs(config: ForumConfig) -> tuple[str, list[Any]]:
    """The source's URL, and for a local file (or saved info) its size and mtime."""
    source = config.forum.source
    if source.url:
        return source.url, []
    path = config.resolve(source.file or source.info_json or Path())
    if not path.is_file():
        return file_url(path), ["missing"]  # fetch reports it with the hint staff need
    stat = path.stat()
    return file_url(path), [stat.st_size, stat.st_mtime_ns]


def material_links(config: ForumConfig) -> list[MaterialLink]:
    return [MaterialLink(url=m.url, kind=m.kind, title=m.title, field=f"materials[{n}].url")
            for n, m in enumerate(config.forum.materials) if m.url is not None]
