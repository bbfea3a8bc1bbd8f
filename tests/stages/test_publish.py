"""Publish against real storage: moto's S3 server over HTTP on 127.0.0.1, and a local folder.

The inputs are small but real (see tests/archive_fixtures.py). Re-runs are
checked by counting the bytes that went through the upload task and by bucket
versioning, which records a new version for every put, even of identical bytes.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from pipeline.config.forum import Storage
from pipeline.errors import PublishError
from pipeline.stages.publish import PublishRequest, publish
from pipeline.storage.backend import IMMUTABLE, REVALIDATE, without_query
from tests.archive_fixtures import (
    FORUM,
    MATERIAL,
    SESSIONS,
    Tags,
    expected_objects,
    s3_storage,
    state,
    uploaded,
)
from tests.progress_recorder import RecordingProgress

# The series' root pages beside the forums (tests/archive/test_root.py): not the forum's.
ROOT_PAGES = {"index.html", "feed.xml"}


def test_s3_publish_writes_every_key_with_its_content_type(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    progress = RecordingProgress()
    result = publish(make_request(s3_storage(s3_endpoint, bucket, prefix="/archive/2025/")),
                     progress)

    expected = expected_objects("archive/2025/sort-2025")
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == set(expected) | {f"archive/2025/{name}" for name in ROOT_PAGES}
    for key, content_type in expected.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["ContentType"] == content_type, key
        assert got["Metadata"]["sha256"] == hashlib.sha256(got["Body"].read()).hexdigest()
    assert uploaded(result) == set(expected)
    total = sum(obj.size for obj in result.objects)
    assert progress.tasks == [("upload", total)]
    assert progress.advanced == total

    # No public base URL: the bucket stays private and the links are presigned.
    assert without_query(result.forum_url) == (
        f"{s3_endpoint}/{bucket}/archive/2025/sort-2025/index.html")
    assert [without_query(s.vtt_url or "") for s in result.sessions] == [
        f"{s3_endpoint}/{bucket}/archive/2025/sort-2025/sessions/{p.slug}/{p.slug}.ko.vtt"
        for p in SESSIONS
    ]
    material_url = next(o.url for o in result.objects if o.key.endswith(MATERIAL))
    assert without_query(material_url).endswith("/materials/" + quote(MATERIAL))
    for url in (material_url, result.forum_url):
        query = dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256", url  # SigV4: every region
        assert query["X-Amz-Expires"] == str(7 * 24 * 3600) and query["X-Amz-Signature"]
    with urllib.request.urlopen(material_url) as response:
        assert response.read().startswith(b"%PDF")
    with urllib.request.urlopen(result.forum_url) as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert FORUM.title in response.read().decode("utf-8")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="archive/2025/sort-2025/forum.json")
                          ["Body"].read())
    assert manifest["forum"]["title"] == FORUM.title
    assert [s["title"] for s in manifest["sessions"]] == [p.title for p in SESSIONS]
    assert manifest["sessions"][0]["speakers"] == [{"name": "김민지", "organisation": "행정안전부"}]
    assert set(manifest["sessions"][1]["keys"].values()) <= set(expected)


def test_s3_second_publish_uploads_nothing(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    request = make_request(s3_storage(s3_endpoint, bucket))
    first = publish(request, RecordingProgress())
    before = state(s3, bucket)

    progress = RecordingProgress()
    second = publish(request, progress)

    assert not uploaded(second)
    assert progress.tasks == []  # no upload bar at all
    assert progress.advanced == 0
    assert state(s3, bucket) == before  # one version per key, same ETag and LastModified
    assert all(len(ids) == 1 for ids, _, _ in before.values())
    # The same objects, linked again (a presigned link is signed anew on every run).
    assert [(o.key, o.sha256, without_query(o.url)) for o in second.objects] == [
        (o.key, o.sha256, without_query(o.url)) for o in first.objects]


def test_s3_changed_transcript_reuploads_only_that_object(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    request = make_request(s3_storage(s3_endpoint, bucket))
    publish(request, RecordingProgress())
    before = state(s3, bucket)
    srt = request.transcripts[1].files.srt
    srt.write_text(srt.read_text(encoding="utf-8").replace("협력이", "연대가"), encoding="utf-8")

    progress = RecordingProgress()
    result = publish(request, progress)

    key = "sort-2025/sessions/02-panel/02-panel.ko.srt"
    page, manifest = "sort-2025/sessions/02-panel/index.html", "sort-2025/forum.json"
    # The session page links the subtitles with their new version, and forum.json lists
    # their new sha256; nothing else changes.
    assert uploaded(result) == {key, page, manifest}
    sizes = {obj.key: obj.size for obj in result.objects}
    assert progress.advanced == sum(sizes[k] for k in (key, page, manifest))
    version = hashlib.sha256(srt.read_bytes()).hexdigest()[:12]
    html = s3.get_object(Bucket=bucket, Key=page)["Body"].read().decode("utf-8")
    assert f'href="02-panel.ko.srt?v={version}"' in html
    after = state(s3, bucket)
    assert len(after[key][0]) == 2
    changed = {key, page, manifest}
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed}
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    assert "연대가" in body


def test_missing_bucket_is_one_clear_line(
    s3_endpoint: str, s3: Any, make_request: Callable[[Storage], PublishRequest],
) -> None:
    with pytest.raises(PublishError) as caught:
        publish(make_request(s3_storage(s3_endpoint, "no-such-archive")), RecordingProgress())

    line = caught.value.one_line()
    assert "bucket 'no-such-archive' does not exist" in line
    assert s3_endpoint in line
    assert "storage.s3.bucket" in line
    assert "\n" not in str(caught.value)


def test_missing_credentials_say_which_variables_to_set(
    s3_endpoint: str, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch,
    make_request: Callable[[Storage], PublishRequest],
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    with pytest.raises(PublishError) as caught:
        publish(make_request(s3_storage(s3_endpoint, bucket)), RecordingProgress())

    assert "AWS_ACCESS_KEY_ID" in caught.value.one_line()
    assert "AWS_PROFILE" in caught.value.one_line()


def test_public_base_url_is_used_for_links(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    # not contacted: the host is only named
    storage = s3_storage(s3_endpoint, bucket, public_base_url="https://media.example.org/sort/")
    result = publish(make_request(storage), RecordingProgress())

    # not contacted: the host is only named
    assert result.forum_url == "https://media.example.org/sort/sort-2025/index.html"
    version = hashlib.sha256(make_request(storage).materials[0].path.read_bytes()).hexdigest()
    # Served as immutable, so a link from outside carries the version as the pages do.
    assert {o.url for o in result.objects if o.key.endswith(".pdf")} == {
        f"https://media.example.org/sort/sort-2025/materials/{quote(MATERIAL)}"  # not contacted
        f"?v={version[:12]}"}


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (inode, mtime_ns) of every file, hidden temporaries included."""
    return {p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def test_local_folder_gets_the_same_layout_and_skips_identical_files(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    root = tmp_path / "archive" / "not-yet-there"
    request = make_request(Storage(local=root))
    first = publish(request, RecordingProgress())

    before = files_under(root)
    assert set(before) == set(expected_objects("sort-2025")) | ROOT_PAGES
    assert uploaded(first) == set(before) - ROOT_PAGES
    assert first.forum_url == (root / "sort-2025" / "index.html").as_uri()
    for obj in first.objects:
        assert hashlib.sha256((root / obj.key).read_bytes()).hexdigest() == obj.sha256

    progress = RecordingProgress()
    second = publish(request, progress)
    assert not uploaded(second)
    assert progress.advanced == 0
    assert files_under(root) == before  # not rewritten: same inode, same mtime

    request.materials[0].path.write_bytes(b"%PDF-1.4\n% revised\n%%EOF\n")
    third = publish(request, RecordingProgress())
    # The bundle holds it; the forum page links both with their versions and shows their
    # sizes; the manifest lists their checksums: they all follow, nothing else.
    assert uploaded(third) == {f"sort-2025/materials/{MATERIAL}", "sort-2025/materials.zip",
                               "sort-2025/forum.json", "sort-2025/index.html"}
    assert (root / "sort-2025" / "materials" / MATERIAL).read_bytes().endswith(b"revised\n%%EOF\n")
    assert set(files_under(root)) == set(before)  # no temporary files left behind


def test_local_root_that_is_a_file_is_a_clear_error(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    root = tmp_path / "archive"
    root.write_text("not a folder")

    with pytest.raises(PublishError, match="is not a folder") as caught:
        publish(make_request(Storage(local=root)), RecordingProgress())
    assert "storage.local" in caught.value.one_line()


def test_viewer_pages_play_seek_and_link_to_files_that_exist(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    root = tmp_path / "archive"
    publish(make_request(Storage(local=root)), RecordingProgress())
    forum_page = root / "sort-2025" / "index.html"
    session_page = root / "sort-2025" / "sessions" / "02-panel" / "index.html"

    html = session_page.read_text(encoding="utf-8")
    tags = Tags(html)
    assert '<html lang="ko">' in html and '<meta charset="utf-8">' in html
    assert [(s["src"] or "").split("?")[0] for s in tags.all("source")] == ["02-panel.mp4"]
    [track] = tags.all("track")
    assert track["kind"] == "subtitles" and track["srclang"] == "ko"
    assert (track["src"] or "").split("?")[0] == "02-panel.ko.vtt" and "default" in track
    seeks = [a["href"] for a in tags.all("a") if (a["href"] or "").startswith("#t=")]
    # The lines are the captions' cues: in a 1-second clip the 0.4-second line is too
    # short to read alone and is merged with the next (pipeline.transcripts.cues).
    assert seeks == ["#t=0"]
    assert "공공기관의 성과 평가는 어떻게 바뀌어야 할까요?" in html
    assert "hashchange" in html and "currentTime" in html
    assert "지역 사회와의 협력이 중요합니다." in html
    assert "&lt;사회적 가치&gt; &amp; 공공기관" in html and "<사회적 가치>" not in html

    forum_html = forum_page.read_text(encoding="utf-8")
    assert "김민지 (행정안전부)" in forum_html and "포럼 자료집" in forum_html
    for page in (forum_page, session_page, session_page.parents[1] / "01-opening" / "index.html"):
        page_tags = Tags(page.read_text(encoding="utf-8"))
        links = [attrs.get("href") or attrs.get("src") for tag in ("a", "source", "track")
                 for attrs in page_tags.all(tag)]
        relative = [link for link in links if link and not link.startswith("#")]
        assert relative, page
        for link in relative:
            path, _, version = link.partition("?")
            target = (page.parent / unquote(path)).resolve()
            assert target.is_file(), (page, link)
            if target.suffix != ".html":  # pages revalidate; all else is versioned
                assert version == f"v={hashlib.sha256(target.read_bytes()).hexdigest()[:12]}"


def test_session_without_transcript_gets_a_page_without_subtitles(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    full = make_request(Storage(local=tmp_path / "archive"))
    request = PublishRequest(forum=full.forum, clips=full.clips, transcripts=full.transcripts[:1],
                             materials=full.materials, storage=full.storage)
    result = publish(request, RecordingProgress())

    assert [s.vtt_url is None for s in result.sessions] == [False, True]
    folder = tmp_path / "archive" / "sort-2025" / "sessions" / "02-panel"
    assert sorted(p.name for p in folder.iterdir()) == ["02-panel.mp4", "index.html"]
    page = Tags((folder / "index.html").read_text(encoding="utf-8"))
    assert page.all("track") == [] and len(page.all("source")) == 1


def test_manifest_lists_every_object_with_its_size_sha256_and_type(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    publish(make_request(s3_storage(s3_endpoint, bucket)), RecordingProgress())

    manifest = json.loads(s3.get_object(Bucket=bucket, Key="sort-2025/forum.json")["Body"]
                          .read())
    assert manifest["version"] == 2
    listed = {entry["key"]: entry for entry in manifest["objects"]}
    assert set(listed) == set(expected_objects("sort-2025")) - {"sort-2025/forum.json"}
    for key, entry in listed.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        body = got["Body"].read()
        assert entry == {"key": key, "size": len(body),
                         "sha256": hashlib.sha256(body).hexdigest(),
                         "content_type": got["ContentType"]}
    assert manifest["bundle"]["key"] == "sort-2025/materials.zip"


def test_pages_and_manifest_revalidate_and_everything_else_is_immutable(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    publish(make_request(s3_storage(s3_endpoint, bucket)), RecordingProgress())

    for key in expected_objects("sort-2025"):
        changes_in_place = key.endswith((".html", "/forum.json"))
        expected = REVALIDATE if changes_in_place else IMMUTABLE
        assert s3.head_object(Bucket=bucket, Key=key)["CacheControl"] == expected, key


def test_objects_from_an_older_publish_get_their_headers_without_a_new_upload(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    request = make_request(s3_storage(s3_endpoint, bucket))
    publish(request, RecordingProgress())
    key = "sort-2025/sessions/01-opening/01-opening.mp4"
    head = s3.head_object(Bucket=bucket, Key=key)
    # What publish wrote before Cache-Control: the same bytes and sha256, no caching header.
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key},
                   MetadataDirective="REPLACE", ContentType=head["ContentType"],
                   Metadata=head["Metadata"])
    assert "CacheControl" not in s3.head_object(Bucket=bucket, Key=key)

    progress = RecordingProgress()
    result = publish(request, progress)

    assert uploaded(result) == {key}
    assert progress.advanced == 0  # copied in place by the server: no byte sent again
    after = s3.get_object(Bucket=bucket, Key=key)
    assert after["CacheControl"] == IMMUTABLE and after["Metadata"] == head["Metadata"]
    assert hashlib.sha256(after["Body"].read()).hexdigest() == head["Metadata"]["sha256"]


def test_a_failed_publish_leaves_the_previous_manifest(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    root = tmp_path / "archive"
    request = make_request(Storage(local=root))
    publish(request, RecordingProgress())
    forum = root / "sort-2025"
    old_manifest = (forum / "forum.json").read_bytes()
    srt = request.transcripts[1].files.srt
    srt.write_text(srt.read_text(encoding="utf-8").replace("협력이", "연대가"), encoding="utf-8")
    # The forum page, the last object before the manifest, cannot be written.
    (forum / "index.html").unlink()
    (forum / "index.html").mkdir()

    with pytest.raises(PublishError, match=r"index\.html"):
        publish(request, RecordingProgress())

    assert "연대가" in (forum / "sessions" / "02-panel" / "02-panel.ko.srt").read_text("utf-8")
    assert (forum / "forum.json").read_bytes() == old_manifest
    assert not list(forum.rglob("*.part"))
