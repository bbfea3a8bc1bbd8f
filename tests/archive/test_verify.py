"""`verify` against a real archive: moto's S3 server on 127.0.0.1 and a local folder.

Each test publishes the small forum, then damages the archive the way it happens
(an object deleted, overwritten, truncated, bit-flipped behind its metadata) and
checks that verify names exactly the damaged key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.archive.verify import Problem, verify_archive
from pipeline.cli import main
from pipeline.config.forum import Storage
from pipeline.errors import ExitCode
from pipeline.stages.publish import PublishRequest, publish
from tests.archive_fixtures import s3_storage
from tests.progress_recorder import RecordingProgress

CLIP = "sort-2025/sessions/01-opening/01-opening.mp4"
SUBTITLES = "sort-2025/sessions/02-panel/02-panel.ko.vtt"


def published_s3(endpoint: str, bucket: str,
                 make_request: Callable[[Storage], PublishRequest]) -> Storage:
    storage = s3_storage(endpoint, bucket)
    publish(make_request(storage), RecordingProgress())
    return storage


def check(storage: Storage, *, deep: bool = False) -> list[tuple[str, str]]:
    report = verify_archive(storage, "sort-2025", RecordingProgress(), deep=deep)
    return [(p.kind, p.key) for p in report.problems]


def test_a_freshly_published_archive_is_whole(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    storage = published_s3(s3_endpoint, bucket, make_request)
    progress = RecordingProgress()

    report = verify_archive(storage, "sort-2025", progress, deep=True)

    assert report.whole and report.problems == ()
    forum = s3.list_objects_v2(Bucket=bucket, Prefix="sort-2025/")["Contents"]  # not the home
    assert report.listed == len(forum) - 1  # everything but forum.json itself
    assert progress.advanced == sum(o["Size"] for o in forum if o["Key"] != report.manifest_key)


def test_missing_and_overwritten_objects_are_named(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    storage = published_s3(s3_endpoint, bucket, make_request)
    s3.delete_object(Bucket=bucket, Key=CLIP)
    s3.put_object(Bucket=bucket, Key=SUBTITLES, Body=b"WEBVTT\n\n", ContentType="text/vtt")

    assert check(storage) == [("missing", CLIP), ("size", SUBTITLES)]


def test_bytes_changed_behind_the_metadata_need_deep(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    storage = published_s3(s3_endpoint, bucket, make_request)
    head = s3.head_object(Bucket=bucket, Key=SUBTITLES)
    body = bytearray(s3.get_object(Bucket=bucket, Key=SUBTITLES)["Body"].read())
    body[-2] ^= 0x01  # one bit, same size, the old sha256 copied along
    s3.put_object(Bucket=bucket, Key=SUBTITLES, Body=bytes(body), Metadata=head["Metadata"],
                  ContentType=head["ContentType"], CacheControl=head["CacheControl"])

    assert check(storage) == []  # the metadata still claims the old sha256
    assert check(storage, deep=True) == [("sha256", SUBTITLES)]


def test_metadata_that_disagrees_with_the_manifest_is_found_without_deep(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    storage = published_s3(s3_endpoint, bucket, make_request)
    head = s3.head_object(Bucket=bucket, Key=CLIP)
    s3.copy_object(Bucket=bucket, Key=CLIP, CopySource={"Bucket": bucket, "Key": CLIP},
                   MetadataDirective="REPLACE", ContentType="application/octet-stream",
                   Metadata=head["Metadata"])
    assert check(storage) == [("content-type", CLIP)]


def test_local_files_are_always_read(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    storage = Storage(local=tmp_path / "archive")
    publish(make_request(storage), RecordingProgress())
    clip = tmp_path / "archive" / CLIP
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0xFF
    clip.write_bytes(bytes(data))
    (tmp_path / "archive" / SUBTITLES).write_bytes(b"")

    assert check(storage) == [("sha256", CLIP), ("size", SUBTITLES)]


def test_no_manifest_or_a_damaged_one_is_a_problem_not_a_crash(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    storage = Storage(local=tmp_path / "archive")
    assert check(storage) == [("missing", "sort-2025/forum.json")]
    assert not (tmp_path / "archive").exists()  # verify only reads

    publish(make_request(storage), RecordingProgress())
    manifest = tmp_path / "archive" / "sort-2025" / "forum.json"
    raw = json.loads(manifest.read_text(encoding="utf-8"))
    raw["objects"].append({"key": "sort-2025/../../../etc/passwd", "size": 1, "sha256": "0",
                           "content_type": "text/plain"})
    manifest.write_text(json.dumps(raw), encoding="utf-8")
    assert check(storage) == [("manifest", "sort-2025/../../../etc/passwd")]

    manifest.write_text('{"version": 1, "forum": {}}', encoding="utf-8")
    report = verify_archive(storage, "sort-2025", RecordingProgress())
    assert report.problems == (Problem("manifest", "sort-2025/forum.json",
                                       "version 1 lists no objects; publish again to write "
                                       "version 2"),)


def forum_config(tmp_path: Path, storage: dict[str, Any]) -> Path:
    path = tmp_path / "forum.yaml"
    path.write_text(yaml.safe_dump({
        "id": "sort-2025", "title": "2025 공공부문 사회적가치 포럼", "date": "2025-11-20",
        "organiser": "사회적가치연구원", "source": {"file": "master.mp4"}, "storage": storage,
    }, allow_unicode=True), encoding="utf-8")
    return path


def test_the_command_prints_one_line_per_problem_and_exits_12(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = forum_config(tmp_path, {"local": "./archive"})
    publish(make_request(Storage(local=tmp_path / "archive")), RecordingProgress())

    assert main(["verify", str(config), "-q"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith("sort-2025: whole: ") and out.count("\n") == 1

    (tmp_path / "archive" / CLIP).unlink()
    assert main(["verify", str(config), "--deep", "-q"]) == ExitCode.VERIFY == 12
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"missing: {CLIP}: listed in the manifest but not in storage"]
    assert captured.err.startswith("sort-archive: error: sort-2025: 1 problem(s) in ")


def test_no_credential_reaches_the_output_even_with_verbose(
    tmp_path: Path, s3_endpoint: str, s3: Any, bucket: str,
    make_request: Callable[[Storage], PublishRequest], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    key_id, secret = "AKIASORTARCHIVE7TEST", "sEcReT/sort+archive/4f9c1d2e8b7a6f5e4d3c2b1a0"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    published_s3(s3_endpoint, bucket, make_request)
    s3.delete_object(Bucket=bucket, Key=CLIP)
    storage = {"s3": {"bucket": bucket, "endpoint_url": s3_endpoint, "region": "us-east-1",
                      "addressing_style": "path"}}
    wrong = {"s3": {**storage["s3"], "bucket": "no-such-archive"}}

    codes = [main(["verify", str(forum_config(tmp_path, storage)), "-v", "--deep"]),
             main(["verify", str(forum_config(tmp_path, wrong)), "-v"])]

    assert codes == [ExitCode.VERIFY, ExitCode.PUBLISH]
    captured = capsys.readouterr()
    assert "Traceback" in captured.err  # -v shows the traceback of the storage error
    everything = captured.out + captured.err + caplog.text
    assert CLIP in everything and "no-such-archive" in everything
    for leaked in (key_id, secret, "X-Amz-Signature", "Authorization"):
        assert leaked not in everything
