"""Measure: what the substring (trigram) index adds to Korean morphological search.

Corpus: the human transcripts of the speech corpus's twelve talks (one sentence a
segment, one session a talk) written into a real catalogue. Queries, drawn at
random (seeded) from that text, as staff might type them:

  joined pair      two neighbouring words typed without their space (사회적가치)
  word as spoken   one word with its particles (사회적가치를)
  word prefix      the first two or three syllables of a word (톨스 for 톨스토이)
  word middle      a word without its first syllable (가스공사 in 한국가스공사)

For each, whether the sentence the query came from is among the hits, with the
morphological hits alone (match != "substring") and with the substring hits after
them, and how many hits a query gets on average.

Usage: .venv/bin/python scripts/bench/search_recall.py [--queries 150] [--seed 1]
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from _common import bench_parser, corpus_texts

from pipeline.catalogue import (
    ForumRecord,
    SearchQuery,
    SegmentRecord,
    SessionRecord,
    search,
    write_forum,
)
from pipeline.results import ForumSummary


def queries(sentences: list[str], count: int, seed: int) -> dict[str, list[tuple[str, int]]]:
    rng = random.Random(seed)
    words = [(w, i) for i, s in enumerate(sentences) for w in s.split() if len(w) >= 2]
    pairs = [(a + b, i) for i, s in enumerate(sentences)
             for a, b in zip(s.split(), s.split()[1:], strict=False)]
    kinds = {
        "joined pair": pairs,
        "word as spoken": words,
        "word prefix": [(w[:k], i) for w, i in words for k in (2, 3) if len(w) > k],
        "word middle": [(w[1:], i) for w, i in words if len(w) >= 4],
    }
    return {kind: rng.sample(items, min(count, len(items))) for kind, items in kinds.items()}


def main() -> None:
    parser = bench_parser(__doc__, paragraph=True)
    parser.add_argument("--queries", type=int, default=150, help="queries of each kind")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    talks = corpus_texts()
    sentences = [s for talk in talks for s in talk]
    forum = ForumSummary(id="corpus", title="말뭉치", date="2025-01-01", organiser="-",
                         language="ko")
    sessions, at = [], 0
    for number, talk in enumerate(talks, start=1):
        segments = tuple(SegmentRecord(float(at + k), float(at + k + 1), s)
                         for k, s in enumerate(talk))
        sessions.append(SessionRecord(id=f"talk{number}", number=number,
                                      slug=f"{number:02d}-talk{number}", title=f"강연 {number}",
                                      start=0.0, end=float(len(talk)), segments=segments))
        at += len(talk)
    with tempfile.TemporaryDirectory() as folder:
        catalogue = Path(folder) / "catalogue.sqlite"
        write_forum(catalogue, ForumRecord(forum=forum, sessions=tuple(sessions)))
        print(f"{len(sentences)} sentences in {len(talks)} talks")
        print(f"{'queries':<16}{'morphology':>12}{'+ substring':>14}{'hits/query':>16}")
        for kind, items in queries(sentences, args.queries, args.seed).items():
            found_morph = found_all = hits_morph = hits_all = 0
            for text, index in items:
                hits = search(catalogue, SearchQuery(text, limit=5000)).hits
                morph = [h for h in hits if h.match != "substring"]
                target = sentences[index]
                found_morph += any(h.text == target for h in morph)
                found_all += any(h.text == target for h in hits)
                hits_morph += len(morph)
                hits_all += len(hits)
            n = len(items)
            print(f"{kind:<16}{found_morph:>8}/{n:<3}{found_all:>10}/{n:<3}"
                  f"{hits_morph / n:>8.1f} -> {hits_all / n:.1f}")


if __name__ == "__main__":
    main()
