"""Storage backends against moto's S3 server on 127.0.0.1 and a real local folder.

What the S3 client sends (checksums, part sizes), what happens to a multipart upload
that fails, who may read the objects, which keys are refused and what reaches the logs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.cli import _configure_logging
from pipeline.config.forum import S3Storage, Storage
from pipeline.errors import PublishError
from pipeline.progress import LogProgress
from pipeline.stage import RunReport
from pipeline.stages.publish import PublishRequest, PublishStage, publish
from pipeline.storage.backend import Backend, StoredItem, data_item, file_item, redact
from pipeline.storage.local import LocalBackend
from pipeline.storage.s3 import S3Backend
from tests.archive_fixtures import expected_objects, s3_storage
from tests.progress_recorder import RecordingProgress

MIB = 1024 * 1024
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"  # not contacted: S3's ACL grantee


def s3_config(endpoint: str, bucket: str, **extra: Any) -> S3Storage:
    storage = s3_storage(endpoint, bucket, **extra).s3
    assert storage is not None
    return storage


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """16 MiB that does not compress or repeat: four parts of 5 MiB at the smallest size."""
    path = tmp_path / "big.mp4"
    path.write_bytes(os.urandom(16 * MIB))
    return path


def checksums(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    return {name: value for name, value in head.items() if name.startswith("Checksum")}


def test_no_checksums_are_sent_unless_the_config_asks(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    """boto3 >= 1.36 sends CRC32 by default, which older MinIO and Ceph refuse."""
    publish(make_request(s3_storage(s3_endpoint, bucket)), RecordingProgress())
    for key in expected_objects("sort-2025"):
        assert checksums(s3, bucket, key) == {}, key

    other = f"{bucket}-crc"
    s3.create_bucket(Bucket=other)
    storage = s3_storage(s3_endpoint, other, request_checksum_calculation="when_supported",
                         response_checksum_validation="when_supported")
    publish(make_request(storage), RecordingProgress())
    for key in expected_objects("sort-2025"):
        assert "ChecksumCRC32" in checksums(s3, other, key), key


def test_part_size_and_threshold_come_from_the_config(
    s3_endpoint: str, s3: Any, bucket: str, big_file: Path,
) -> None:
    small_parts = S3Backend(s3_config(s3_endpoint, bucket, transfer={
        "multipart_threshold_mib": 5, "part_size_mib": 5, "max_concurrency": 2}))
    small_parts.put(file_item("parts/big.mp4", big_file, "clip"), lambda _: None)
    defaults = S3Backend(s3_config(s3_endpoint, bucket))
    defaults.put(file_item("whole/big.mp4", big_file, "clip"), lambda _: None)

    # A multipart ETag ends with the number of parts; below the threshold there is none.
    assert s3.head_object(Bucket=bucket, Key="parts/big.mp4")["ETag"].endswith('-4"')
    assert "-" not in s3.head_object(Bucket=bucket, Key="whole/big.mp4")["ETag"]


def test_an_upload_that_fails_midway_leaves_no_parts(
    s3_endpoint: str, s3: Any, bucket: str, big_file: Path,
) -> None:
    backend = S3Backend(s3_config(s3_endpoint, bucket, transfer={
        "multipart_threshold_mib": 5, "part_size_mib": 5, "max_concurrency": 1}))
    item = file_item("sort-2025/sessions/01-opening/01-opening.mp4", big_file, "clip")
    in_flight: list[int] = []

    def vanish(amount: int) -> None:
        """The clip disappears from the work folder while its first part is sent."""
        if not in_flight:
            in_flight.append(len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])))
            big_file.unlink()

    with pytest.raises(PublishError, match=r"cannot read .*big\.mp4 while uploading"):
        backend.put(item, vanish)

    assert in_flight == [1]  # it did fail in the middle of a multipart upload
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_publish_aborts_the_uploads_a_killed_run_left(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    left = {}
    for key in ("sort-2025/sessions/01-opening/01-opening.mp4", "other-forum/clip.mp4"):
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1,
                       Body=b"x" * (5 * MIB))
        left[key] = upload["UploadId"]

    progress = RecordingProgress()
    publish(make_request(s3_storage(s3_endpoint, bucket)), progress)

    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [
        ("other-forum/clip.mp4", left["other-forum/clip.mp4"])]  # not this forum's: kept
    assert "publish: removed 1 unfinished upload(s) left by an earlier run" in progress.notes


@pytest.mark.parametrize("public_base_url",
                         [None, "https://media.example.org/"])  # not contacted: a link base
def test_objects_are_private_whatever_the_links(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
    public_base_url: str | None,
) -> None:
    publish(make_request(s3_storage(s3_endpoint, bucket, public_base_url=public_base_url)),
            RecordingProgress())
    for key in expected_objects("sort-2025"):
        grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"], key
        assert all(g["Grantee"].get("URI") != ALL_USERS for g in grants)


@pytest.mark.parametrize("key", ["sort-2025/../../escape.txt", "/etc/passwd",
                                 "sort-2025//x.txt", "sort-2025/a\\..\\..\\x.txt"])
def test_keys_that_could_leave_the_prefix_are_refused(
    tmp_path: Path, s3_endpoint: str, s3: Any, bucket: str, key: str,
) -> None:
    item = StoredItem(key, "text/plain", 2, "0" * 64, "no-cache", data=b"hi")
    root = tmp_path / "a" / "archive"
    for backend in (LocalBackend(root), S3Backend(s3_config(s3_endpoint, bucket))):
        with pytest.raises(PublishError, match="is refused"):
            backend.put(item, lambda _: None)
        with pytest.raises(PublishError, match="is refused"):
            backend.read(key)
    with pytest.raises(PublishError):
        data_item(key, "hi")
    assert not list(tmp_path.rglob("*"))  # nothing written, neither inside nor outside
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_both_backends_list_the_keys_under_a_prefix(
    tmp_path: Path, s3_endpoint: str, bucket: str,
) -> None:
    keys = ["archive/a/forum.json", "archive/a/sessions/01-x/01-x.mp4", "archive/b/forum.json",
            "other/forum.json"]
    backends: list[Backend] = [LocalBackend(tmp_path / "archive-root"),
                               S3Backend(s3_config(s3_endpoint, bucket))]
    for backend in backends:
        backend.check()
        for key in reversed(keys):
            backend.put(data_item(key, "{}"), lambda _: None)
        assert backend.list("") == tuple(keys), backend.where
        assert backend.list("archive/") == tuple(keys[:3]), backend.where
        assert backend.list("archive/a/") == tuple(keys[:2]), backend.where
        assert backend.list("nothing/") == (), backend.where
    # A killed publish's temporary file is not an object.
    (tmp_path / "archive-root/archive/a/.forum.json.0123abcd.part").write_text("{")
    assert LocalBackend(tmp_path / "archive-root").list("archive/a/") == tuple(keys[:2])
    with pytest.raises(PublishError, match="does not exist"):
        LocalBackend(tmp_path / "nowhere").list("")
    assert not (tmp_path / "nowhere").exists()  # listing only reads


@pytest.fixture
def secret_env(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """Credentials that would be recognised anywhere they turned up."""
    key_id, secret = "AKIASORTARCHIVE7TEST", "sEcReT/sort+archive/4f9c1d2e8b7a6f5e4d3c2b1a0"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    yield key_id, secret
    logging.getLogger("pipeline").setLevel(logging.NOTSET)


def test_presigned_links_and_credentials_stay_out_of_the_log(
    s3_endpoint: str, bucket: str, make_request: Callable[[Storage], PublishRequest],
    secret_env: tuple[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    _configure_logging(quiet=False, verbose=True)  # what `-v` sets up
    result = publish(make_request(s3_storage(s3_endpoint, bucket)), LogProgress())
    report = RunReport(forum_id="sort-2025", work_dir=Path("."))
    PublishStage().summarise(result, True, report)

    signature = result.forum_url.split("X-Amz-Signature=")[1]
    assert len(signature) == 64  # the link handed out is signed ...
    assert report.archive_url and "X-Amz" not in report.archive_url  # ... the summary is not
    assert caplog.records, "the run logged nothing: the test would prove nothing"
    logged = caplog.text + report.archive_url
    for secret in (*secret_env, signature):
        assert secret not in logged


def test_error_messages_carry_no_secret(
    s3_endpoint: str, secret_env: tuple[str, str],
) -> None:
    endpoint = s3_endpoint.replace("http://", "http://archivist:pa55word@")
    backend = S3Backend(s3_config(endpoint, "no-such-archive"))
    with pytest.raises(PublishError) as caught:
        backend.check()
    line = caught.value.one_line()
    assert "no-such-archive" in line
    for secret in (*secret_env, "pa55word"):
        assert secret not in line and secret not in backend.where


def test_redact_removes_signatures_tokens_and_passwords() -> None:
    url = ("https://s3.ap-northeast-2.amazonaws.com/b/k.mp4"  # not contacted: text to redact
           "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIA%2F20261127&X-Amz-Security-Token=FwoGZX&X-Amz-Signature=ab12")
    text = redact(f"GET {url} via http://user:pw@proxy:3128/")
    assert "ab12" not in text and "FwoGZX" not in text and "AKIA" not in text
    assert "pw@" not in text and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in text


def test_the_readme_storage_example_is_a_valid_config() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\nstorage:\n", 1)[1].split("```", 1)[0]
    storage = Storage.model_validate(yaml.safe_load("storage:\n" + block)["storage"])
    assert storage.s3 is not None and storage.s3 == S3Storage(
        bucket="sort-archive", prefix="forums", endpoint_url="https://...",
        region="ap-northeast-2", addressing_style="path", profile="sort",
        public_base_url="https://cdn.example.org/")  # not contacted; other lines are defaults


@pytest.mark.parametrize("wrong", [
    {"transfer": {"part_size_mib": 4}},  # S3 refuses parts under 5 MiB
    {"presign_expiry": 8 * 24 * 3600},  # SigV4 links live 7 days at most
    {"request_checksum_calculation": "always"},
    {"transfer": {"max_concurrency": 0}},
])
def test_storage_settings_out_of_range_are_refused(wrong: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        S3Storage.model_validate({"bucket": "b", **wrong})
