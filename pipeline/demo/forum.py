"""The demo forum: a short "recording" of a SORT forum built from real Korean speech.

No real forum recording may ship with the project, and the speech corpus (Pansori
TEDxKR, CC BY-NC-ND 4.0) may not be copied into the repository. So the demo is
assembled at run time from the corpus where it lies: per session a title card, a
slide while a real talk plays, then a quiet gap. Every boundary is exact to the
sample, which lets tests check the cutter and the transcriber against the
reference text in `references.json`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.config.forum import format_time
from pipeline.demo.layout import (
    DEMO_SESSIONS,
    FULL_LAYOUT,
    DemoLayout,
    DemoSession,
)
from pipeline.demo.proceedings import write_proceedings
from pipeline.demo.render import (
    PDF_TITLE,
    SAMPLE_RATE,
    Fragment,
    encode_recording,
    render_soundtrack,
)
from pipeline.errors import FetchError, PipelineError
from pipeline.progress import Progress

SPEECH_ENV = "SORT_ARCHIVE_SPEECH_DIR"
CORPUS_REPO = "yc9701/pansori-tedxkr-corpus"
CORPUS_COMMIT = "b24c3933cb44192e8f1e0ca76ccfe01526e5d09c"
CORPUS_CREDIT = "Pansori TEDxKR Corpus (Yoona Choi and Bowon Lee, 2018), CC BY-NC-ND 4.0"
FORUM_TITLE = "데모 포럼: 공공부문의 사회적 가치 포럼(SORT)"
ORGANISER = "한국사회적기업진흥원"
FORUM_DATE = dt.date(2021, 7, 2)
GLOSSARY = ("한국사회적기업진흥원", "사회적가치", "사회적경제", "사회적기업")
MATERIAL = "materials/자료집.pdf"
BUILD_FORMAT = 1  # bump when the rendering changes, so that old builds are redone
_FONT_PATHS = ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
               "/usr/share/fonts/nanum/NanumGothic.ttf", "/Library/Fonts/NanumGothic.ttf")


@dataclass(frozen=True)
class DemoForum:
    config_path: Path
    master_path: Path
    references: dict[str, list[str]]  # session id -> reference texts, in playing order
    layout: DemoLayout
    material_path: Path
    references_path: Path
    built: bool  # False when a matching earlier build was reused


def _speech_error(problem: str) -> FetchError:
    return FetchError(problem, f"get the Pansori TEDxKR corpus ({CORPUS_REPO} at commit "
                      f"{CORPUS_COMMIT}, licence CC BY-NC-ND 4.0), check it against "
                      f"SHA256SUMS, and set {SPEECH_ENV} to its folder (the one holding data/)")


def _check_speech(path: Path, sessions: tuple[DemoSession, ...] = DEMO_SESSIONS) -> Path:
    if not path.is_dir():
        raise _speech_error(f"the Korean speech corpus is not at {path}")
    for session in sessions:
        if not any((path / session.talk_dir).glob("*.trans.txt")):
            raise _speech_error(f"the speech corpus at {path} lacks the talk {session.talk_dir}")
    return path.resolve()


def find_speech_dir(configured: Path | None = None) -> Path:
    """The corpus folder: `configured` (the CLI passes `$SORT_ARCHIVE_SPEECH_DIR`),
    else `../shared/korean-speech` next to the repository."""
    if configured is not None:
        # An explicit setting that is wrong must not silently fall back elsewhere.
        try:
            return _check_speech(configured.expanduser())
        except FetchError as exc:
            raise _speech_error(f"{SPEECH_ENV}={configured}: {exc.message}") from None
    path = Path(__file__).resolve().parents[2] / "shared" / "korean-speech"
    if not path.is_dir() and (Path.cwd().parent / "shared" / "korean-speech").is_dir():
        path = Path.cwd().parent / "shared" / "korean-speech"
    return _check_speech(path)


def find_korean_font() -> Path:
    """A TrueType font with Hangul, for the video cards and the PDF."""
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", "NanumGothic:lang=ko"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    # fc-match always answers with *some* font; only a Nanum TTF is sure to have Hangul
    # and to load in fpdf2.
    matched = [found] if "nanum" in found.lower() and found.endswith(".ttf") else []
    for path in map(Path, [*matched, *_FONT_PATHS]):
        if path.is_file():
            return path
    raise PipelineError("no Korean font (NanumGothic) found", "apt-get install fonts-nanum")


def _flac_samples(path: Path) -> int:
    """Length in samples at SAMPLE_RATE, from the FLAC STREAMINFO block.

    42 header bytes give the exact length, far cheaper than one ffprobe per fragment.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(42)
    except OSError as exc:
        raise _speech_error(f"cannot read {path} ({exc.strerror})") from None
    if head[:4] != b"fLaC" or len(head) < 42:
        raise _speech_error(f"{path} is not a FLAC file")
    bits = int.from_bytes(head[18:26], "big")  # rate:20 channels:3 depth:5 samples:36
    return (bits & ((1 << 36) - 1)) * SAMPLE_RATE // (bits >> 44)


def _fragments(talk: Path, seconds: float) -> list[Fragment]:
    """Whole fragments in numeric order while they fit in `seconds`."""
    trans = sorted(talk.glob("*.trans.txt"))[0]
    lines = [line.split(" ", 1) for line in trans.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    # The fragment number ends the id; sort on it rather than trust the file's order.
    lines.sort(key=lambda parts: int(parts[0].rsplit("-", 1)[1]))
    budget, chosen = round(seconds * SAMPLE_RATE), []
    for frag_id, *text in lines:
        samples = _flac_samples(talk / f"{frag_id}.flac")
        if samples > budget:
            break
        budget -= samples
        chosen.append(Fragment(frag_id, " ".join(text).strip(), talk / f"{frag_id}.flac",
                                samples))
    return chosen


def _pdf(layout: DemoLayout, font: Path, out: Path) -> None:
    programme = [f"{n}. {format_time(layout.bounds(n - 1)[0])}  {s.title} — {s.speaker} "
                 f"({s.organisation})" for n, s in enumerate(layout.sessions, start=1)]
    credit = [
        f"{CORPUS_CREDIT}. https://github.com/{CORPUS_REPO} (commit {CORPUS_COMMIT}). "
        "Licence: https://creativecommons.org/licenses/by-nc-nd/4.0/",
        *(f"• {s.speaker}: {s.talk_title} — {s.talk_dir}" for s in layout.sessions),
        "발표 음성은 원문 그대로 순서대로 이어 붙였을 뿐 수정하지 않았습니다 "
        "(the fragments are played unaltered, in order).",
    ]
    write_proceedings(
        out, font=font, title=PDF_TITLE, organiser=ORGANISER,
        facts=["일시: 2021년 7월 2일 (금)", f"주최: {ORGANISER}"], programme=programme,
        note="이 자료집과 영상은 sort-archive 시연용으로 만든 것이며 실제 포럼 기록이 아닙니다.",
        credit_title="음성 자료 출처 (Speech corpus credit)", credit=credit,
        created=dt.datetime(2021, 7, 2, tzinfo=dt.UTC),
    )


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def render_demo_config(layout: DemoLayout, *, source_file: str, material_path: str,
                       storage_local: str) -> str:
    """The demo forum's YAML config; also the worked example that staff copy from."""
    lines = [
        "# Generated by scripts/make_demo_forum.py from pipeline/demo.py: do not edit by hand.",
        "# The demo recording is built from real Korean speech (Pansori TEDxKR Corpus,",
        "# CC BY-NC-ND 4.0) by `make demo`; see README.md.",
        "id: demo-sort", f"title: {_q(FORUM_TITLE)}", f"date: {FORUM_DATE.isoformat()}",
        f"organiser: {_q(ORGANISER)}", "language: ko", "source:", f"  file: {_q(source_file)}",
        "glossary:", *(f"  - {_q(term)}" for term in GLOSSARY), "sessions:",
    ]
    for index, session in enumerate(layout.sessions):
        start, end = layout.bounds(index)
        lines += [f"  - id: {session.id}", f"    title: {_q(session.title)}", "    speakers:",
                  f"      - name: {_q(session.speaker)}",
                  f"        organisation: {_q(session.organisation)}",
                  f"    start: {_q(format_time(start))}", f"    end: {_q(format_time(end))}"]
    lines += ["materials:", f"  - path: {_q(material_path)}", "    kind: proceedings",
              f"    title: {_q('자료집')}", "storage:", f"  local: {_q(storage_local)}"]
    return "\n".join(lines) + "\n"


def shipped_config_text() -> str:
    """What `config/forums/demo.yaml` holds: paths relative to that folder, but the
    material's, which is found in the materials root `build/demo` (a material never
    leaves its roots, see `pipeline.archive.materials`: SORT_ARCHIVE_MATERIALS_DIR)."""
    return render_demo_config(FULL_LAYOUT, source_file="../../build/demo/master.mp4",
                              material_path=MATERIAL,
                              storage_local="../../archive")


def _stamp(layout: DemoLayout, speech_dir: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    for session in layout.sessions:
        for trans in sorted((speech_dir / session.talk_dir).glob("*.trans.txt")):
            digest.update(trans.read_bytes())
    stamp = {"format": BUILD_FORMAT, "layout": asdict(layout), "speech": digest.hexdigest()}
    return dict(json.loads(json.dumps(stamp)))  # as it reads back: tuples become lists


def _references(layout: DemoLayout, talks: list[list[Fragment]]) -> dict[str, Any]:
    """Per session: its bounds and each fragment's text and place in the master."""
    sessions: dict[str, Any] = {}
    for index, (session, fragments) in enumerate(zip(layout.sessions, talks, strict=True)):
        start, end = layout.bounds(index)
        at, items = start + layout.card_seconds, []
        for fragment in fragments:
            length = fragment.samples / SAMPLE_RATE
            items.append({"id": fragment.id, "text": fragment.text,
                          "start": round(at, 4), "end": round(at + length, 4)})
            at += length
        sessions[session.id] = {"title": session.title, "start": start, "end": end,
                                "speech_start": start + layout.card_seconds,
                                "fragments": items, "text": " ".join(f.text for f in fragments)}
    return sessions


def build_demo_forum(out_dir: Path, layout: DemoLayout = FULL_LAYOUT, *,
                     speech_dir: Path | None = None, progress: Progress) -> DemoForum:
    """Build master.mp4, the PDF, references.json and demo.yaml into `out_dir`.

    A matching `build.json` stamp (same layout, same corpus text) makes this a no-op.
    """
    speech_dir = (find_speech_dir() if speech_dir is None
                  else _check_speech(speech_dir, layout.sessions))
    out_dir = out_dir.resolve()
    paths = {name: out_dir / name
             for name in ("master.mp4", MATERIAL, "references.json", "demo.yaml")}
    stamp_path, stamp = out_dir / "build.json", _stamp(layout, speech_dir)

    def result(references: dict[str, Any], built: bool) -> DemoForum:
        texts = {sid: [f["text"] for f in entry["fragments"]] for sid, entry in references.items()}
        return DemoForum(paths["demo.yaml"], paths["master.mp4"], texts, layout,
                         paths[MATERIAL], paths["references.json"], built)

    try:
        done = (json.loads(stamp_path.read_text(encoding="utf-8")) == stamp
                and all(path.is_file() for path in paths.values()))
    except (OSError, ValueError):
        done = False
    if done:
        progress.note(f"demo forum in {out_dir} is up to date")
        return result(json.loads(paths["references.json"].read_text(encoding="utf-8")), False)

    font = find_korean_font()
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)  # a half-finished rebuild must never look finished
    talks = [_fragments(speech_dir / s.talk_dir, layout.speech_seconds) for s in layout.sessions]
    with tempfile.TemporaryDirectory(prefix="demo-", dir=out_dir) as tmp:
        work = Path(tmp)
        shutil.copyfile(font, work / "font.ttf")  # a plain relative name needs no escaping
        track = render_soundtrack(layout, talks, work, progress)
        with progress.task("demo: encoding master.mp4"):
            encode_recording(layout, track, work, work / "master.mp4")
        os.replace(work / "master.mp4", paths["master.mp4"])  # never a half-written master
    with progress.task("demo: materials and config"):
        _pdf(layout, font, paths[MATERIAL])
        references = _references(layout, talks)
        paths["references.json"].write_text(
            json.dumps(references, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths["demo.yaml"].write_text(
            render_demo_config(layout, source_file="master.mp4", material_path=MATERIAL,
                               storage_local="./archive"), encoding="utf-8")
        stamp_path.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return result(references, True)
