"""Boundary signals in a forum recording, as `Candidate`s for `pipeline.boundaries.fit.choose`.

Thresholds, measured on the test forum (tests/test_boundaries.py: real Korean talks,
synthetic applause, title cards) and chosen with margin:

- silence: ffmpeg `silencedetect=noise=-35dB:d=1.5` on the 16 kHz wav; strength
  0.25 + 0.5 * min(1, (length - 1.5) / 6): a pause inside a talk 0.25, a break of 7.5 s 0.75.
- applause: 25 ms Hann frames, spectral flatness (geometric / arithmetic mean of the power)
  over 300-6000 Hz, averaged per 0.5 s window, with the window's level. Applause is flatness
  >= 0.22 and level >= the speech level - 12 dB (speech level: the median of the windows more
  than 10 dB above the 10th-percentile floor) for >= 2 s, one window's dropout allowed.
  Measured: applause windows 0.29-0.46, loud speech windows 90 % below 0.19 and never two
  in a row above 0.25; room tone is flat but quiet. Strength 0.5 + 0.4 * min(1, (len - 2) / 6).
- black: `blackdetect=d=0.5:pix_th=0.10`, strength 0.6. scene: the `select` filter's scene
  score over 0.3, strength 0.2 + 0.3 * score. The picture is scaled to 160 px wide.
  `video_scan="full"` decodes every frame at 4 fps (about 2 s of CPU per minute of 720p);
  "keyframes" decodes key frames only (`-skip_frame nokey`: about 0.15 s per minute), then
  refines each change within `NEAR` (10 s) of applause or a silence of 3 s or more (not
  every pause in a talk) by decoding, frame by frame, the stretch since the previous key
  frame (one short ffmpeg run each, about 0.2 s); other changes keep key-frame times.
  "auto" (the default) is "full" up to `FULL_UP_TO` (10 minutes: at most about 20 s of
  decoding, and every change seen) and "keyframes" above.
- cue: the `CUE_WINDOWS` strongest breaks (at least 4, else two per agenda item) are heard by
  Whisper (greedy, VAD, the transcribe stage's guards against invented text): 6 s before a
  break to 8 s after it (a break over 20 s: its first 10 and last 10 s instead). Segments
  less than 0.8 s apart form one utterance, matched by `find_cue`: an MC's line ("다음은 …
  있겠습니다", "… 모시겠습니다", "박수 부탁드립니다") is a span of strength 0.7 (0.6 for
  applause). A talk's "이상으로 … 마치겠습니다" (0.5) and a short "(…) 감사합니다" segment
  (0.3; at most 12 more letters, as Whisper also ends long sentences with it) are points at
  the segment's end. A session's title (difflib similarity >= 0.75, normalised) or a
  speaker's name (exactly, 2+ letters) said aloud names that session (`Candidate.session`);
  said without an MC phrase it is a point of strength 0.4.
"""

from __future__ import annotations

import re
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.asr.decoding import DecodeOptions
from pipeline.asr.engine import Engine
from pipeline.boundaries.candidates import AgendaItem, Candidate, breaks, normalise, similarity
from pipeline.errors import MediaError

# How the MC's cues are decoded: greedily, enough to spot the phrases. The engine that
# `cues` is given decodes with its own settings' options: build it with these.
CUE_DECODE = DecodeOptions(beam_size=1)
RATE, FRAME, WINDOW = 16_000, 400, 20  # 25 ms frames, 20 frames = 0.5 s windows
FLAT_MIN, LEVEL_BELOW_SPEECH, APPLAUSE_MIN = 0.22, 12.0, 2.0
SCENE_MIN, NEAR, FULL_FPS, FULL_UP_TO, CUE_WINDOWS = 0.3, 10.0, 4, 600.0, 4
_VISUAL = "blackdetect=d={d}:pix_th=0.10,select='gte(scene,0)',metadata=print"
_PHRASES = (  # kind, pattern on normalised text, strength, spoken by the MC (a span)
    ("next", r"다음.*(있겠습니다|진행하겠습니다|이어가겠습니다|듣겠습니다|시작하겠습니다)|"
     r"다음(은|으로|순서|차례).*(순서|차례)입니다", 0.7, True),
    ("invite", r"(모시겠습니다|모시도록하겠습니다|모셔보겠습니다|나와주시기바랍니다)", 0.7, True),
    ("applause", r"박수.*(부탁|주시기|보내|주십시오)", 0.6, True),
    ("close", r"(이상으로|이것으로).*마치|마치겠습니다|마치도록하겠습니다", 0.5, False),
    ("thanks", r"^.{0,12}(감사합니다|고맙습니다)$", 0.3, False),
)


@dataclass(frozen=True)
class Cue:
    kind: str  # next, invite, applause, close, thanks, or "named" (a title or name only)
    strength: float
    span: bool  # the MC's line: the whole utterance lies between sessions
    session: str | None  # the agenda id it names


def find_cue(text: str, agenda: Sequence[AgendaItem] = ()) -> Cue | None:
    """The MC's cue (or a talk's closing words) in `text`, and which session it names."""
    flat = normalise(text)
    named, best = None, 0.0
    for item in agenda:
        score = similarity(item.title, text) if len(normalise(item.title)) >= 4 else (
            1.0 if normalise(item.title) and normalise(item.title) in flat else 0.0)
        if any(len(normalise(s)) >= 2 and normalise(s) in flat for s in item.speakers):
            score = max(score, 0.9)
        if score >= 0.75 and score > best:
            named, best = item.id, score
    for kind, pattern, strength, span in _PHRASES:
        if re.search(pattern, flat):
            return Cue(kind, min(1.0, strength + (0.1 if named else 0.0)), span, named)
    return Cue("named", 0.4, False, named) if named else None


def _ffmpeg(args: list[str], what: str) -> str:
    try:
        done = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-nostats", *args,
                               "-f", "null", "-"], capture_output=True, check=False)
    except FileNotFoundError:
        raise MediaError(f"{what}: ffmpeg is not found", hint="apt-get install ffmpeg") from None
    text = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        raise MediaError(f"{what} failed", "\n".join(text.splitlines()[-5:]))
    return text


def silences(audio_wav: Path, duration: float) -> list[Candidate]:
    text = _ffmpeg(["-i", str(audio_wav), "-af", "silencedetect=noise=-35dB:d=1.5"],
                   "finding silences")
    starts = [float(v) for v in re.findall(r"silence_start: (-?[\d.]+)", text)]
    ends = [float(v) for v in re.findall(r"silence_end: (-?[\d.]+)", text)] + [duration]
    return [Candidate(max(0.0, a), "silence",
                      0.25 + 0.5 * min(1.0, max(0.0, b - a - 1.5) / 6), min(b, duration))
            for a, b in zip(starts, ends, strict=False) if b > a]


def _window_features(audio_wav: Path) -> tuple[Any, Any]:
    """Per 0.5 s window: mean spectral flatness over 300-6000 Hz and level in dBFS."""
    import numpy as np

    freqs = np.fft.rfftfreq(FRAME, 1 / RATE)
    band, hann = (freqs >= 300) & (freqs <= 6000), np.hanning(FRAME)
    flat: list[Any] = []
    level: list[Any] = []
    with wave.open(str(audio_wav), "rb") as wav:
        if wav.getframerate() != RATE or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise MediaError(f"{audio_wav} is not 16 kHz mono 16-bit PCM")
        while chunk := wav.readframes(RATE * 60):  # a minute at a time: 3 hours stay small
            x = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768.0
            windows = len(x) // (FRAME * WINDOW)
            frames = x[:windows * FRAME * WINDOW].reshape(-1, FRAME)
            power = np.abs(np.fft.rfft(frames * hann, axis=1))[:, band] ** 2 + 1e-12
            ratio = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
            flat.append(ratio.reshape(windows, WINDOW).mean(axis=1))
            energy = np.mean(frames.reshape(windows, -1) ** 2, axis=1)
            level.append(10 * np.log10(energy + 1e-12))
    return np.concatenate(flat or [np.zeros(0)]), np.concatenate(level or [np.zeros(0)])


def applause(audio_wav: Path) -> list[Candidate]:
    import numpy as np

    flat, level = _window_features(audio_wav)
    if len(level) == 0:
        return []
    floor = float(np.percentile(level, 10))
    voiced = level[level > floor + 10]
    speech = float(np.median(voiced)) if len(voiced) else floor + 10
    hit = (flat >= FLAT_MIN) & (level >= speech - LEVEL_BELOW_SPEECH)
    found, step, i = [], WINDOW * FRAME / RATE, 0
    while i < len(hit):
        if not hit[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(hit) and (hit[j + 1] or (j + 2 < len(hit) and hit[j + 2])):
            j += 1
        length = (j + 1 - i) * step
        if length >= APPLAUSE_MIN:
            found.append(Candidate(i * step, "applause",
                                   0.5 + 0.4 * min(1.0, (length - 2) / 6), (j + 1) * step))
        i = j + 1
    return found


def _visual_pass(args: list[str], fps: str, d: float, offset: float = 0.0
                 ) -> tuple[list[float], list[tuple[float, float]], list[tuple[float, float]]]:
    """(frame times, (time, scene score) over SCENE_MIN, black (start, end)) of one decode."""
    text = _ffmpeg([*args, "-an", "-vf", f"{fps}scale=160:-2,{_VISUAL.format(d=d)}"],
                   "scanning the picture")
    times = [offset + float(t) for t in re.findall(r"pts_time:(-?[\d.]+)", text)]
    scores = [float(s) for s in re.findall(r"lavfi\.scene_score=([\d.]+)", text)]
    scenes = [(t, s) for t, s in zip(times, scores, strict=False) if s > SCENE_MIN]
    black = [(offset + float(a), offset + float(b)) for a, b in
             re.findall(r"black_start:(-?[\d.]+) black_end:(-?[\d.]+)", text)]
    return times, scenes, black


def visual(video: Path, duration: float, near: Sequence[tuple[float, float]],
           scan: str = "keyframes") -> list[Candidate]:
    if scan == "full":
        _times, scenes, black = _visual_pass(["-i", str(video)], f"fps={FULL_FPS},", 0.5)
    elif scan == "keyframes":
        keys, scenes, black = _visual_pass(["-skip_frame", "nokey", "-i", str(video)], "", 0.0)
        scenes, black = _refine(video, keys, scenes, black, near)
    else:
        raise ValueError(f"unknown video scan '{scan}': keyframes or full")
    out = [Candidate(t, "scene", 0.2 + 0.3 * min(1.0, s)) for t, s in scenes]
    return out + [Candidate(a, "black", 0.6, min(b, duration)) for a, b in black if b - a >= 0.5]


def _refine(video: Path, keys: list[float], scenes: list[tuple[float, float]],
            black: list[tuple[float, float]], near: Sequence[tuple[float, float]]
            ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Key-frame times of changes near a sound break, made exact to the frame."""
    def window(t: float) -> tuple[float, float] | None:
        if not any(a - NEAR <= t <= b + NEAR for a, b in near):
            return None
        before = max((k for k in keys if k < t - 1e-3), default=max(0.0, t - 10))
        return before, t

    def exact(t: float, pick: int) -> float:
        span = window(t)
        if span is None:
            return t
        a, b = span
        _t, found_scenes, found_black = _visual_pass(
            ["-ss", f"{a:.3f}", "-i", str(video), "-t", f"{b - a + 0.05:.3f}"], "", 0.0, a)
        if pick == 0:
            return max(found_scenes, key=lambda x: x[1], default=(t, 0.0))[0]
        edges = [e[pick - 1] for e in found_black if a + 1e-3 < e[pick - 1] < b + 0.05]
        return edges[0] if edges else t

    scenes = [(exact(t, 0), s) for t, s in scenes]
    black = [(exact(a, 1) if a > 0 else a, exact(b, 2)) for a, b in black]
    return scenes, black


def cues(audio_wav: Path, duration: float, found: Sequence[Candidate],
         agenda: Sequence[AgendaItem], engine: Engine) -> list[Candidate]:
    from pipeline.asr.recognise import recognise
    from pipeline.media.audio import read_slice

    strongest = sorted(breaks(found), key=lambda b: -b.strength)
    windows: list[tuple[float, float]] = []
    for brk in strongest[:max(CUE_WINDOWS, 2 * len(agenda))]:
        if brk.end - brk.start <= 20:
            windows.append((brk.start - 6, brk.end + 8))
        else:
            windows += [(brk.start - 6, brk.start + 10), (brk.end - 10, brk.end + 8)]
    merged: list[list[float]] = []
    for a, b in sorted((max(0.0, a), min(duration, b)) for a, b in windows):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out = []
    for a, b in merged:
        heard = recognise(engine, read_slice(audio_wav, a, b - a), "ko")
        utterances: list[list[Any]] = []
        for seg in heard.segments:  # a talk's closing words: each cue on its own
            cue = find_cue(seg.text, agenda)
            if cue is not None and cue.kind in ("close", "thanks"):
                out.append(Candidate(a + seg.end, "cue", cue.strength, None, cue.session,
                                     seg.text))
            if utterances and seg.start - utterances[-1][1] < 0.8:
                utterances[-1][1:] = [seg.end, f"{utterances[-1][2]} {seg.text}"]
            else:
                utterances.append([seg.start, seg.end, seg.text])
        for start, end, text in utterances:
            cue = find_cue(text, agenda)
            if cue is not None and cue.span:
                out.append(Candidate(a + start, "cue", cue.strength, a + end, cue.session, text))
            elif cue is not None and cue.kind == "named":
                out.append(Candidate(a + start, "cue", cue.strength, None, cue.session, text))
    return out


def collect(video: Path | None, audio_wav: Path, duration: float, *,
            agenda: Sequence[AgendaItem] = (), engine: Engine | None = None,
            with_cues: bool = True, video_scan: str = "auto") -> list[Candidate]:
    found = silences(audio_wav, duration) + applause(audio_wav)
    spans = [(c.time, c.last) for c in found if c.kind == "applause" or c.last - c.time >= 3]
    if video is not None:
        if video_scan == "auto":
            video_scan = "full" if duration <= FULL_UP_TO else "keyframes"
        found += visual(video, duration, spans, video_scan)
    if with_cues:
        if engine is None:
            from pipeline.asr import make_engine
            from pipeline.asr.decoding import WhisperSettings

            engine = make_engine(WhisperSettings(decode=CUE_DECODE))
        found += cues(audio_wav, duration, found, agenda, engine)
    return sorted(found, key=lambda c: (c.time, c.kind))


def collect_candidates(video: Path | None, audio_wav: Path, duration: float, *,
                       agenda: Sequence[AgendaItem] = (), engine: Engine | None = None,
                       cues: bool = True, video_scan: str = "auto") -> list[Candidate]:
    """Every boundary signal in the recording; see `pipeline.boundaries.signals`."""
    return collect(video, audio_wav, duration, agenda=agenda, engine=engine, with_cues=cues,
                   video_scan=video_scan)
