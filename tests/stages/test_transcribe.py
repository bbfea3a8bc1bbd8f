"""Transcribe real Korean speech with the bundled Whisper base model (no hub, no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.asr.decoding import WhisperSettings
from pipeline.demo import find_speech_dir
from pipeline.manifest import ItemCache, Manifest
from pipeline.progress import LogProgress
from pipeline.results import Clip, SessionPlan
from pipeline.settings import Settings
from pipeline.stages.transcribe import TranscribeRequest, transcribe
from tests.recordings import run

TALK = "data/6rmA7KCV7ZiE/MJ0_NG4dsCY"
LEAD_IN = 4.0  # seconds of silence before the speech in the test recording
SESSION_START = 3.0  # so the speech begins 1 s into the session


@pytest.fixture(scope="module")
def speech_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A 16 kHz mono WAV: LEAD_IN s of silence, then the talk's first three fragments."""
    talk = find_speech_dir(Settings.from_environ().speech_dir) / TALK
    lines = sorted((talk).glob("*.trans.txt"))[0].read_text(encoding="utf-8").splitlines()[:3]
    ids = [line.split(" ", 1)[0] for line in lines]
    folder = tmp_path_factory.mktemp("speech")
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{talk / (i + '.flac')}'\n" for i in ids))
    run("-f", "lavfi", "-t", str(LEAD_IN), "-i", "anullsrc=r=16000:cl=mono",
        "-f", "concat", "-safe", "0", "-i", str(listing),
        "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", "-ar", "16000", "-ac", "1",
        str(folder / "audio.wav"))
    return folder / "audio.wav", [line.split(" ", 1)[1] for line in lines]


def request(audio: Path, work: Path, end: float) -> TranscribeRequest:
    session = SessionPlan(number=1, id="keynote", title="기조강연", start=SESSION_START, end=end)
    clip = Clip(session=session, path=work / "sessions" / "01-keynote" / "01-keynote.mp4",
                duration=session.duration)
    clip.path.parent.mkdir(parents=True, exist_ok=True)
    return TranscribeRequest(clips=[clip], audio_path=audio, language="ko",
                             settings=WhisperSettings(),
                             cache=ItemCache(Manifest(work), "transcribe"))


def test_korean_speech_becomes_vtt_srt_json_and_text(
        tmp_path: Path, speech_recording: tuple[Path, list[str]]) -> None:
    import wave

    audio, references = speech_recording
    with wave.open(str(audio)) as wav:
        end = wav.getnframes() / 16000
    result = transcribe(request(audio, tmp_path, end), LogProgress())
    assert not result.failures and result.transcribed == 1
    transcript = result.transcripts[0]
    text = "".join(s.text for s in transcript.segments).replace(" ", "")
    words = {w for line in references for w in line.split()}
    found = {w for w in words if w in text}
    assert len(found) >= 0.7 * len(words), (sorted(words - found), text)
    for word in ("기업", "사람들", "멋진", "도움"):
        assert word in text, (word, text)

    files = transcript.files
    vtt = files.vtt.read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "-->" in vtt and "도움" in vtt
    assert files.vtt.name == "01-keynote.ko.vtt" and files.srt.name == "01-keynote.ko.srt"
    srt = files.srt.read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:0") and "," in srt.splitlines()[1]
    assert "도움" in files.txt.read_text(encoding="utf-8")

    document = json.loads(files.json_path.read_text(encoding="utf-8"))
    words = [w for segment in document["segments"] for w in segment["words"]]
    assert words and all(0 <= w["start"] <= w["end"] <= end - SESSION_START + 0.5
                         for w in words)
    # Times are relative to the clip: speech starts LEAD_IN - SESSION_START = 1 s in.
    assert 0.5 <= words[0]["start"] <= 2.0, words[0]


def test_second_run_transcribes_nothing(tmp_path: Path,
                                        speech_recording: tuple[Path, list[str]]) -> None:
    audio, _ = speech_recording
    first = transcribe(request(audio, tmp_path, 8.0), LogProgress())
    assert first.transcribed == 1
    second = transcribe(request(audio, tmp_path, 8.0), LogProgress())
    assert second.transcribed == 0
    assert second.transcripts[0].segments == first.transcripts[0].segments


def test_unreadable_audio_fails_the_session_not_the_run(tmp_path: Path) -> None:
    bogus = tmp_path / "audio.wav"
    bogus.write_bytes(b"RIFF not really")
    result = transcribe(request(bogus, tmp_path, 8.0), LogProgress())
    assert result.transcripts == () and "01-keynote" in result.failures


def test_a_changed_engine_identity_redoes_the_transcript(
        tmp_path: Path, speech_recording: tuple[Path, list[str]]) -> None:
    from dataclasses import replace

    audio, _ = speech_recording
    first = transcribe(request(audio, tmp_path, 8.0), LogProgress())
    assert first.transcribed == 1
    changed = request(audio, tmp_path, 8.0)
    float32 = replace(changed, settings=replace(changed.settings, compute_type="float32"))
    assert transcribe(float32, LogProgress()).transcribed == 1  # compute type is identity
    assert transcribe(float32, LogProgress()).transcribed == 0
    greedy = replace(float32, settings=replace(float32.settings, decode=replace(
        float32.settings.decode, beam_size=1)))
    assert transcribe(greedy, LogProgress()).transcribed == 1  # so are decoding options


def test_quality_report_and_corrections_are_written(
        tmp_path: Path, speech_recording: tuple[Path, list[str]]) -> None:
    from dataclasses import replace

    audio, _ = speech_recording
    base = request(audio, tmp_path, 8.0)
    result = transcribe(replace(base, corrections=(("기업", "企業"),)), LogProgress())
    transcript = result.transcripts[0]
    assert any("企業" in s.text and s.raw_text and "기업" in s.raw_text
               for s in transcript.segments)
    quality = json.loads(transcript.files.quality.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    assert quality["corrections"][0]["to"] == "企業"
    assert 0.3 < quality["speech_ratio"] <= 1.0 and quality["segment_count"] >= 1
    assert {"dropped", "low_confidence", "mean_logprob", "flags"} <= quality.keys()
    document = json.loads(transcript.files.json_path.read_text(encoding="utf-8"))
    assert any("raw_text" in s for s in document["segments"])


def test_a_model_that_cannot_load_ends_the_stage_not_each_session(
        tmp_path: Path, speech_recording: tuple[Path, list[str]]) -> None:
    from dataclasses import replace

    from pipeline.errors import ModelError

    audio, _ = speech_recording
    base = request(audio, tmp_path, 8.0)
    broken = replace(base, settings=replace(base.settings, model=str(tmp_path / "nothing")))
    with pytest.raises(ModelError, match="models list"):
        transcribe(broken, LogProgress())


def test_reviewed_text_wins_without_whisper_and_survives_a_model_change(
        tmp_path: Path, speech_recording: tuple[Path, list[str]]) -> None:
    """A review is written out without Whisper; a decoding change runs Whisper again and
    keeps the reviewed cue (merged, saved, said); a damaged review stops its session
    before Whisper."""
    from dataclasses import replace

    from pipeline.review.document import (
        HistoryEntry,
        load_review,
        now,
        read_history,
        review_path,
        save_review,
    )
    from pipeline.review.reviews import start_review
    from pipeline.stages.transcribe import review_lines
    from tests.progress_recorder import RecordingProgress

    audio, _ = speech_recording
    base = request(audio, tmp_path, 8.0)
    files = transcribe(base, LogProgress()).transcripts[0].files
    document = start_review(files.json_path, files.quality)
    cue = document.cues[0]
    mine = cue.model_copy(update={"text": "사람이 고친 첫 줄", "reviewed": True, "version": 1})
    review = review_path(files.json_path)
    save_review(review, document.model_copy(update={"cues": (mine, *document.cues[1:])}),
                [HistoryEntry(at=now(), session=document.session, action="edit",
                              cues=(cue.id,), before=(cue,), after=(mine,))])

    rewritten = transcribe(base, LogProgress())
    assert rewritten.transcribed == 0 and not rewritten.failures
    progress = rewritten.transcripts[0].review
    assert progress is not None and progress.applied == "rewrote"
    assert (progress.reviewed, progress.total) == (1, len(document.cues))
    assert "사람이 고친 첫 줄" in files.vtt.read_text(encoding="utf-8")
    first = json.loads(files.json_path.read_text(encoding="utf-8"))["segments"][0]
    assert (first["text"], first["raw_text"]) == (mine.text, cue.asr_text)
    assert transcribe(base, LogProgress()).transcribed == 0  # the review's checksum recorded

    greedy = replace(base, settings=replace(base.settings, decode=replace(
        base.settings.decode, beam_size=1)))
    notes = RecordingProgress()
    again = transcribe(greedy, notes)
    assert again.transcribed == 1  # Whisper ran again...
    kept = again.transcripts[0].review
    assert kept is not None and (kept.applied, kept.kept) == ("kept", 1)
    assert "사람이 고친 첫 줄" in files.vtt.read_text(encoding="utf-8")  # ...and the cue stayed
    merged = load_review(review)
    assert merged is not None and mine in merged.cues and merged.model == "base"
    assert read_history(review)[-1].action == "merge-transcript"
    assert any("kept 1 reviewed cue(s) in 01-keynote" in note for note in notes.notes)
    assert "kept 1 reviewed cue(s) in 01-keynote" in review_lines(again.transcripts, True)
    assert transcribe(greedy, LogProgress()).transcribed == 0

    review.write_text('{"format": 1, "cues": [', encoding="utf-8")
    damaged = transcribe(replace(greedy, settings=replace(greedy.settings, decode=replace(
        greedy.settings.decode, beam_size=2))), LogProgress())
    assert damaged.transcribed == 0 and "damaged" in damaged.failures["01-keynote"]
