"""Publish against real storage: moto's S3 server over HTTP on 127.0.0.1, and a local folder.

The inputs are small but real: a one-second H.264/AAC clip made by ffmpeg and
transcript files with Korean text. Re-runs are checked by counting the bytes
that went through the upload task and by bucket versioning, which records a
new version for every put, even of identical bytes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import boto3
import pytest

from pipeline.config import S3Storage, Storage
from pipeline.errors import PublishError
from pipeline.models import (
    Clip,
    ForumSummary,
    MaterialFile,
    PublishResult,
    Segment,
    SessionPlan,
    SpeakerRef,
    Transcript,
    TranscriptFiles,
)
from pipeline.stages.publish import PublishRequest, publish
from tests.progress_recorder import RecordingProgress

FORUM = ForumSummary(id="sort-2025", title="2025 공공부문 사회적가치 포럼",
                     date="2025-11-20", organiser="사회적가치연구원", language="ko")
SESSIONS = [
    SessionPlan(number=1, id="opening", title="개회사", start=0.0, end=1.0,
                speakers=(SpeakerRef(name="김민지", organisation="행정안전부"),)),
    SessionPlan(number=2, id="panel", title="패널 토론: <사회적 가치> & 공공기관",
                start=1.0, end=2.0, speakers=(SpeakerRef(name="이준호"),)),
]
SEGMENTS = [
    (Segment(start=0.0, end=0.5, text="안녕하십니까, 포럼을 시작하겠습니다."),
     Segment(start=0.5, end=1.0, text="사회적 가치 측정에 대해 말씀드리겠습니다.")),
    (Segment(start=0.0, end=0.4, text="공공기관의 성과 평가는 어떻게 바뀌어야 할까요?"),
     Segment(start=0.4, end=1.0, text="지역 사회와의 협력이 중요합니다.")),
]
MATERIAL = "자료집.pdf"


def expected_objects(root: str) -> dict[str, str]:
    """Every key publish must write for the two sessions, with its Content-Type."""
    objects = {
        f"{root}/index.html": "text/html; charset=utf-8",
        f"{root}/forum.json": "application/json",
        f"{root}/materials/{MATERIAL}": "application/pdf",
    }
    for plan in SESSIONS:
        folder = f"{root}/sessions/{plan.slug}/{plan.slug}"
        objects |= {
            f"{folder}.mp4": "video/mp4",
            f"{folder}.ko.vtt": "text/vtt; charset=utf-8",
            f"{folder}.ko.srt": "application/x-subrip; charset=utf-8",
            f"{folder}.json": "application/json",
            f"{folder}.txt": "text/plain; charset=utf-8",
            f"{root}/sessions/{plan.slug}/index.html": "text/html; charset=utf-8",
        }
    return objects


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=d=1:s=160x120", "-f", "lavfi", "-i", "sine=d=1",
         "-c:v", "libx264", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )
    return path


def _clock(seconds: float) -> str:
    return f"00:00:{seconds:06.3f}"


def write_transcript(folder: Path, plan: SessionPlan, segments: tuple[Segment, ...]) -> Transcript:
    stem = folder / plan.slug
    files = TranscriptFiles(vtt=stem.with_suffix(".ko.vtt"), srt=stem.with_suffix(".ko.srt"),
                            json_path=stem.with_suffix(".json"), txt=stem.with_suffix(".txt"))
    cues = [f"{_clock(s.start)} --> {_clock(s.end)}\n{s.text}\n" for s in segments]
    files.vtt.write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")
    files.srt.write_text("\n".join(f"{n}\n{cue.replace('.', ',', 2)}"
                                   for n, cue in enumerate(cues, start=1)), encoding="utf-8")
    files.json_path.write_text(json.dumps([s.model_dump() for s in segments], ensure_ascii=False),
                               encoding="utf-8")
    files.txt.write_text("\n".join(s.text for s in segments) + "\n", encoding="utf-8")
    return Transcript(session=plan, language="ko", files=files, segments=segments, model="base")


@pytest.fixture
def make_request(tmp_path: Path, clip_file: Path) -> Callable[[Storage], PublishRequest]:
    """Real input files for two sessions and one material, in this test's own folder."""
    work = tmp_path / "work"
    work.mkdir()
    clips, transcripts = [], []
    for plan, segments in zip(SESSIONS, SEGMENTS, strict=True):
        clip_path = shutil.copy(clip_file, work / f"{plan.slug}.mp4")
        clips.append(Clip(session=plan, path=Path(clip_path), duration=1.0))
        transcripts.append(write_transcript(work, plan, segments))
    material = work / MATERIAL
    material.write_bytes(b"%PDF-1.4\n% 2025 \xec\x9e\x90\xeb\xa3\x8c\xec\xa7\x91\n%%EOF\n")
    materials = [MaterialFile(path=material, kind="proceedings", title="포럼 자료집")]

    def build(storage: Storage) -> PublishRequest:
        return PublishRequest(forum=FORUM, clips=clips, transcripts=transcripts,
                              materials=materials, storage=storage)

    return build


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A client for the moto server, with credentials only from these variables."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"archive-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    # Versioning makes every put visible, even one of identical bytes.
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def s3_storage(endpoint: str, bucket: str, **extra: Any) -> Storage:
    return Storage(s3=S3Storage(bucket=bucket, endpoint_url=endpoint, region="us-east-1",
                                addressing_style="path", **extra))


def state(s3: Any, bucket: str) -> dict[str, tuple[Any, ...]]:
    """Per key: every version id, plus the latest one's ETag and LastModified."""
    versions: dict[str, list[str]] = {}
    for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        versions.setdefault(version["Key"], []).append(version["VersionId"])
    heads = {key: s3.head_object(Bucket=bucket, Key=key) for key in versions}
    return {key: (sorted(ids), heads[key]["ETag"], heads[key]["LastModified"])
            for key, ids in versions.items()}


def uploaded(result: PublishResult) -> set[str]:
    return {obj.key for obj in result.objects if obj.uploaded}


def test_s3_publish_writes_every_key_with_its_content_type(
    s3_endpoint: str, s3: Any, bucket: str, make_request: Callable[[Storage], PublishRequest],
) -> None:
    progress = RecordingProgress()
    result = publish(make_request(s3_storage(s3_endpoint, bucket, prefix="/archive/2025/")),
                     progress)

    expected = expected_objects("archive/2025/sort-2025")
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == set(expected)
    for key, content_type in expected.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["ContentType"] == content_type, key
        assert got["Metadata"]["sha256"] == hashlib.sha256(got["Body"].read()).hexdigest()
    assert uploaded(result) == set(expected)
    total = sum(obj.size for obj in result.objects)
    assert progress.tasks == [("upload", total)]
    assert progress.advanced == total

    assert result.forum_url == f"{s3_endpoint}/{bucket}/archive/2025/sort-2025/index.html"
    assert [s.vtt_url for s in result.sessions] == [
        f"{s3_endpoint}/{bucket}/archive/2025/sort-2025/sessions/{p.slug}/{p.slug}.ko.vtt"
        for p in SESSIONS
    ]
    material_url = next(o.url for o in result.objects if o.key.endswith(MATERIAL))
    assert material_url.endswith("/materials/" + quote(MATERIAL))
    # An archive bucket is public to read; then the returned URLs open in a browser.
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
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
    assert second.model_dump(exclude={"objects"}) == first.model_dump(exclude={"objects"})


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
    assert uploaded(result) == {key}
    assert progress.advanced == srt.stat().st_size
    after = state(s3, bucket)
    assert len(after[key][0]) == 2
    assert {k: v for k, v in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key}
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
    storage = s3_storage(s3_endpoint, bucket, public_base_url="https://media.example.org/sort/")
    result = publish(make_request(storage), RecordingProgress())

    assert result.forum_url == "https://media.example.org/sort/sort-2025/index.html"
    assert {o.url for o in result.objects if o.key.endswith(".pdf")} == {
        f"https://media.example.org/sort/sort-2025/materials/{quote(MATERIAL)}"}


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
    assert set(before) == set(expected_objects("sort-2025"))
    assert uploaded(first) == set(before)
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
    # The forum page and manifest show the material's size and checksum, so they follow.
    assert uploaded(third) == {f"sort-2025/materials/{MATERIAL}", "sort-2025/forum.json",
                               "sort-2025/index.html"}
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


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


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
    assert [s["src"] for s in tags.all("source")] == ["02-panel.mp4"]
    [track] = tags.all("track")
    assert track["kind"] == "subtitles" and track["srclang"] == "ko"
    assert track["src"] == "02-panel.ko.vtt" and "default" in track
    seeks = [a["href"] for a in tags.all("a") if (a["href"] or "").startswith("#t=")]
    assert seeks == ["#t=0", "#t=0.4"]
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
            assert (page.parent / unquote(link)).resolve().is_file(), (page, link)


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


def test_two_materials_with_one_name_are_refused(
    tmp_path: Path, make_request: Callable[[Storage], PublishRequest],
) -> None:
    full = make_request(Storage(local=tmp_path / "archive"))
    other = tmp_path / "other" / MATERIAL
    other.parent.mkdir()
    other.write_bytes(b"%PDF-1.4\n%%EOF\n")
    request = PublishRequest(forum=full.forum, clips=full.clips, transcripts=full.transcripts,
                             materials=[*full.materials, MaterialFile(path=other, kind="other")],
                             storage=full.storage)

    with pytest.raises(PublishError, match=f"both named '{MATERIAL}'"):
        publish(request, RecordingProgress())
