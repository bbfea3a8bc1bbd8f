"""The whole pipeline on the small demo forum, publishing to S3 on 127.0.0.1.

Real yt-dlp (file:// URL), real ffmpeg, the bundled Whisper base model, boto3
over HTTP to moto's S3 server, and a real SQLite catalogue.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from pipeline.catalogue import SearchQuery, search
from pipeline.cli import main
from pipeline.config.loader import load_config
from tests.browser_checks import vtt_errors
from tests.recordings import duration
from tests.transcripts.captions import broken_rules, srt_cues, vtt_cues

pytestmark = pytest.mark.slow

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
}


def s3_config(demo: Any, endpoint: str, bucket: str) -> Path:
    """The demo config with its storage pointed at the loopback S3 server."""
    raw = yaml.safe_load(demo.config_path.read_text(encoding="utf-8"))
    raw["storage"] = {"s3": {"bucket": bucket, "prefix": "forums", "endpoint_url": endpoint,
                             "region": "us-east-1", "addressing_style": "path"}}
    path = demo.config_path.with_name(f"demo-{bucket}.yaml")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def bucket_state(client: Any, bucket: str) -> dict[str, tuple[str, str]]:
    state = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            state[item["Key"]] = (item["ETag"], str(item["LastModified"]))
    return state


@pytest.fixture(scope="module")
def archived(small_demo: Any, s3_endpoint: str,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run `sort-archive run` once, in-process, and keep what the test needs."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="sort-archive-e2e")
    config = s3_config(small_demo, s3_endpoint, "sort-archive-e2e")
    state = tmp_path_factory.mktemp("e2e")
    args = ["run", str(config), "--work-dir", str(state / "work"),
            "--catalogue", str(state / "catalogue.sqlite"), "--quiet"]
    return {"config": config, "args": args, "client": client, "state": state,
            "code": main(args), "demo": small_demo}


def test_one_clip_per_session_with_config_durations(archived: dict[str, Any]) -> None:
    assert archived["code"] == 0
    config = load_config(archived["config"])
    clips = sorted((archived["state"] / "work" / config.forum.id / "sessions").glob("*/*.mp4"))
    plans = config.session_plans()
    assert [c.stem for c in clips] == [p.slug for p in plans]
    for clip, plan in zip(clips, plans, strict=True):
        assert abs(duration(clip) - plan.duration) <= 0.1, clip.name


def test_transcripts_contain_the_reference_words(archived: dict[str, Any]) -> None:
    config = load_config(archived["config"])
    work = archived["state"] / "work" / config.forum.id / "sessions"
    for plan in config.session_plans():
        text = (work / plan.slug / f"{plan.slug}.txt").read_text(encoding="utf-8")
        squashed = re.sub(r"\s+", "", text)
        words = {w for line in archived["demo"].references[plan.id] for w in line.split()
                 if len(w) >= 2}
        found = {w for w in words if w in squashed}
        # Whisper base on real talk audio: most reference words, never a blank transcript.
        assert len(found) >= 0.6 * len(words), (plan.id, sorted(words - found), text)


def test_every_object_is_in_the_bucket_with_its_content_type(archived: dict[str, Any]) -> None:
    client = archived["client"]
    config = load_config(archived["config"])
    keys = set(bucket_state(client, "sort-archive-e2e"))
    prefix = f"forums/{config.forum.id}"
    expected = {f"{prefix}/index.html", f"{prefix}/forum.json", f"{prefix}/materials/자료집.pdf"}
    for plan in config.session_plans():
        base = f"{prefix}/sessions/{plan.slug}/{plan.slug}"
        expected |= {f"{base}.mp4", f"{base}.ko.vtt", f"{base}.ko.srt", f"{base}.json",
                     f"{base}.txt", f"{prefix}/sessions/{plan.slug}/index.html",
                     f"{prefix}/sessions/{plan.slug}/poster.jpg"}
    assert expected <= keys, sorted(expected - keys)
    for key in expected:
        head = client.head_object(Bucket="sort-archive-e2e", Key=key)
        assert head["ContentType"] == CONTENT_TYPES[Path(key).suffix], key


def test_published_subtitles_pass_strict_parsers_and_the_cue_rules(
        archived: dict[str, Any], tmp_path: Path) -> None:
    """Every published VTT passes the W3C's parser and every SRT the strict `srt` parser;
    both hold the same cues, none shorter than MIN_CUE_SECONDS, none repeating the one
    before it, all within the clip."""
    client, bucket = archived["client"], "sort-archive-e2e"

    def read(key: str) -> str:
        return str(client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8"))

    stems = sorted(key.removesuffix(".ko.vtt") for key in bucket_state(client, bucket)
                   if key.endswith(".ko.vtt"))
    assert len(stems) == len(load_config(archived["config"]).session_plans())
    vtts = []
    for stem in stems:
        session = json.loads(read(f"{stem}.json"))["session"]
        clip_length = session["end_in_recording"] - session["start_in_recording"]
        vtt, srt = read(f"{stem}.ko.vtt"), read(f"{stem}.ko.srt")
        cues = srt_cues(srt)
        assert cues and vtt_cues(vtt) == cues, stem
        assert broken_rules(cues, until=clip_length) == [], stem
        vtts.append(tmp_path / Path(stem).name)
        vtts[-1].write_text(vtt, encoding="utf-8")
    assert vtt_errors(vtts) == {str(path): [] for path in vtts}


@pytest.mark.parametrize("word", ["사람들", "모델"])  # a noun with its suffix, a plain noun
def test_search_finds_the_right_session_and_second(archived: dict[str, Any], word: str) -> None:
    config = load_config(archived["config"])
    hits = search(archived["state"] / "catalogue.sqlite", SearchQuery(word)).hits
    plans = {p.id: p for p in config.session_plans()}
    # Both words are spoken only in the keynote's talk (see the demo's references.json).
    assert hits and {h.session_id for h in hits} == {"keynote"}
    keynote = plans["keynote"]
    for hit in hits:
        assert word in hit.text
        # The card takes the first seconds of the clip, so speech can't be found there.
        assert 2.0 <= hit.start <= keynote.duration
        assert hit.url and hit.url.endswith(f"#t={int(hit.start)}")
        assert "01-keynote" in hit.url


def test_search_command_prints_session_and_timestamp(archived: dict[str, Any],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "사람들", "--catalogue", str(archived["state"] / "catalogue.sqlite")])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"demo-sort\s+01-keynote\s+\[\d\d:\d\d:\d\d\]", out), out


def test_second_run_transcribes_and_uploads_nothing(archived: dict[str, Any],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    before = bucket_state(archived["client"], "sort-archive-e2e")
    capsys.readouterr()
    assert main(archived["args"]) == 0
    out = capsys.readouterr().out
    assert "transcribed 0 session(s), uploaded 0 object(s)" in out, out
    assert bucket_state(archived["client"], "sort-archive-e2e") == before

    # Even when forced past the stage-level skip, publish finds identical objects.
    assert main([*archived["args"], "--only", "publish", "--force"]) == 0
    assert "uploaded 0 object(s)" in capsys.readouterr().out
    assert bucket_state(archived["client"], "sort-archive-e2e") == before


def test_the_summary_shows_each_stage_time_against_the_recording(
        archived: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*archived["args"], "--only", "split", "--force"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"split\s+ran in (\d+\.\d) s \(x(\d+\.\d) real time\)", out)
    assert match, out
    recording = sum(plan.duration for plan in load_config(archived["config"]).session_plans())
    seconds, factor = float(match[1]), float(match[2])
    assert seconds > 0 and factor > 1, out  # cutting a short demo is faster than real time
    # the factor is the sessions' length over the stage's time (both rounded to 0.1)
    assert abs(seconds * factor - recording) <= 0.05 * (seconds + factor) + 0.01, out
