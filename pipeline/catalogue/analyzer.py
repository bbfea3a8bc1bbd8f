"""Korean analysis for search: the terms a text is indexed under, and a query's terms.

Korean is agglutinative: 사회적가치를 is 사회 + 적 + 가치 + 를, and 채택했습니다 is
채택 + 하 + 었 + 습니다. `KiwiAnalyzer` uses the Kiwi morphological analyser
(kiwipiepy; its model ships in the kiwipiepy-model wheel and works offline) and
keeps, in text order:

- each content morpheme's form (nouns, roots, numbers, Latin and Hanja words,
  adverbs), case-folded;
- a verb's or adjective's dictionary form (만든, 만들어 -> 만들다);
- a noun with its derivational suffix as one more term: 사회 + 적 -> 사회적;
  채택 + 하 -> 채택하다 (after 채택), 채택 + 되 -> 채택되다.

Particles, endings, the copula and punctuation are dropped, so 선언문을 채택했습니다
and the query 선언문 채택 share the phrase `선언문 채택`, and spacing does not
matter (사회적 가치 and 사회적가치 give the same terms). Queries go through the
same analysis; a query word that is only particles or endings (을, 에서는,
입니다) is dropped first, because Kiwi, seeing it alone, reads it as a noun or a
verb (은 -> 은/NNG, 는 -> 늘다).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from pipeline.transcripts.text import fold as fold
from pipeline.transcripts.text import nfc as nfc

# Kiwi's tags (Sejong tag set, plus -I/-R for irregular and regular conjugation).
_NOUNS = frozenset({"NNG", "NNP", "NNB", "NR", "NP", "XR", "SL", "SH", "SN"})
_KEPT = _NOUNS | {"MAG", "MAJ", "MM", "IC", "UN", "W_URL", "W_EMAIL", "W_HASHTAG",
                  "W_MENTION", "W_SERIAL"}
_PREDICATES = frozenset({"VV", "VA", "VX", "VCN"})
_NOUN_SUFFIX = "XSN"  # 사회+적, 사람+들
_VERB_SUFFIXES = frozenset({"XSV", "XSA"})  # 채택+하다, 가능+하다, 채택+되다
# What may follow a noun in a word and carry no meaning of its own for search.
_FUNCTION_PREFIXES = ("J", "E", "VCP", "Z_")
_PUNCTUATION = frozenset({"SF", "SP", "SS", "SSO", "SSC", "SE", "SO", "SW", "SB"})
# Hosts for telling particles from words: one ends in a consonant, one in a vowel,
# so both 을/를, 은/는, 과/와, 으로/로 attach to one of them grammatically.
_HOSTS = ("사람", "나무")
QUERY_WORDS = 4096  # typed words whose analysis is kept (a few hundred bytes each)


class Analyzer(Protocol):
    """Turns text into search terms; the index and the queries must use the same one."""

    @property
    def identity(self) -> str:
        """Names the analysis: a catalogue indexed under another identity is re-analysed
        (its index cannot be edited with terms it was not written with)."""
        ...

    def index_terms(self, texts: Sequence[str]) -> list[list[str]]:
        """The terms of each text, in text order (an FTS5 phrase needs the order)."""
        ...

    def index_words(self, texts: Sequence[str]) -> list[list[tuple[str, tuple[str, ...]]]]:
        """Each text's words as written (`word_key`) with the terms each stands for, in
        text order; words without a term are left out. Their terms, joined, are
        `index_terms`."""
        ...

    def query_terms(self, query: str) -> list[str]:
        """The terms of a query, in order; empty when it has no searchable word."""
        ...

    def spans(self, texts: Sequence[str],
              terms: Collection[str]) -> list[list[tuple[int, int]]]:
        """Where in each text (character offsets) the given terms come from, to highlight:
        the texts of a page at once (one call to the analyser, not one per hit)."""
        ...


_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")


def word_key(word: str) -> str:
    """A written word as the vocabulary keeps it: folded, without punctuation at its ends
    (`"사회적가치를,"` -> `사회적가치를`)."""
    return _EDGE_PUNCTUATION.sub("", fold(word))


@dataclass(frozen=True)
class _Token:
    form: str
    tag: str
    lemma: str
    start: int
    end: int

    @property
    def base_tag(self) -> str:
        return self.tag.split("-", 1)[0]  # VV-I, VA-R -> VV, VA


def _token(raw: Any) -> _Token:
    return _Token(str(raw.form), str(raw.tag), str(raw.lemma), int(raw.start), int(raw.end))


def _terms(tokens: Sequence[_Token]) -> list[tuple[str, int, int]]:
    """(term, start, end): each term with the characters of the text it stands for."""
    terms: list[tuple[str, int, int]] = []
    previous: _Token | None = None
    for index, token in enumerate(tokens):
        tag = token.base_tag
        host = previous if (previous is not None and previous.end == token.start
                            and previous.base_tag in _NOUNS) else None
        if tag in _KEPT:
            terms.append((token.form, token.start, token.end))
        elif tag in _PREDICATES:
            lemma = token.lemma if token.lemma.endswith("다") else token.form + "다"
            terms.append((lemma, token.start, token.end))
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if (alternative := _l_dropped(token, following)) is not None:
                terms.append((alternative, token.start, token.end))
        elif tag == _NOUN_SUFFIX and host is not None:
            terms.append((host.form + token.form, host.start, token.end))
        elif tag in _VERB_SUFFIXES and host is not None:
            stem = token.lemma[:-1] if token.lemma.endswith("다") else token.form
            terms.append((host.form + stem + "다", host.start, token.end))
        previous = token
    return [(nfc(term.casefold()), start, end) for term, start, end in terms if term.strip()]


def _by_word(text: str, terms: Sequence[tuple[str, int, int]]
             ) -> list[tuple[str, tuple[str, ...]]]:
    """`terms` grouped by the whitespace-separated word of `text` each starts in."""
    words: list[tuple[str, tuple[str, ...]]] = []
    at = 0
    for match in re.finditer(r"\S+", text):
        found = []
        while at < len(terms) and terms[at][1] < match.end():
            found.append(terms[at][0])
            at += 1
        if found:
            words.append((word_key(match.group()), tuple(found)))
    return words


# Endings before which a stem's final ㄹ drops (살다 -> 사는, 삽니다, 사세요; 알다 -> 아는):
# Kiwi often reads such a form as the ㄹ-less verb (사는 -> 사다), so the ㄹ stem is
# indexed too. Never for 하/되/이, whose ㄹ forms are not verbs.
_L_DROPPING = ("ᆫ", "ᆸ", "는", "니", "시", "세", "오")
_NEVER_L = frozenset({"하", "되", "이"})
_HANGUL_FIRST, _FINALS, _FINAL_L = 0xAC00, 28, 8


def _l_dropped(token: _Token, following: _Token | None) -> str | None:
    """The ㄹ-stem dictionary form a predicate may stand for, or None."""
    stem = token.form
    if (following is None or following.start != token.end or token.base_tag not in {"VV", "VA"}
            or not following.form.startswith(_L_DROPPING) or stem in _NEVER_L or not stem):
        return None
    code = ord(stem[-1]) - _HANGUL_FIRST
    if not 0 <= code < 11172 or code % _FINALS:
        return None  # not a Hangul syllable, or it already has a final consonant
    return stem[:-1] + chr(_HANGUL_FIRST + code + _FINAL_L) + "다"


# Bump when `_terms` changes what it indexes: catalogues written before are re-analysed.
TERMS_VERSION = 3


class KiwiAnalyzer:
    """Morphological analysis with Kiwi. Build it through `default_analyzer()`:
    constructing Kiwi loads its model, which takes about a second."""

    def __init__(self) -> None:
        import kiwipiepy
        from kiwipiepy import Kiwi

        self._kiwi = Kiwi()
        self._identity = f"kiwipiepy {kiwipiepy.__version__}, terms {TERMS_VERSION}"
        # Kiwi's C++ core is not documented as thread-safe; a web app may search from
        # several threads, and a query takes well under a millisecond.
        self._lock = threading.Lock()
        # A search asks about each word of its query twice (its terms, and whether it is a
        # word for the substring search), and archivists page through a query: what a
        # typed word is, is kept for the next ask (a few Kiwi calls a word).
        self._query_word = lru_cache(maxsize=QUERY_WORDS)(self._classify_word)

    def _tokenize(self, texts: Sequence[str]) -> list[list[_Token]]:
        if not texts:
            return []
        with self._lock:
            results = self._kiwi.tokenize(list(texts))
            return [[_token(raw) for raw in tokens] for tokens in results]

    @property
    def identity(self) -> str:
        return self._identity

    def index_terms(self, texts: Sequence[str]) -> list[list[str]]:
        return [[term for _, terms in words for term in terms]
                for words in self.index_words(texts)]

    def index_words(self, texts: Sequence[str]) -> list[list[tuple[str, tuple[str, ...]]]]:
        normalised = [nfc(text) for text in texts]
        return [_by_word(text, _terms(tokens))
                for text, tokens in zip(normalised, self._tokenize(normalised), strict=True)]

    def query_terms(self, query: str) -> list[str]:
        terms: list[str] = []
        run: list[str] = []  # consecutive ordinary words, analysed together for context
        for word in [*nfc(query).split(), ""]:
            lemma, only_function = self._query_word(word) if word else (None, False)
            if word and lemma is None:
                if not only_function:
                    run.append(word)
                continue
            if run:
                (tokens,) = self._tokenize([" ".join(run)])
                terms += [term for term, _, _ in _terms(tokens)]
                run = []
            if lemma is not None:
                terms.append(lemma)
        return terms

    def _classify_word(self, word: str) -> tuple[str | None, bool]:
        """A typed word's dictionary form (a predicate typed as such, else None), and
        whether it is nothing but particles or endings."""
        lemma = self._dictionary_form(word)
        return lemma, lemma is None and self._only_function(word)

    def _dictionary_form(self, word: str) -> str | None:
        """`word` when an archivist typed a predicate's dictionary form (만들다, 보다):
        Kiwi alone may read 보다 as the adverb or particle "than", so any of its three best
        readings that is one predicate stem and the ending 다 counts."""
        if len(word) < 2 or not word.endswith("다"):
            return None
        with self._lock:
            readings = self._kiwi.analyze(word, top_n=3)
        for tokens, _score in readings:
            if (len(tokens) == 2 and str(tokens[0].tag).split("-")[0] in _PREDICATES
                    and str(tokens[1].form) == "다" and int(tokens[1].end) == len(word)):
                return nfc(word.casefold())
        return None

    def spans(self, texts: Sequence[str],
              terms: Collection[str]) -> list[list[tuple[int, int]]]:
        if not terms:
            return [[] for _ in texts]
        return [[(start, end) for term, start, end in _terms(tokens) if term in terms]
                for tokens in self._tokenize(texts)]

    def _only_function(self, word: str) -> bool:
        """True for a word that is nothing but particles, endings or punctuation."""
        hosted = self._tokenize([host + word for host in _HOSTS])
        return any(_hosts_only_function(host, tokens)
                   for host, tokens in zip(_HOSTS, hosted, strict=True))


def _hosts_only_function(host: str, tokens: Sequence[_Token]) -> bool:
    """Whether `tokens` (of host + word) are the host noun followed by function morphemes
    only. An unknown word may merge with the host (사람김민지/NNG): then it is a word."""
    if len(tokens) < 2 or tokens[0].form != host or tokens[0].end != len(host):
        return False
    return all(token.tag.startswith(_FUNCTION_PREFIXES) or token.tag in _PUNCTUATION
               for token in tokens[1:])


@lru_cache(maxsize=1)
def default_analyzer() -> KiwiAnalyzer:
    """The one Kiwi of this process (its model takes about a second to load)."""
    return KiwiAnalyzer()
