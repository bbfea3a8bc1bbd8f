"""A small published archive and its catalogue, for the web app and the search page tests.

Real all the way: 12-second counter videos (tests/recordings.py), transcript files, a
Korean PDF, published by the publish stage into a local folder and indexed by
the index stage (which writes through `pipeline.catalogue.write_forum`). Titles,
names and transcript lines carry markup that would set `window.__pwned` if any
page let it run.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config.forum import Storage
from pipeline.progress import LogProgress
from pipeline.results import Clip, ForumSummary, MaterialFile, Segment, SessionPlan, SpeakerRef
from pipeline.stages.index import IndexRequest, index_forum
from pipeline.stages.publish import PublishRequest, publish
from tests.archive_fixtures import write_transcript
from tests.catalogue.builders import make_pdf
from tests.recordings import counter_video

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
CLIP_SECONDS = 12.0

SCRIPT_TITLE = "<script>window.__pwned = 'title'</script>"
SCRIPT_LINE = "<script>window.__pwned = 'line'</script>"
IMG_NAME = '"><img src=x onerror="window.__pwned = \'speaker\'">'
FORUM = ForumSummary(id="web-2025", title="2025 포럼 </title><script>window.__pwned = 'forum'"
                     "</script>", date="2025-11-20", organiser="사회적가치연구원", language="ko")
SESSIONS = [
    SessionPlan(number=1, id="opening", title=f"개회사 {SCRIPT_TITLE}", start=0.0,
                end=CLIP_SECONDS,
                speakers=(SpeakerRef(name=f"김민지{IMG_NAME}", organisation="행정안전부"),)),
    SessionPlan(number=2, id="panel", title="패널 토론", start=CLIP_SECONDS,
                end=2 * CLIP_SECONDS, speakers=(SpeakerRef(name="윤태범"),)),
]
SEGMENTS = [
    (Segment(start=0.0, end=3.0, text="안녕하십니까, 포럼을 시작하겠습니다."),
     Segment(start=3.0, end=6.5, text="오늘은 공공기관의 사회적 가치를 이야기합니다."),
     Segment(start=7.4, end=11.0, text=f"지역 협력 {SCRIPT_LINE} 사례를 보겠습니다.")),
    (Segment(start=0.5, end=4.0, text="ESG 평가는 어떻게 바뀌어야 할까요?"),
     Segment(start=6.2, end=10.0, text="한국가스공사의 성과 측정 지표를 소개합니다.")),
]
MEASURE = "측정 지표"  # said once, in the panel at 6.2 s
MATERIAL_PAGE = 2  # 선언문 is on this page of the material
# Materials a forum might publish that a browser would run as documents, each with a
# script that sets `window.__pwned`; one is named as our pages are, to be judged by place.
SVG_MATERIAL = "diagram.svg"
HTML_MATERIAL = "index.html"
_MARKUP = {
    SVG_MATERIAL: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                  "<script>window.__pwned = 'svg'</script></svg>\n",
    HTML_MATERIAL: "<!doctype html><title>자료</title><script>window.__pwned = 'html'</script>\n",
}


@dataclass(frozen=True)
class WebArchive:
    folder: Path  # the local archive folder (storage.local)
    catalogue: Path

    @property
    def forum(self) -> Path:
        return self.folder / FORUM.id


def build_archive(root: Path) -> WebArchive:
    """Publish and index the two sessions and the material; returns where they are."""
    work = root / "work"
    work.mkdir(parents=True)
    video = counter_video(work / "counter.mp4", CLIP_SECONDS, [440.0])
    clips, transcripts = [], []
    for plan, segments in zip(SESSIONS, SEGMENTS, strict=True):
        path = Path(shutil.copy(video, work / f"{plan.slug}.mp4"))
        clips.append(Clip(session=plan, path=path, duration=CLIP_SECONDS))
        transcripts.append(write_transcript(work, plan, segments))
    pdf = make_pdf(work / "자료집.pdf",
                   ["포럼 자료집 차례", "여섯 개 기관이 공동 선언문을 채택하였다."])
    materials = [MaterialFile(path=pdf, kind="proceedings", title="포럼 자료집")]
    for name, text in _MARKUP.items():
        (work / "markup").mkdir(exist_ok=True)
        (work / "markup" / name).write_text(text, encoding="utf-8")
        materials.append(MaterialFile(path=work / "markup" / name, kind="other", title=None))
    folder, catalogue = root / "archive", root / "catalogue.sqlite"
    progress = LogProgress()
    published = publish(PublishRequest(forum=FORUM, clips=clips, transcripts=transcripts,
                                       materials=materials, storage=Storage(local=folder)),
                        progress)
    index_forum(IndexRequest(forum=FORUM, transcripts=transcripts, published=published,
                             catalogue=catalogue, materials=materials), progress)
    return WebArchive(folder, catalogue)


def launch_chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (never a downloaded browser), as a fixture body."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "run `make setup` to install Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def video_time(page: Any) -> float:
    """The session page's player position once it has seeked (the page seeks on load).

    Polled with `evaluate`: `wait_for_function` evaluates a string in the page, which
    the app's Content-Security-Policy (no 'unsafe-eval') refuses."""
    return float(wait_for(page, "(() => { const v = document.getElementById('player'); "
                                "return v.readyState >= 1 && !v.seeking && v.currentTime > 0 "
                                "? v.currentTime : null; })()"))


def wait_for(page: Any, expression: str, timeout: float = 20.0) -> Any:
    """The value of `expression` in `page` once it is truthy (not null, false, 0 or "")."""
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(expression)):
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s: {expression}"
        page.wait_for_timeout(100)
    return value


def pwned(page: Any) -> Any:
    """What an injected script would have set; None when none ran."""
    return page.evaluate("window.__pwned === undefined ? null : String(window.__pwned)")


def served_at(http_root: tuple[Path, str], name: str, folder: Path) -> str:
    """`folder` served by the session's HTTP server (conftest's `http_root`) as `name`:
    its base URL. Over HTTP, as from a bucket: Chromium loads subtitles only there."""
    root, base = http_root
    link = root / name
    if not link.exists():
        link.symlink_to(folder, target_is_directory=True)
    return f"{base}/{name}"
