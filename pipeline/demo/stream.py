"""A stream-like forum recording, for tests and benchmarks: what a YouTube livestream of a
SORT forum looks and sounds like, built at run time from the real Korean speech corpus
(its licence forbids committing copies).

In order: a waiting screen with music; per talk an MC line (espeak-ng, another voice than
the speakers'), a 4 s title card, the talk's real speech on a slide, for most talks the
speaker's own closing "감사합니다" after a short pause, then applause (or, once, about 2 s
of room tone); a break with music in the middle, announced by the MC; the MC's closing
line and an end card with music. Room tone at about -54 dBFS lies under everything.

The sound is assembled in numpy at 44.1 kHz, so every placed sound is exact to the sample;
the ground truth (`StreamTruth`, written as stream.json next to stream.mp4) gives each
part's times, with each talk's first and last word measured on the fragments' audio. The
picture is H.264 High with B-frames and an open GOP, the sound AAC 44.1 kHz stereo: the
shape of a real livestream. A build is reused when its parameters have not changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipeline.demo.corpus import GAP_SECONDS, talk_fragments
from pipeline.demo.forum import SPEECH_ENV, find_korean_font, find_speech_dir
from pipeline.demo.stream_layout import CLOSING_WORDS, SHORT_STREAM, StreamLayout, StreamSlot
from pipeline.demo.stream_sound import (
    RATE,
    Audio,
    applause,
    decode,
    espeak,
    flac_seconds,
    music,
    room_tone,
    speech_gain,
    speech_span,
    write_wav,
)
from pipeline.demo.stream_track import (
    Track,
    break_card,
    end_card,
    host_card,
    mc_line,
    slide,
    title_card,
    waiting_card,
)
from pipeline.demo.stream_truth import (
    StreamTalkTruth,
    StreamTruth,
    read_truth,
    render_stream_config,
)
from pipeline.demo.stream_video import FPS, Idr, encode_stream
from pipeline.errors import FetchError, PipelineError
from pipeline.progress import LogProgress, Progress

BUILD_FORMAT = 3  # bump when the building changes, so that old builds are redone
VIDEO_NAME, TRUTH_NAME, CONFIG_NAME, STAMP_NAME = (
    "stream.mp4", "stream.json", "forum.yaml", "build.json")
BREAK_MC = "잠시 휴식 시간을 갖겠습니다."
CLOSING_MC = "이상으로 오늘 포럼을 모두 마치겠습니다. 감사합니다"
_EDGE = round(0.1 * RATE)  # kept around the last word before a closing line, and its first


@dataclass(frozen=True)
class StreamForum:
    video_path: Path  # stream.mp4
    truth_path: Path  # stream.json: the ground truth
    config_path: Path  # forum.yaml: titles and speakers, no times
    truth: StreamTruth
    built: bool  # False when a matching earlier build was reused


@dataclass(frozen=True)
class TalkSound:
    """A talk's sound, from its first fragment to its closing line, and where its words
    lie in it (samples from its start)."""

    audio: Audio
    speech_start: int
    speech_end: int
    closing_start: int | None
    closing_skipped: bool
    text: str
    fragments: tuple[str, ...]


def _choose(slot: StreamSlot, talk: Path) -> tuple[list[int], int | None, bool]:
    """(the fragments that fill the slot, the closing fragment or None, closing skipped):
    the first whole fragments that fit in `slot.speech_seconds`, never reaching the
    closing line, which is the last fragment saying "감사합니다"."""
    fragments = talk_fragments(talk)
    thanks = [i for i, f in enumerate(fragments) if CLOSING_WORDS in f.text]
    closing = thanks[-1] if slot.closing and thanks else None
    chosen: list[int] = []
    length = 0.0
    for index, fragment in enumerate(fragments[:closing]):
        length += flac_seconds(fragment.path) + (GAP_SECONDS if chosen else 0.0)
        if length > slot.speech_seconds:
            break
        chosen.append(index)
    return chosen, closing, slot.closing and not thanks


def talk_sound(slot: StreamSlot, speech_dir: Path, seed: int) -> TalkSound:
    """The slot's fragments joined by GAP_SECONDS, at one level (the talk's microphone),
    then its closing line, if any, after a pause of 0.6-1.5 s between the last word and
    the first word of the closing line."""
    fragments = talk_fragments(speech_dir / slot.talk.talk_dir)
    chosen, closing, skipped = _choose(slot, speech_dir / slot.talk.talk_dir)
    played = chosen + ([closing] if closing is not None else [])
    with ThreadPoolExecutor(max_workers=4) as pool:
        pieces = list(pool.map(decode, [fragments[i].path for i in played]))
    gain = speech_gain(pieces)
    pieces = [(piece * gain).astype(np.float32) for piece in pieces]
    gap = np.zeros(round(GAP_SECONDS * RATE), dtype=np.float32)
    body = [part for piece in pieces[: len(chosen)] for part in (gap, piece)][1:]
    audio = np.concatenate(body)
    start = speech_span(pieces[0])[0]
    end = len(audio) - len(pieces[len(chosen) - 1]) + speech_span(pieces[len(chosen) - 1])[1]
    closing_at = None
    if closing is not None:
        first, last = speech_span(pieces[-1])
        pause = round(np.random.default_rng(seed).uniform(0.6, 1.5) * RATE)
        audio = audio[: end + _EDGE]
        lead = min(_EDGE, first)
        rest = np.zeros(pause - (len(audio) - end) - lead, dtype=np.float32)
        audio = np.concatenate([audio, rest, pieces[-1][first - lead:]])
        closing_at = end + pause
        end = closing_at + (last - first)
    return TalkSound(audio, start, end, closing_at, skipped,
                     " ".join(fragments[i].text for i in played),
                     tuple(fragments[i].path.stem for i in played))


def _mc(track: Track, card_text: str, text: str, work: Path) -> tuple[float, float]:
    """The host card while the MC speaks `text`: (first sound, last sound)."""
    track.scene(host_card(card_text))
    track.rest(0.5)
    voice = espeak(text, work, f"mc-{track.at}")
    first, last = speech_span(voice)
    at = track.add(voice)
    track.rest(0.5)
    return track.seconds(at + first), track.seconds(at + last)


def _talk(track: Track, number: int, slot: StreamSlot, card_seconds: float,
          speech_dir: Path, work: Path, after_break: bool) -> StreamTalkTruth:
    talk = slot.talk
    said = mc_line(number, talk.speaker, talk.title, after_break)
    mc_start, mc_end = _mc(track, f"다음 순서: {talk.title}", said, work)
    card_start = track.scene(title_card(number, talk))
    track.rest(card_seconds)
    card_end = track.scene(slide(number, talk))
    track.rest(0.6)
    sound = talk_sound(slot, speech_dir, seed=number)
    at = track.add(sound.audio)
    speech_end = at + sound.speech_end
    track.rest(0.3)
    clap_start = clap_end = None
    if slot.applause:
        seconds = float(np.random.default_rng(100 + number).uniform(3.0, 5.0))
        clap_start = track.add(applause(seconds, seed=number))
        clap_end = track.at
        track.rest(0.4)
    else:
        track.rest(2.0)
    return StreamTalkTruth(
        talk.id, talk.title, talk.speaker, talk.talk_dir, said, mc_start, mc_end,
        track.seconds(card_start), track.seconds(card_end),
        track.seconds(at + sound.speech_start), track.seconds(speech_end),
        None if sound.closing_start is None else track.seconds(at + sound.closing_start),
        sound.closing_skipped, None if clap_start is None else track.seconds(clap_start),
        None if clap_end is None else track.seconds(clap_end), sound.text, sound.fragments)


def _assemble(layout: StreamLayout, idr: Idr, speech_dir: Path, work: Path,
              progress: Progress) -> tuple[Track, StreamTruth]:
    track = Track()
    track.scene(waiting_card())
    track.add(music(layout.waiting_seconds, seed=1))
    waiting_end = track.at
    talks: list[StreamTalkTruth] = []
    with progress.task("stream: sound", total=len(layout.slots)) as task:
        for number, slot in enumerate(layout.slots, start=1):
            if number == layout.break_after + 1:
                break_mc = _mc(track, "휴식 안내", BREAK_MC, work)
                break_start = track.scene(break_card())
                track.add(music(layout.break_seconds, seed=2))
                break_end = track.at
            talks.append(_talk(track, number, slot, layout.card_seconds, speech_dir, work,
                               after_break=number == layout.break_after + 1))
            task.advance()
    closing_mc = _mc(track, "폐회", CLOSING_MC, work)
    end_start = track.scene(end_card())
    track.add(music(layout.end_seconds, seed=3))
    track.finish()
    s = track.seconds
    truth = StreamTruth(
        layout.name, idr, layout.width, layout.height, FPS, RATE, s(track.at), s(waiting_end),
        tuple(talks), layout.break_after, BREAK_MC, *break_mc, s(break_start), s(break_end),
        CLOSING_MC, *closing_mc, s(end_start))
    return track, truth


def _speech_dir(configured: Path | None, layout: StreamLayout) -> Path:
    """The corpus (`configured`: the settings' speech_dir, which $SORT_ARCHIVE_SPEECH_DIR
    sets; only the CLI and its callers read the environment)."""
    path = find_speech_dir(configured)
    for slot in layout.slots:
        if not any((path / slot.talk.talk_dir).glob("*.trans.txt")):
            raise FetchError(f"the speech corpus at {path} lacks the talk {slot.talk.talk_dir}",
                             f"set {SPEECH_ENV} to a complete Pansori TEDxKR corpus")
    return path


def _stamp(layout: StreamLayout, idr: Idr, speech_dir: Path) -> str:
    """What a build depends on: the layout, the corpus files it may use, BUILD_FORMAT."""
    corpus = sorted((str(p.relative_to(speech_dir)), p.stat().st_size)
                    for slot in layout.slots for p in (speech_dir / slot.talk.talk_dir).iterdir()
                    if p.is_file())
    text = json.dumps({"format": BUILD_FORMAT, "layout": asdict(layout), "idr": idr,
                       "corpus": corpus}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _font(work: Path) -> bool:
    """NanumGothic copied to work/font.ttf (a plain relative name needs no escaping);
    False when there is none: the cards are then plain colours."""
    try:
        shutil.copyfile(find_korean_font(), work / "font.ttf")
    except PipelineError:
        return False
    return True


def build_stream_forum(out_dir: Path, layout: StreamLayout = SHORT_STREAM, *,
                       idr: Idr = "every-10s", speech_dir: Path | None = None,
                       progress: Progress | None = None) -> StreamForum:
    """Build stream.mp4, stream.json (the ground truth) and forum.yaml into `out_dir`, or
    reuse what is there when its build.json says it was built with the same parameters."""
    progress = progress or LogProgress()
    speech_dir = _speech_dir(speech_dir, layout)
    out_dir = out_dir.resolve()
    video, truth_path, config = (out_dir / n for n in (VIDEO_NAME, TRUTH_NAME, CONFIG_NAME))
    stamp_path, stamp = out_dir / STAMP_NAME, _stamp(layout, idr, speech_dir)
    try:
        reuse = (json.loads(stamp_path.read_text(encoding="utf-8")).get("hash") == stamp
                 and video.is_file() and config.is_file())
        if reuse:
            progress.note(f"stream recording in {out_dir} is up to date")
            return StreamForum(video, truth_path, config, read_truth(truth_path), False)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)  # a half-finished rebuild must never look finished
    with tempfile.TemporaryDirectory(prefix="stream-", dir=out_dir) as tmp:
        work = Path(tmp)
        font = _font(work)
        track, truth = _assemble(layout, idr, speech_dir, work, progress)
        sound = track.sound()
        sound += room_tone(len(sound), seed=7)
        write_wav(work / "sound.wav", sound)
        with progress.task(f"stream: encoding {VIDEO_NAME}"):
            encode_stream(track.scenes(), work / "sound.wav", work, work / VIDEO_NAME,
                          size=(layout.width, layout.height), font=font, idr=idr)
        os.replace(work / VIDEO_NAME, video)  # never a half-written recording
    truth_path.write_text(truth.to_json(), encoding="utf-8")
    config.write_text(render_stream_config(layout, source_file=VIDEO_NAME), encoding="utf-8")
    stamp_path.write_text(json.dumps({"hash": stamp, "layout": layout.name, "idr": idr}) + "\n",
                          encoding="utf-8")
    return StreamForum(video, truth_path, config, truth, True)
