"""Korean analysis with the real Kiwi model: what text is indexed under, what queries mean."""

from __future__ import annotations

import time
import unicodedata

import pytest

from pipeline.catalogue.analyzer import KiwiAnalyzer, default_analyzer, fold


@pytest.fixture(scope="module")
def kiwi() -> KiwiAnalyzer:
    return default_analyzer()


def terms(kiwi: KiwiAnalyzer, text: str) -> list[str]:
    (found,) = kiwi.index_terms([text])
    return found


def test_particles_and_endings_are_dropped_and_predicates_lemmatised(kiwi: KiwiAnalyzer) -> None:
    assert terms(kiwi, "사회적가치를") == ["사회", "사회적", "가치"]
    assert terms(kiwi, "만들어") == ["만들다"]
    assert terms(kiwi, "만든") == ["만들다"]
    assert terms(kiwi, "선언문을 채택했습니다.") == ["선언문", "채택", "채택하다"]
    assert terms(kiwi, "채택되었다") == ["채택", "채택되다"]


def test_latin_words_are_case_folded_and_numbers_kept(kiwi: KiwiAnalyzer) -> None:
    assert terms(kiwi, "ESG 경영은 100% 다릅니다.") == ["esg", "경영", "100", "다르다"]


@pytest.mark.parametrize(("query", "text"), [
    ("가치", "사회적가치를"),
    ("만들다", "만들어"),
    ("만들다", "만든"),
    ("선언문 채택", "선언문을 채택했습니다"),
    ("사회적 가치", "사회적가치"),
    ("사회적가치", "사회적 가치"),
    ("채택하다", "채택했습니다"),
])
def test_query_terms_are_among_the_text_terms(kiwi: KiwiAnalyzer, query: str, text: str) -> None:
    wanted = kiwi.query_terms(query)
    assert wanted
    assert set(wanted) <= set(terms(kiwi, text))


def test_spacing_gives_the_same_terms_in_the_same_order(kiwi: KiwiAnalyzer) -> None:
    assert kiwi.query_terms("사회적 가치") == kiwi.query_terms("사회적가치")
    assert kiwi.query_terms("사회적가치") == terms(kiwi, "사회적가치를")


@pytest.mark.parametrize("query", ["을", "를", "은 는", "의 를", "에서는", "으로부터", "입니다",
                                   ".", "!!", "?!", "~~", "-", "을, 를.", "\u3000"])
def test_a_query_of_only_particles_or_punctuation_has_no_terms(kiwi: KiwiAnalyzer,
                                                               query: str) -> None:
    assert kiwi.query_terms(query) == []


def test_particles_are_dropped_from_a_query_but_its_words_kept(kiwi: KiwiAnalyzer) -> None:
    assert kiwi.query_terms("선언문 을 채택") == ["선언문", "채택"]
    # A word Kiwi does not know would merge with the test's host noun; it is kept.
    assert kiwi.query_terms("김민지") == ["김민지"]
    assert kiwi.query_terms("톨스") == ["톨스"]


def test_decomposed_hangul_is_normalised(kiwi: KiwiAnalyzer) -> None:
    nfd = unicodedata.normalize("NFD", "사회적가치를 만들어")
    assert nfd != "사회적가치를 만들어"
    assert terms(kiwi, nfd) == terms(kiwi, "사회적가치를 만들어")
    assert kiwi.query_terms(unicodedata.normalize("NFD", "가치")) == ["가치"]


def test_spans_point_at_the_words_in_the_text(kiwi: KiwiAnalyzer) -> None:
    text = "여섯 기관이 선언문을 채택했습니다."
    (spans,) = kiwi.spans([text], set(kiwi.query_terms("선언문 채택")))
    assert [text[start:end] for start, end in spans] == ["선언문", "채택"]
    text = "만든 것과 만들어 온 것"
    assert [text[s:e] for s, e in kiwi.spans([text], {"만들다"})[0]] == ["만든", "만들"]
    assert kiwi.spans([text, text], set()) == [[], []]


def test_kiwi_is_built_once_per_process() -> None:
    first = default_analyzer()
    started = time.perf_counter()
    again = default_analyzer()
    assert again is first
    assert time.perf_counter() - started < 0.05  # building Kiwi takes about a second


def test_fold_is_the_substring_form() -> None:
    assert fold("사회적 가치 ESG") == "사회적가치esg"
    assert fold(unicodedata.normalize("NFD", "가치")) == "가치"


def test_a_dictionary_form_query_is_that_predicate(kiwi: KiwiAnalyzer) -> None:
    # Alone, Kiwi reads 보다 as the adverb/particle "than"; typed as a query it is the verb.
    assert kiwi.query_terms("보다") == ["보다"]
    assert "보다" in terms(kiwi, "그 결과를 현장에서 직접 봤습니다")
    assert kiwi.query_terms("살다 만들다") == ["살다", "만들다"]
    assert kiwi.query_terms("선언문 채택") == ["선언문", "채택"]  # not dictionary forms


def test_a_stem_that_may_have_dropped_its_l_is_indexed_both_ways(kiwi: KiwiAnalyzer) -> None:
    assert {"사다", "살다"} <= set(terms(kiwi, "이 동네에 사는 주민들이 모였습니다"))
    assert "할다" not in terms(kiwi, "하는 일이 많습니다")  # never for 하/되/이
    assert terms(kiwi, "먹는") == ["먹다"]  # a stem with a final consonant keeps its own
