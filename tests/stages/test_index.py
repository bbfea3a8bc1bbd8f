"""The catalogue and Korean search, against real SQLite files in tmp_path."""

from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path

import pytest

from pipeline.errors import IndexError_
from pipeline.models import (
    ForumSummary,
    PublishedSession,
    PublishResult,
    Segment,
    SessionPlan,
    SpeakerRef,
    Transcript,
    TranscriptFiles,
)
from pipeline.settings import Settings
from pipeline.stages.index import (
    IndexRequest,
    SearchHit,
    index_forum,
    make_snippet,
    search,
)
from tests.progress_recorder import RecordingProgress

FORUM_2024 = ForumSummary(
    id="sort-2024",
    title="2024 공공기관 사회적가치 포럼",
    date="2024-11-20",
    organiser="SORT",
    language="ko",
)
FORUM_2025 = ForumSummary(
    id="sort-2025",
    title="2025 공공기관 사회적가치 포럼",
    date="2025-11-19",
    organiser="SORT",
    language="ko",
)


def transcript(
    tmp_path: Path,
    number: int,
    session_id: str,
    title: str,
    segments: list[tuple[float, float, str]],
) -> Transcript:
    stem = tmp_path / f"{number:02d}-{session_id}"
    return Transcript(
        session=SessionPlan(
            number=number,
            id=session_id,
            title=title,
            start=600.0 * number,
            end=600.0 * number + 540.0,
            speakers=(SpeakerRef(name="김민지", organisation="한국사회가치연구원"),),
        ),
        language="ko",
        files=TranscriptFiles(
            vtt=stem.with_suffix(".vtt"),
            srt=stem.with_suffix(".srt"),
            json_path=stem.with_suffix(".json"),
            txt=stem.with_suffix(".txt"),
        ),
        segments=tuple(Segment(start=s, end=e, text=t) for s, e, t in segments),
        model="base",
    )


def published(forum: ForumSummary, *session_ids: str) -> PublishResult:
    base = f"https://archive.example.org/{forum.id}"
    return PublishResult(
        objects=(),
        sessions=tuple(
            PublishedSession(
                session_id=sid,
                slug=f"{n:02d}-{sid}",
                clip_url=f"{base}/{n:02d}-{sid}.mp4",
                page_url=f"{base}/{n:02d}-{sid}/",
            )
            for n, sid in enumerate(session_ids, start=1)
        ),
        forum_url=f"{base}/",
    )


def forum_2024_transcripts(tmp_path: Path) -> list[Transcript]:
    return [
        transcript(
            tmp_path,
            1,
            "keynote",
            "기조연설: 사회적 기업의 오늘",
            [
                (3.2, 7.9, "안녕하십니까, 오늘 포럼에 와 주셔서 감사합니다."),
                (12.6, 18.4, "사회적 기업에 대해서 사람들한테 얘기를 해보면"),
                (18.4, 22.0, "돈을 많이 벌 수도 있는 모델도 있고"),
            ],
        ),
        transcript(
            tmp_path,
            2,
            "panel",
            "토론: 성과를 어떻게 잴 것인가",
            [
                (5.0, 9.5, "사회적가치 성과 측정 및 지표"),
                (40.25, 44.0, "사회적인 책임과 ESG 경영은 다릅니다."),
                (50.0, 55.0, 'ESG "평가" 점수가 100% 반영되는 것은 아닙니다.'),
            ],
        ),
    ]


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "catalogue.sqlite"
    index_forum(
        IndexRequest(
            forum=FORUM_2024,
            transcripts=forum_2024_transcripts(tmp_path),
            published=published(FORUM_2024, "keynote", "panel"),
            catalogue=path,
        ),
        RecordingProgress(),
    )
    return path


def texts(hits: list[SearchHit]) -> list[str]:
    return [hit.text for hit in hits]


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_substring_of_an_agglutinated_word_matches(catalogue: Path) -> None:
    assert texts(search(catalogue, "사회적")) == [
        "사회적 기업에 대해서 사람들한테 얘기를 해보면",
        "사회적가치 성과 측정 및 지표",
        "사회적인 책임과 ESG 경영은 다릅니다.",
    ]


def test_two_character_terms_fall_back_to_a_scan(catalogue: Path) -> None:
    assert texts(search(catalogue, "가치")) == ["사회적가치 성과 측정 및 지표"]
    assert texts(search(catalogue, "모델")) == ["돈을 많이 벌 수도 있는 모델도 있고"]
    assert texts(search(catalogue, "돈")) == ["돈을 많이 벌 수도 있는 모델도 있고"]


def test_terms_are_anded(catalogue: Path) -> None:
    assert texts(search(catalogue, "사회적 기업")) == [
        "사회적 기업에 대해서 사람들한테 얘기를 해보면"
    ]
    assert texts(search(catalogue, "측정 지표 사회적가치")) == ["사회적가치 성과 측정 및 지표"]
    assert search(catalogue, "사회적 모델") == []


def test_word_spacing_does_not_matter(catalogue: Path) -> None:
    hits = search(catalogue, "사회적기업")
    assert texts(hits) == ["사회적 기업에 대해서 사람들한테 얘기를 해보면"]
    assert hits[0].snippet == "[사회적 기업]에 대해서 사람들한테 얘기를 해보면"
    assert texts(search(catalogue, "사회적 가치")) == ["사회적가치 성과 측정 및 지표"]


def test_latin_text_matches_in_any_case(catalogue: Path) -> None:
    assert len(search(catalogue, "esg")) == 2


def test_hit_names_forum_session_time_and_opens_at_the_second(catalogue: Path) -> None:
    (hit,) = search(catalogue, "얘기를")
    assert (hit.forum_id, hit.forum_title, hit.forum_date) == (
        "sort-2024",
        "2024 공공기관 사회적가치 포럼",
        "2024-11-20",
    )
    assert (hit.session_id, hit.session_slug, hit.session_title) == (
        "keynote",
        "01-keynote",
        "기조연설: 사회적 기업의 오늘",
    )
    assert (hit.start, hit.end) == (12.6, 18.4)  # relative to the clip, not the recording
    assert hit.clip_url == "https://archive.example.org/sort-2024/01-keynote.mp4"
    assert hit.open_url == "https://archive.example.org/sort-2024/01-keynote/#t=12"
    assert hit.snippet == "사회적 기업에 대해서 사람들한테 [얘기를] 해보면"
    (later,) = search(catalogue, "책임과")
    assert later.open_url == "https://archive.example.org/sort-2024/02-panel/#t=40"


def test_open_url_falls_back_to_the_clip_and_is_none_unpublished(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    request = IndexRequest(FORUM_2024, forum_2024_transcripts(tmp_path), None, path)
    index_forum(request, RecordingProgress())
    (hit,) = search(path, "지표")
    assert (hit.clip_url, hit.page_url, hit.open_url) == (None, None, None)
    clip_only = SearchHit(**{**hit.__dict__, "clip_url": "https://x.org/a.mp4"})
    assert clip_only.open_url == "https://x.org/a.mp4#t=5"


def test_reindexing_a_forum_replaces_its_rows(tmp_path: Path, catalogue: Path) -> None:
    before = {t: count(catalogue, t) for t in ("forums", "sessions", "segments", "segments_fts")}
    assert before == {"forums": 1, "sessions": 2, "segments": 6, "segments_fts": 6}
    request = IndexRequest(
        FORUM_2024,
        forum_2024_transcripts(tmp_path),
        published(FORUM_2024, "keynote", "panel"),
        catalogue,
    )
    result = index_forum(request, RecordingProgress())
    assert result.segments == 6
    assert {t: count(catalogue, t) for t in before} == before
    assert len(search(catalogue, "사회적가치")) == 1

    corrected = forum_2024_transcripts(tmp_path)[:1]
    index_forum(IndexRequest(FORUM_2024, corrected, None, catalogue), RecordingProgress())
    assert search(catalogue, "지표") == []
    assert count(catalogue, "segments_fts") == 3


def test_forums_coexist_newest_first_and_filter(tmp_path: Path, catalogue: Path) -> None:
    later = [
        transcript(tmp_path, 2, "closing", "폐회", [(1.0, 4.0, "사회적가치 확산을 위한 제언")]),
        transcript(
            tmp_path, 1, "opening", "개회", [(9.0, 12.0, "올해도 사회적가치를 이야기합니다")]
        ),
    ]
    index_forum(
        IndexRequest(FORUM_2025, later, published(FORUM_2025, "opening", "closing"), catalogue),
        RecordingProgress(),
    )
    hits = search(catalogue, "사회적가치")
    assert [(h.forum_id, h.session_id) for h in hits] == [
        ("sort-2025", "opening"),
        ("sort-2025", "closing"),
        ("sort-2024", "panel"),
    ]
    assert [h.session_id for h in search(catalogue, "사회적가치", forum_id="sort-2024")] == [
        "panel"
    ]
    assert search(catalogue, "사회적가치", forum_id="no-such-forum") == []
    assert len(search(catalogue, "사회적", limit=2)) == 2
    # Re-indexing one forum leaves the other alone.
    index_forum(IndexRequest(FORUM_2025, [], None, catalogue), RecordingProgress())
    assert [h.forum_id for h in search(catalogue, "사회적가치")] == ["sort-2024"]


@pytest.mark.parametrize(
    "query",
    [
        'AND "',
        "사회*",
        '사회 "',
        "NEAR(",
        "사회 OR",
        "-",
        "^",
        "(",
        "{a}:",
        "'; DROP TABLE forums; --",
    ],
)
def test_query_syntax_is_literal_text(catalogue: Path, query: str) -> None:
    assert search(catalogue, query) == []
    assert count(catalogue, "forums") == 1


def test_special_characters_are_searched_literally(catalogue: Path) -> None:
    expected = ['ESG "평가" 점수가 100% 반영되는 것은 아닙니다.']
    assert texts(search(catalogue, "%")) == expected  # not a LIKE wildcard
    assert texts(search(catalogue, "100%")) == expected
    assert texts(search(catalogue, '"평가"')) == expected
    assert texts(search(catalogue, '"')) == expected
    assert search(catalogue, "_") == []


def test_nfd_text_and_queries_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    nfd = unicodedata.normalize("NFD", "사회적가치 성과 측정 및 지표")
    assert nfd != "사회적가치 성과 측정 및 지표"
    index_forum(
        IndexRequest(FORUM_2024, [transcript(tmp_path, 1, "a", "가", [(0, 1, nfd)])], None, path),
        RecordingProgress(),
    )
    assert texts(search(path, "사회적가치")) == ["사회적가치 성과 측정 및 지표"]
    assert len(search(path, "가치")) == 1
    assert len(search(path, unicodedata.normalize("NFD", "측정"))) == 1


def test_missing_catalogue_is_one_line_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "catalogue.sqlite"
    with pytest.raises(IndexError_) as caught:
        search(path, "사회적")
    line = caught.value.one_line()
    assert "\n" not in line
    assert str(path) in line
    assert "SORT_ARCHIVE_CATALOGUE" in line
    assert caught.value.exit_code == 7
    assert not path.exists()  # searching does not create an empty catalogue


def test_empty_query_is_an_error(catalogue: Path) -> None:
    for query in ("", "   ", "\u3000"):
        with pytest.raises(IndexError_, match="empty"):
            search(catalogue, query)


def test_corrupt_or_foreign_file_is_an_index_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexError_, match=r"garbage\.sqlite") as caught:
        search(garbage, "사회적")
    assert "\n" not in caught.value.one_line()
    with pytest.raises(IndexError_):
        index_forum(IndexRequest(FORUM_2024, [], None, garbage), RecordingProgress())

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(IndexError_, match="not a sort-archive catalogue"):
        index_forum(IndexRequest(FORUM_2024, [], None, foreign), RecordingProgress())
    with pytest.raises(IndexError_, match="not a sort-archive catalogue"):
        search(foreign, "사회적")


def test_catalogue_is_versioned_wal_and_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "catalogue.sqlite"
    progress = RecordingProgress()
    transcripts = forum_2024_transcripts(tmp_path)
    transcripts.append(transcript(tmp_path, 3, "blank", "빈", [(0, 1, "  "), (1, 2, "네.")]))
    result = index_forum(IndexRequest(FORUM_2024, transcripts, None, path), progress)
    assert (result.catalogue, result.forum_id, result.segments) == (path, "sort-2024", 7)
    assert progress.tasks == [("index", 7)]
    assert progress.advanced == 7
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        speakers = db.execute("SELECT speakers FROM sessions WHERE session_id='keynote'")
        assert speakers.fetchone()[0] == "김민지 (한국사회가치연구원)"


def test_duplicate_sessions_are_refused(tmp_path: Path) -> None:
    twice = [transcript(tmp_path, 1, "a", "가", []), transcript(tmp_path, 2, "a", "나", [])]
    with pytest.raises(IndexError_, match="more than one transcript"):
        index_forum(
            IndexRequest(FORUM_2024, twice, None, tmp_path / "c.sqlite"), RecordingProgress()
        )


def test_default_catalogue_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SORT_ARCHIVE_CATALOGUE", str(tmp_path / "mine.sqlite"))
    assert Settings.from_environ().catalogue == tmp_path / "mine.sqlite"
    monkeypatch.delenv("SORT_ARCHIVE_CATALOGUE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert (Settings.from_environ().catalogue
            == tmp_path / ".local/share/sort-archive/catalogue.sqlite")


def test_snippet_trims_long_text_around_the_match() -> None:
    text = "가" * 200 + "사회적가치" + "나" * 200
    snippet = make_snippet(text, ["사회적가치"])
    assert snippet.startswith("…" + "가" * 30 + "[사회적가치]")
    assert snippet.endswith("…")
    assert make_snippet("짧은 문장", ["없음"]) == "짧은 문장"


def test_search_reads_while_another_run_is_writing(catalogue: Path) -> None:
    writer = sqlite3.connect(catalogue, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM segments_fts")
        # WAL: the reader sees the last committed state and is not blocked.
        assert len(search(catalogue, "사회적")) == 3
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_newer_schema_is_refused(catalogue: Path) -> None:
    with sqlite3.connect(catalogue) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(IndexError_, match="newer"):
        search(catalogue, "사회적")
