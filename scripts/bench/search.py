"""Search at scale: our catalogue (Kiwi morphology + substring supplement) against the old
trigram-plus-LIKE index, on a synthetic archive of many hours of Korean transcripts.

The archive: the speech corpus's 884 reference sentences (`data/*/*/*.trans.txt`)
recombined into forums of about 4 hours (1,000 hours: 250 forums), sessions of 30 to
60 minutes (then scaled to fill the forum) with a title and one to three speakers,
segments of 3 to 6 s holding one to three sentences. It is written twice, from the
same seeded records:

- ours: through the real writer (`pipeline.catalogue.writer`: Kiwi analysis, schema
  version 4: contentless `passages_fts` with passage groups, the `words` vocabulary),
  searched with `pipeline.catalogue.search` (default limit 20);
- the baseline: the index sort-archive had before (git 7fc476c,
  pipeline/stages/index.py), re-implemented here as it was: the same tables, an FTS5
  `trigram` table over whitespace-free case-folded text, the same write per forum
  and the same query (trigram MATCH for terms of 3+ characters, `LIKE` for shorter
  ones; newest forum first).

Measured in one run: build time (wall and CPU), catalogue size against the UTF-8
bytes of the segment text, p50/p95 latency of 200 mixed queries (one, two, three+
syllable words, predicates in dictionary form, two-word phrases as spoken; each the
median of `--rounds` timed passes after one warm-up pass; p50 and p95 over the queries,
overall and per kind, and the worst query; the best pass only as an extra column), and
recall on 30 labelled morphology cases (query, segment that must be found), whose
target segments sit in a forum of their own among synthetic segments and are searched
with that forum as the filter and a limit above its size.

Catalogues are cached in build/bench-search/<hours>h/ (`--rebuild` builds them anew).
Analysis runs in `--jobs` processes, one forum each, and one process writes.

The parts: _search_archive.py (the synthetic archive), _search_baseline.py (the old index,
kept as it was), _search_build.py (both catalogues), _search_measure.py (queries, timing,
recall) and _search_report.py (the tables); shared helpers in _common.py.

Usage: .venv/bin/python scripts/bench/search.py [--hours 1000] [--rebuild] [--jobs 2]
       [--rounds 5] [--build-only] [--estimate] [--ours-only]
"""

from __future__ import annotations

import json
import os

from _common import ROOT, bench_parser, write_json
from _search_archive import Plan, speech_sentences
from _search_build import ensure_built
from _search_measure import estimate, make_queries, measure, recall, word_parts
from _search_report import growth_line, report

BUILD = ROOT / "build" / "bench-search"


def main() -> None:
    parser = bench_parser(__doc__, paragraph=True)
    parser.add_argument("--hours", type=float, default=1000.0)
    parser.add_argument("--rebuild", action="store_true", help="build the catalogues anew")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes analysing forums (1: write_forum in this process)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed passes per query (their median is kept)")
    parser.add_argument("--build-only", action="store_true",
                        help="build (or check) the catalogues, measure nothing")
    parser.add_argument("--estimate", action="store_true",
                        help="only time the analysis of one forum and extrapolate")
    parser.add_argument("--ours-only", action="store_true",
                        help="a growth run: time ours alone (no baseline, no recall)")
    args = parser.parse_args()
    sentences = speech_sentences()
    if args.estimate:
        estimate(sentences, args.hours)
        return
    plan = Plan.of(args.hours)
    folder = BUILD / f"{args.hours:g}h"
    meta = ensure_built(folder, plan, sentences, args.rebuild, args.jobs)
    if args.build_only:
        print(json.dumps({k: meta[k] for k in ("build", "sizes", "text_bytes", "segments")}))
        return
    queries = make_queries(sentences) + word_parts(sentences)
    print(f"timing {len(queries)} queries ({args.rounds} rounds)", flush=True)
    if args.ours_only:
        line = growth_line(meta, measure(queries, args.rounds, folder / "ours.sqlite", None),
                           plan)
        write_json(folder / "growth.json", line)
        return
    results = measure(queries, args.rounds, folder / "ours.sqlite", folder / "baseline.sqlite")
    found = recall(folder / "ours.sqlite", folder / "baseline.sqlite")
    summary = report(meta, results, found, plan, args.rounds)
    write_json(folder / "results.json", {**summary, "queries": results, "recall": found})


if __name__ == "__main__":
    main()
