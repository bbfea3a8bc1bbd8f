"""Fixtures for publishing and verifying: real input files, the moto S3 server, buckets.

The inputs are small but real: a one-second H.264/AAC clip made by ffmpeg and
transcript files with Korean text. Registered for every test module in
tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipeline.config.forum import S3Storage, Storage
from pipeline.results import (
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
from pipeline.stages.publish import PublishRequest

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
        f"{root}/search.html": "text/html; charset=utf-8",
        f"{root}/search-index.json": "application/json",
        f"{root}/forum.json": "application/json",
        f"{root}/materials/{MATERIAL}": "application/pdf",
        f"{root}/materials.zip": "application/zip",
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


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]
