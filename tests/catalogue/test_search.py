"""Search: Korean morphology, ranking, filters, links, snippets, facets, against real files."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import pytest

from pipeline.catalogue import (
    Facets,
    ForumFacet,
    ForumRecord,
    SearchHit,
    SearchQuery,
    facets,
    search,
    write_forum,
)
from pipeline.catalogue.snippets import make_snippet
from pipeline.errors import CatalogueError
from tests.catalogue.builders import BASE, FORUM_2024, FORUM_2025, forum_2024, session


def texts(hits: list[SearchHit]) -> list[str]:
    return [hit.text for hit in hits]


def find(path: Path, text: str, **filters: object) -> list[SearchHit]:
    return search(path, SearchQuery(text, **filters)).hits  # type: ignore[arg-type]


def one_session(path: Path, *segments: str, title: str = "세션") -> Path:
    write_forum(path, ForumRecord(forum=FORUM_2025, sessions=(session(
        FORUM_2025, 1, "s", title, [(float(i), i + 1.0, t) for i, t in enumerate(segments)],
        speakers=()),)))
    return path


@pytest.mark.parametrize(("query", "spoken"), [
    ("가치", "사회적가치를 높이는 일"),
    ("만들다", "함께 만들어 갑시다"),
    ("만들다", "우리가 만든 제도"),
    ("선언문 채택", "여섯 기관이 선언문을 채택했습니다"),
    ("사회적 가치", "사회적가치를 높이는 일"),
    ("사회적가치", "사회적 가치를 높이는 일"),
    ("채택하다", "여섯 기관이 선언문을 채택했습니다"),
])
def test_korean_words_find_their_inflected_and_compound_forms(tmp_path: Path, query: str,
                                                              spoken: str) -> None:
    path = one_session(tmp_path / "c.sqlite", spoken, "전혀 다른 이야기입니다")
    hits = find(path, query)
    assert texts(hits) == [spoken]
    assert hits[0].match == "phrase"


@pytest.mark.parametrize("query", ["을", "은 는", "의 를", "에서는", ".", "!!", "?", "~",
                                   "을, 를."])
def test_only_particles_or_punctuation_find_nothing_without_error(catalogue: Path,
                                                                   query: str) -> None:
    results = search(catalogue, SearchQuery(query))
    assert results.hits == [] and results.terms == []
    assert results.as_json() == {"query": query, "hits": []}


@pytest.mark.parametrize("query", ["", "   ", "\u3000"])
def test_an_empty_query_is_an_error(query: str) -> None:
    with pytest.raises(CatalogueError, match="empty"):
        SearchQuery(query)


def test_limit_and_offset_are_checked() -> None:
    with pytest.raises(CatalogueError, match="limit must be 1 or more"):
        SearchQuery("가치", limit=0)
    with pytest.raises(CatalogueError, match="offset must be 0 or more"):
        SearchQuery("가치", offset=-1)


def test_an_exact_phrase_ranks_above_scattered_terms(tmp_path: Path) -> None:
    path = one_session(tmp_path / "c.sqlite",
                       "채택은 나중에 하고 선언문부터 읽겠습니다",  # both words, apart
                       "오늘 선언문을 채택했습니다",  # the phrase
                       "선언문은 없습니다")  # one word only: no hit
    hits = find(path, "선언문 채택")
    assert texts(hits) == ["오늘 선언문을 채택했습니다", "채택은 나중에 하고 선언문부터 읽겠습니다"]
    assert [h.match for h in hits] == ["phrase", "terms"]


def test_session_titles_and_speakers_count(catalogue: Path) -> None:
    # 윤태범 is never spoken: his name as speaker joins the spoken word.
    hits = find(catalogue, "윤태범 측정")
    assert texts(hits) == ["사회적가치 성과 측정 및 지표"]
    assert hits[0].match == "terms"
    # A match in the title (or speakers) alone gives one hit per session: its start.
    (panel,) = find(catalogue, "윤태범")
    assert (panel.session_id, panel.start, panel.match) == ("panel", 5.0, "title")
    (keynote,) = find(catalogue, "기조연설")
    assert (keynote.session_id, keynote.start, keynote.match) == ("keynote", 3.2, "title")


def test_a_word_in_the_title_ranks_its_session_first(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    write_forum(path, ForumRecord(forum=FORUM_2025, sessions=(
        session(FORUM_2025, 1, "a", "개회", [(0, 1, "성과 지표를 봅시다")]),
        session(FORUM_2025, 2, "b", "성과 지표의 측정", [(0, 1, "성과 지표를 봅시다")]),
    )))
    assert [h.session_id for h in find(path, "성과 지표")] == ["b", "a"]


def test_substring_hits_come_after_the_morphological_ones(tmp_path: Path) -> None:
    path = one_session(tmp_path / "c.sqlite", "한국가스공사의 사례", "가스 공사 현장",
                       "톨스토이를 읽었습니다")
    # Kiwi reads 한국가스공사 as one name, so only the substring index finds 공사 in it.
    hits = find(path, "공사")
    assert texts(hits) == ["가스 공사 현장", "한국가스공사의 사례"]
    assert [h.match for h in hits] == ["phrase", "substring"]
    assert hits[1].snippet == "한국가스[공사]의 사례"
    # Typed as one word, 가스공사 is one name to Kiwi too: it is found inside the written
    # word 한국가스공사의, but not across the space of 가스 공사 (the vocabulary holds
    # written words, not the text without its spaces).
    assert [(h.text, h.match) for h in find(path, "가스공사")] == [
        ("한국가스공사의 사례", "substring")]
    assert [h.text for h in find(path, "국가스")] == ["한국가스공사의 사례"]
    assert find(path, "의사") == find(path, "국가스공사의사") == []  # across a space
    (tolstoy,) = find(path, "톨스")  # the start of a name
    assert (tolstoy.match, tolstoy.snippet) == ("substring", "[톨스]토이를 읽었습니다")


def test_filters_by_forum_speaker_and_date(catalogue: Path) -> None:
    write_forum(catalogue, ForumRecord(forum=FORUM_2025, sessions=(
        session(FORUM_2025, 1, "opening", "개회", [(9.0, 12.0, "올해도 사회적가치를 이야기합니다")],
                speakers=(("이준호", None),)),)))
    everything = find(catalogue, "사회적가치")
    # The keynote's speaker works at 한국사회가치연구원: with 사회적 spoken, that counts.
    assert [(h.forum_id, h.session_id, h.match) for h in everything] == [
        ("sort-2025", "opening", "phrase"), ("sort-2024", "panel", "phrase"),
        ("sort-2024", "keynote", "terms"), ("sort-2024", "keynote", "title")]
    assert [h.forum_id for h in find(catalogue, "사회적가치", forum_id="sort-2024")] == [
        "sort-2024"] * 3
    assert find(catalogue, "사회적가치", forum_id="no-such-forum") == []
    # 이준호 speaks in both forums; 윤태범 only in 2024's panel.
    assert [h.forum_id for h in find(catalogue, "사회적가치", speaker="이준호")] == [
        "sort-2025", "sort-2024"]
    assert [h.session_id for h in find(catalogue, "사회적가치", speaker="윤태범")] == ["panel"]
    assert find(catalogue, "사회적가치", speaker="없는사람") == []
    assert [h.forum_id for h in find(catalogue, "사회적가치",
                                     since=datetime.date(2025, 1, 1))] == ["sort-2025"]
    assert len(find(catalogue, "사회적가치", since=datetime.date(2024, 11, 20))) == 4
    # A material page has no speaker: a speaker filter leaves it out.
    assert [h.kind for h in find(catalogue, "선언문")] == ["material"]
    assert find(catalogue, "선언문", speaker="김민지") == []


def test_limit_offset_and_more(catalogue: Path) -> None:
    every = find(catalogue, "사회적")
    assert len(every) == 4
    first = search(catalogue, SearchQuery("사회적", limit=3))
    assert (first.hits, first.more) == (every[:3], True)
    rest = search(catalogue, SearchQuery("사회적", limit=3, offset=3))
    assert (rest.hits, rest.more) == (every[3:], False)


def test_a_segment_hit_names_forum_session_speakers_time_and_link(catalogue: Path) -> None:
    (hit,) = find(catalogue, "얘기")
    assert (hit.kind, hit.forum_id, hit.forum_title, hit.forum_date) == (
        "segment", "sort-2024", "2024 공공기관 사회적가치 포럼", "2024-11-20")
    assert (hit.session_id, hit.session_slug, hit.session_title) == (
        "keynote", "01-keynote", "기조연설: 사회적 기업의 오늘")
    assert hit.speaker == "김민지 (한국사회가치연구원)"
    assert (hit.start, hit.end) == (12.6, 18.4)  # relative to the clip, not the recording
    assert hit.url == f"{BASE}/sort-2024/sessions/01-keynote/index.html#t=12"
    assert hit.snippet == "사회적 기업에 대해서 사람들한테 [얘기]를 해보면"
    assert (hit.material, hit.page) == (None, None)


def test_a_material_hit_opens_the_pdf_at_its_page(catalogue: Path) -> None:
    (hit,) = find(catalogue, "선언문 채택")
    assert (hit.kind, hit.material, hit.page, hit.start, hit.session_id) == (
        "material", "자료집.pdf", 4, None, None)
    assert hit.url == f"{BASE}/sort-2024/materials/자료집.pdf?v=abcdefabcdef#page=4"
    assert hit.snippet == "여섯 개 기관이 공동 [선언문]을 [채택]하였다."
    (by_title,) = find(catalogue, "자료집 차례")
    assert by_title.page == 1


def test_links_fall_back_to_the_clip_and_are_none_unpublished(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    record = forum_2024(published=False)
    write_forum(path, record)
    assert [(h.url, h.kind) for h in find(path, "지표")] == [(None, "segment")]
    assert find(path, "선언문")[0].url is None
    panel = dataclasses.replace(record.sessions[1], clip_url="https://x.org/a.mp4?v=1#old")
    write_forum(path, dataclasses.replace(record, sessions=(record.sessions[0], panel)))
    assert find(path, "지표")[0].url == "https://x.org/a.mp4?v=1#t=5"


def test_json_is_exactly_the_query_and_the_hits(catalogue: Path) -> None:
    results = search(catalogue, SearchQuery("얘기"))
    data = json.loads(json.dumps(results.as_json(), ensure_ascii=False))
    assert list(data) == ["query", "hits"]
    assert data["query"] == "얘기"
    (hit,) = data["hits"]
    assert {"kind", "forum_id", "forum_title", "forum_date", "session_id", "session_title",
            "speaker", "start", "end", "text", "snippet", "url", "material",
            "page"} <= set(hit)
    assert (hit["start"], hit["url"].rsplit("#", 1)[1]) == (12.6, "t=12")


@pytest.mark.parametrize("query", ['AND "', "사회*", '사회 "', "NEAR(", "사회 OR", "-", "^",
                                   "(", "{a}:", "body:", "'; DROP TABLE forums; --", "100%",
                                   "_", "\\"])
def test_query_syntax_is_never_interpreted(catalogue: Path, query: str) -> None:
    search(catalogue, SearchQuery(query))
    assert len(facets(catalogue).forums) == 1


def test_special_characters_are_searched_literally(catalogue: Path) -> None:
    expected = ['ESG "평가" 점수가 100% 반영되는 것은 아닙니다.']
    assert texts(find(catalogue, "100%")) == expected
    assert texts(find(catalogue, '"평가"')) == expected
    assert find(catalogue, "_") == []


def test_latin_text_matches_in_any_case(catalogue: Path) -> None:
    assert len(find(catalogue, "esg")) == 2
    assert find(catalogue, "esg") == find(catalogue, "ESG")


def test_facets_list_forums_newest_first_and_speakers(catalogue: Path) -> None:
    assert [f.id for f in facets(catalogue).forums] == ["sort-2024"]  # kept: see below
    write_forum(catalogue, ForumRecord(forum=FORUM_2025, sessions=(
        session(FORUM_2025, 1, "a", "개회", [], speakers=(("박서연", "기획재정부"),)),)))
    assert facets(catalogue) == Facets(
        forums=[ForumFacet("sort-2025", FORUM_2025.title, "2025-11-19"),
                ForumFacet("sort-2024", FORUM_2024.title, "2024-11-20")],
        speakers=["김민지", "박서연", "윤태범", "이준호"])  # at once, not after FACETS_FRESH_S


def test_snippet_trims_long_text_around_the_match() -> None:
    text = "가" * 200 + "사회적가치" + "나" * 200
    snippet = make_snippet(text, [(200, 205)])
    assert snippet.startswith("…" + "가" * 30 + "[사회적가치]")
    assert snippet.endswith("…")
    assert make_snippet("짧은 문장", []) == "짧은 문장"
