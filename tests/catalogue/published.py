"""A real published archive for the rebuild: clips, transcripts, a Korean PDF and a damaged
one, published by the publish stage (what `sort-archive index --rebuild` reads)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.config.forum import Storage
from pipeline.results import (
    Clip,
    ForumSummary,
    MaterialFile,
    Segment,
    SessionPlan,
    SpeakerRef,
    Transcript,
    TranscriptFiles,
)
from pipeline.stages.publish import PublishRequest
from pipeline.transcripts.formats import to_json, to_srt, to_text, to_vtt
from tests.catalogue.builders import make_pdf

PLANS = [
    SessionPlan(number=1, id="opening", title="개회사: 사회적 가치의 오늘", start=0.0, end=1.0,
                speakers=(SpeakerRef(name="김민지", organisation="행정안전부"),)),
    SessionPlan(number=2, id="declaration", title="공동 선언", start=1.0, end=2.0,
                speakers=(SpeakerRef(name="이준호"),)),
]
SEGMENTS = [
    (Segment(start=0.0, end=0.5, text="사회적가치를 함께 만들어 갑시다."),
     Segment(start=0.5, end=1.0, text="한국가스공사의 성과 측정 사례입니다.")),
    (Segment(start=0.2, end=0.9, text="여섯 기관이 선언문을 채택했습니다."),),
]


def transcript(folder: Path, plan: SessionPlan, segments: tuple[Segment, ...]) -> Transcript:
    stem = folder / plan.slug
    files = TranscriptFiles(vtt=stem.with_suffix(".ko.vtt"), srt=stem.with_suffix(".ko.srt"),
                            json_path=stem.with_suffix(".json"), txt=stem.with_suffix(".txt"))
    files.vtt.write_text(to_vtt(segments), encoding="utf-8")
    files.srt.write_text(to_srt(segments), encoding="utf-8")
    files.json_path.write_text(to_json(plan, "ko", "base", segments), encoding="utf-8")
    files.txt.write_text(to_text(segments), encoding="utf-8")
    return Transcript(session=plan, language="ko", files=files, segments=segments, model="base")


def publish_request(work_root: Path, clip_file: Path, forum: ForumSummary,
                    storage: Storage) -> PublishRequest:
    """A forum's real outputs, made under `work_root`/work, ready to publish to `storage`."""
    work = work_root / "work" / forum.id
    work.mkdir(parents=True, exist_ok=True)
    clips = [Clip(session=plan, path=Path(shutil.copy(clip_file, work / f"{plan.slug}.mp4")),
                  duration=1.0) for plan in PLANS]
    transcripts = [transcript(work, plan, segments)
                   for plan, segments in zip(PLANS, SEGMENTS, strict=True)]
    pdf = make_pdf(work / "자료집.pdf", ["차례", "", "공동 선언문 채택 절차를 설명한다."])
    damaged = work / "발표.pdf"
    damaged.write_bytes(b"%PDF-1.4\n damaged \n%%EOF\n")
    materials = [MaterialFile(path=pdf, kind="proceedings", title="포럼 자료집"),
                 MaterialFile(path=damaged, kind="slides")]
    return PublishRequest(forum=forum, clips=clips, transcripts=transcripts,
                          materials=materials, storage=storage)
