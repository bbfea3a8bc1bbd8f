"""The transcript formats, each in one entry: adding a format is adding an entry here.

An entry says how the format's file is named, written, served and offered:

- `name`: its role in the archive (forum.json's `keys` per session) and in the
  session page's `files`;
- `suffix`: what follows the session's slug in the file name, with `{language}`
  standing for the transcript's language code (`01-keynote.ko.vtt`);
- `field`: the `TranscriptFiles` field that holds its path in the work folder (the
  work manifest stores those fields by name, so they keep their names);
- `write`: the text of the file, from the session's segments;
- `content_type`: what storage and the web app send it as;
- `kind`: what it is, in error messages ("cannot read subtitles ...");
- `label` and `rank`: its link on the session page's download list, and that link's
  place there;
- `source`: the JSON, which holds the segments as transcribed: every other format is
  written from them, so a finished transcript's other files can be written again from
  its JSON (`rewrite_from_source`) when a writer or the cue rules change, without
  running Whisper again.

The order of `FORMATS` is the order the files are written and published in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.faults import checkpoint
from pipeline.results import Segment, SessionPlan, TranscriptFiles
from pipeline.transcripts.cues import CUE_RULES
from pipeline.transcripts.formats import to_json, to_srt, to_text, to_vtt

# (session, language, model, segments) -> the file's text
Writer = Callable[[SessionPlan, str, str, tuple[Segment, ...]], str]

WRITERS = 2  # bump when a writer changes what a file says (2: no `Language:` line in VTT)
# What the files written from the JSON's segments say depends on: the transcribe stage
# has it among its inputs, so a change runs the stage, which rewrites them from the JSON.
WRITTEN_FROM_SOURCE = (WRITERS, CUE_RULES)


@dataclass(frozen=True)
class TranscriptFormat:
    name: str
    suffix: str
    field: str
    write: Writer
    content_type: str
    kind: str
    label: str
    rank: int
    source: bool = False

    def file_name(self, stem: str, language: str) -> str:
        return stem + self.suffix.format(language=language)

    def path(self, files: TranscriptFiles) -> Path:
        """This format's file among `files`."""
        path = getattr(files, self.field)
        assert isinstance(path, Path), f"TranscriptFiles.{self.field} is no path"
        return path


FORMATS: tuple[TranscriptFormat, ...] = (
    TranscriptFormat(
        name="vtt", suffix=".{language}.vtt", field="vtt",
        write=lambda session, language, model, segments: to_vtt(segments, session.duration),
        content_type="text/vtt; charset=utf-8", kind="subtitles",
        label="자막 (WebVTT)", rank=1),
    TranscriptFormat(
        name="srt", suffix=".{language}.srt", field="srt",
        write=lambda session, language, model, segments: to_srt(segments, session.duration),
        content_type="application/x-subrip; charset=utf-8", kind="subtitles",
        label="자막 (SRT)", rank=2),
    TranscriptFormat(
        name="json", suffix=".json", field="json_path", write=to_json,
        content_type="application/json", kind="transcript",
        label="녹취록 (JSON, 시간 정보 포함)", rank=4, source=True),
    TranscriptFormat(
        name="txt", suffix=".txt", field="txt",
        write=lambda session, language, model, segments: to_text(segments, session.duration),
        content_type="text/plain; charset=utf-8", kind="transcript",
        label="녹취록 (텍스트)", rank=3),
)


def format_paths(folder: Path, stem: str, language: str) -> dict[str, Path]:
    """Every format's path in `folder`, by its `TranscriptFiles` field."""
    return {fmt.field: folder / fmt.file_name(stem, language) for fmt in FORMATS}


def downloads() -> dict[str, str]:
    """Every format's download label by its name, in the download list's order."""
    return {fmt.name: fmt.label for fmt in sorted(FORMATS, key=lambda fmt: fmt.rank)}


def content_type_of(name: str) -> str | None:
    """The content type of a transcript file called `name`, by its last extension;
    None for a name no format ends in."""
    for fmt in FORMATS:
        if name.lower().endswith(fmt.suffix[fmt.suffix.rindex("."):]):
            return fmt.content_type
    return None


def rewrite_from_source(files: TranscriptFiles, session: SessionPlan, language: str,
                        model: str, segments: tuple[Segment, ...], *,
                        source: bool = False) -> tuple[Path, ...]:
    """Write again each file of a finished transcript that its JSON's `segments` are
    written into (every format but the JSON) whose text is not what the writers give
    now, each whole or not at all; the paths written. A file that is missing is written.
    With `source`, the JSON too: `segments` then come from elsewhere (a reviewed
    transcript, `pipeline.review`), and every format is written from them."""
    written: list[Path] = []
    for fmt in FORMATS:
        if fmt.source and not source:
            continue
        path, text = fmt.path(files), fmt.write(session, language, model, segments)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        partial_path = path.with_name(path.name + ".part")
        partial_path.write_text(text, encoding="utf-8")
        checkpoint("transcribe.write")
        partial_path.replace(path)
        written.append(path)
    return tuple(written)
