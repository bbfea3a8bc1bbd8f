"""Captions of a stream-like recording (pipeline/demo/stream.py: MC lines, music, the
speakers' closing "감사합니다", applause), where Whisper is at its worst: a talk cut out
of it by the split stage is transcribed with the real bundled model, through the
transcribe stage's own code, and its subtitles are read by the W3C's WebVTT parser and
the strict `srt` parser and checked against the cue rules. A transcript written by the
old writers is then rewritten from its JSON on the next run, without Whisper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pipeline.asr.decoding import WhisperSettings
from pipeline.config.loader import load_config
from pipeline.demo import SHORT_STREAM, build_stream_forum
from pipeline.manifest import ItemCache, Manifest
from pipeline.progress import LogProgress
from pipeline.results import Clip, FetchResult, SplitResult, TranscribeResult
from pipeline.runner import RunOptions, run_forum
from pipeline.settings import Settings
from pipeline.stages.transcribe import TranscribeRequest, transcribe
from tests.browser_checks import vtt_errors
from tests.transcripts.captions import broken_rules, srt_cues, vtt_cues

pytestmark = pytest.mark.slow  # Whisper hears the stream


def transcribed(work: Path, audio: Path, clip: Clip) -> TranscribeResult:
    settings = WhisperSettings(model_dir=Settings.from_environ().model_dir)
    return transcribe(TranscribeRequest(
        clips=[clip], audio_path=audio, language="ko", settings=settings,
        cache=ItemCache(Manifest(work), "transcribe")), LogProgress())


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Clip]:
    """The stream's first talk (its closing "감사합니다", then applause) as split cuts it,
    and the recording's 16 kHz sound: (work folder, sound, clip). The session's times are
    the ground truth's, from its title card to the applause's end: finding them is
    tests/boundaries/test_stream.py's job, and its Whisper would double this test's time."""
    stream = build_stream_forum(tmp_path_factory.mktemp("stream"), SHORT_STREAM,
                                speech_dir=Settings.from_environ().speech_dir)
    talk = stream.truth.talks[0]
    assert talk.closing_start is not None and talk.applause_end is not None
    raw = yaml.safe_load(stream.config_path.read_text(encoding="utf-8"))
    raw["sessions"] = [{**raw["sessions"][0], "start": round(talk.card_start, 3),
                        "end": round(talk.applause_end + 0.5, 3)}]
    config = stream.config_path.with_name("captions.yaml")
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                      encoding="utf-8")
    root = tmp_path_factory.mktemp("run")
    options = RunOptions(work_root=root / "work", catalogue=root / "catalogue.sqlite",
                         until_stage="split",
                         whisper=WhisperSettings(model_dir=Settings.from_environ().model_dir))
    report = run_forum(load_config(config), options, LogProgress())
    fetch, split = report.results["fetch"], report.results["split"]
    assert isinstance(fetch, FetchResult) and isinstance(split, SplitResult)
    [clip] = split.clips
    assert clip.session.id == talk.session_id
    return report.work_dir, fetch.recording.audio_path, clip


def test_a_stream_session_gets_captions_that_validate(
        session: tuple[Path, Path, Clip]) -> None:
    work, audio, clip = session
    result = transcribed(work, audio, clip)
    assert not result.failures and result.transcribed == 1
    files = result.transcripts[0].files
    vtt, srt = (path.read_text(encoding="utf-8") for path in (files.vtt, files.srt))
    print(vtt)
    assert vtt_errors([files.vtt]) == {str(files.vtt): []}
    cues = srt_cues(srt)
    assert cues and vtt_cues(vtt) == cues
    assert broken_rules(cues, until=clip.session.duration) == []
    assert [c.text for c in cues] == files.txt.read_text(encoding="utf-8").splitlines()
    assert "감사합니다" in files.txt.read_text(encoding="utf-8")  # the closing line

    # A run before these rules wrote `Language: ko` and zero-length cues: the next run
    # writes its subtitles again from the JSON, and does not run Whisper.
    manifest = Manifest(work)
    entry = f"transcribe/{clip.session.slug}"
    recorded = json.loads(manifest.path.read_text(encoding="utf-8"))["items"][entry]
    files.vtt.write_text("WEBVTT\nLanguage: ko\n\n1\n00:00:01.000 --> 00:00:01.000\n말\n",
                         encoding="utf-8")
    manifest.record_item(entry, recorded["fingerprint"], list(files.all()))
    json_before = files.json_path.read_bytes()
    again = transcribed(work, audio, clip)
    assert not again.failures and again.transcribed == 0
    assert files.vtt.read_text(encoding="utf-8") == vtt
    assert files.json_path.read_bytes() == json_before
    assert transcribed(work, audio, clip).transcribed == 0  # and the rewrite is recorded
