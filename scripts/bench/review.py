"""Benchmark: which signals find the wrong characters of a transcript, for the reviewer.

Workload: the twelve talks of the speech corpus (shared/korean-speech), rebuilt as
long-form audio by asr_quality.py's helpers (cached in build/asr-quality/audio/), each
decoded once through `recognise` with the default WhisperSettings (faster-whisper int8,
beam 5, VAD skip, conditioned, words aligned after): what the pipeline writes. A second
decode of the same audio, greedy (beam 1, otherwise the defaults) and, with `--second
openai`, openai-whisper, gives the agreement signal. Every decode is kept, one JSON line
per talk (hypothesis, cues, kept segments with avg_logprob / no_speech_prob and aligned
words with their times and probabilities), in build/review-bench/DECODE.jsonl: a rerun
decodes nothing, a stopped run resumes.

Scoring: the hypothesis (the cues' texts joined, normalised as the CER normalises) is
aligned to the human reference character by character (a Levenshtein backtrace,
`pipeline.asr.cer.alignment`). A substituted or inserted character is wrong; a missing
reference character makes the hypothesis characters on either side of it wrong. A signal
flags whole aligned words (the unit the pipeline can give a time span). Pooled over the
talks:

- recall: the share of wrong hypothesis characters inside flagged words;
- cost: the share of hypothesis characters flagged;
- lift: recall / cost, i.e. the ratio to flagging at random at the same cost (whose
  recall equals its cost);
- the baseline, measured in the same run: the spans quality.json listed before this
  benchmark (segments with avg_logprob < -1.0); it flags nothing on the clean talks, so
  the ratio printed is the lift;
- cue recall / cue cost: the same, when every cue that overlaps a flagged span is marked
  whole, as `pipeline.review.document.from_segments` marks it.

Goal (issue 19): recall >= 60% at cost <= 20%. The best signal is the one with the highest
recall at cost <= 20%; the best one that needs a single decode is what the pipeline can use
(a second decode would double transcription time). The row "pipeline now" flags what
`pipeline.asr.guards.low_confidence_spans` lists for the cached segments, so it checks
that the pipeline implements the chosen rule. A split check picks each family's parameter
on six talks and scores it on the other six.

Usage:
  .venv/bin/python scripts/bench/review.py                  # default + greedy decodes
  .venv/bin/python scripts/bench/review.py --second greedy --second openai
  .venv/bin/python scripts/bench/review.py --no-second      # one decode only
  .venv/bin/python scripts/bench/review.py --talks 4
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from _asr_quality_audio import Talk as Talk_
from _asr_quality_audio import clean_audio, corpus_talks
from _common import ROOT, bench_parser, machine, print_table, speech_dir, write_json
from _review_decode import DECODES, OUT, decode_talks
from _review_measure import (
    Signal,
    Talk,
    Tally,
    both,
    disagreement,
    either,
    pooled,
    segment_logprob,
    talk_from_row,
    with_neighbours,
    word_probability,
)

from pipeline.asr.cer import Score, total
from pipeline.asr.cer import score as cer_score
from pipeline.asr.engine import Decoded
from pipeline.asr.guards import low_confidence_spans
from pipeline.results import Word

GOAL_RECALL, GOAL_COST = 0.60, 0.20
BASELINE_LOGPROB = -1.0  # quality.json's rule before this benchmark


@dataclass(frozen=True)
class Candidate:
    family: str
    parameter: str
    signal: Signal
    decodes: int  # 1: the pipeline's decode alone; 2: it needs another


def pipeline_now(talk: Talk) -> list[bool]:
    """The words the pipeline's own low_confidence_spans cover, for the cached segments."""
    decoded = [Decoded(start=s["start"], end=s["end"], text=s["text"],
                       words=tuple(Word(word=w[0], start=w[1], end=w[2], probability=w[3])
                                   for w in s["words"]),
                       avg_logprob=s["avg_logprob"], no_speech_prob=s["no_speech_prob"],
                       compression_ratio=s["compression_ratio"]) for s in talk.segments]
    listed = [(span.start, span.end) for span in low_confidence_spans(decoded)]
    return [any(a <= w.start and w.end <= b for a, b in listed) for w in talk.words]


def candidates(others: dict[str, dict[str, str]]) -> list[Candidate]:
    found = [Candidate("quality.json before (baseline)",
                       f"segment avg_logprob < {BASELINE_LOGPROB:g}",
                       segment_logprob(BASELINE_LOGPROB), 1),
             Candidate("pipeline now", "guards.low_confidence_spans", pipeline_now, 1)]
    for p in (0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.71, 0.72, 0.73, 0.75, 0.8, 0.9):
        found.append(Candidate("word probability", f"p < {p:g}", word_probability(p), 1))
    for t in (-0.6, -0.4, -0.35, -0.3, -0.25):
        found.append(Candidate("segment avg_logprob", f"< {t:g}", segment_logprob(t), 1))
    for p in (0.3, 0.4, 0.5):
        found.append(Candidate("word probability and its neighbours", f"p < {p:g}",
                               with_neighbours(word_probability(p)), 1))
    for p, t in ((0.72, -1.0), (0.6, -0.4), (0.65, -0.4), (0.7, -0.4), (0.6, -0.35)):
        found.append(Candidate("word probability OR segment avg_logprob", f"p < {p:g} or "
                               f"< {t:g}", either(word_probability(p), segment_logprob(t)), 1))
    for name, hypotheses in others.items():
        differs = disagreement(hypotheses)
        found.append(Candidate(f"disagreement with {name}", "any differing character",
                               differs, 2))
        for p in (0.4, 0.5, 0.6, 0.65, 0.7):
            found.append(Candidate(f"disagreement with {name} OR word probability",
                                   f"p < {p:g}", either(differs, word_probability(p)), 2))
        for p in (0.7, 0.8, 0.9):
            found.append(Candidate(f"disagreement with {name} AND word probability",
                                   f"p < {p:g}", both(differs, word_probability(p)), 2))
        for t in (-0.6, -0.4):
            found.append(Candidate(f"disagreement with {name} OR segment avg_logprob",
                                   f"< {t:g}", either(differs, segment_logprob(t)), 2))
    return found


def best(rows: Sequence[tuple[Candidate, Tally]], decodes: int = 2
         ) -> tuple[Candidate, Tally] | None:
    """The highest recall at cost <= the goal's, among signals needing <= `decodes`."""
    fit = [(c, t) for c, t in rows if c.decodes <= decodes and t.cost <= GOAL_COST
           and c.family != "pipeline now"]
    return max(fit, key=lambda pair: pair[1].recall) if fit else None


def split_check(talks: list[Talk], found: list[Candidate]) -> list[list[str]]:
    """Each family's parameter picked on one half of the talks, scored on the other."""
    half = len(talks) // 2
    rows = []
    families = dict.fromkeys(c.family for c in found if c.family not in (
        "pipeline now", "quality.json before (baseline)"))
    for family in families:
        members = [c for c in found if c.family == family]
        for label, pick, score in ((f"first {half}", talks[:half], talks[half:]),
                                   (f"last {len(talks) - half}", talks[half:], talks[:half])):
            chosen = best([(c, pooled(pick, c.signal)) for c in members])
            if chosen is None:
                continue
            held = pooled(score, chosen[0].signal)
            rows.append([family, chosen[0].parameter, label,
                         f"{chosen[1].recall:.1%} / {chosen[1].cost:.1%}",
                         f"{held.recall:.1%} / {held.cost:.1%}"])
    return rows


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="\n".join(__doc__.splitlines()[-5:]))
    parser.add_argument("--talks", type=int, default=12, choices=range(2, 13), metavar="N",
                        help="the first N talks of the corpus README (default 12)")
    parser.add_argument("--second", action="append", choices=["greedy", "openai"],
                        help="another decode for the agreement signal (default: greedy)")
    parser.add_argument("--no-second", action="store_true", help="the default decode only")
    parser.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 2)
    return parser.parse_args()


def decode_all(args: argparse.Namespace, corpus: list[Talk_]
               ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
    """The default decode's lines and the other decodes' hypotheses, by talk id."""
    default = decode_talks(DECODES["default"], corpus, clean_audio, args.cpu_threads)
    seconds = {"default": sum(default[t.talk_id]["decode_s"] for t in corpus)}
    others: dict[str, dict[str, str]] = {}
    for name in [] if args.no_second else (args.second or ["greedy"]):
        rows = decode_talks(DECODES[name], corpus, clean_audio, args.cpu_threads)
        others[name] = {t.talk_id: rows[t.talk_id]["hypothesis"] for t in corpus}
        seconds[name] = sum(rows[t.talk_id]["decode_s"] for t in corpus)
        other = total(cer_score(t.reference, others[name][t.talk_id]) for t in corpus)
        print(f"{name} decode: CER {other.cer:.2%}")
    audio = sum(default[t.talk_id]["audio_s"] for t in corpus)
    print(f"audio {audio / 60:.1f} min; decoding took (as cached): "
          + ", ".join(f"{name} {s:.0f} s" for name, s in seconds.items()))
    return default, others


def print_choice(rows: list[tuple[Candidate, Tally]], baseline: Tally) -> None:
    print(f"\nbaseline (quality.json before): recall {baseline.recall:.1%} at cost "
          f"{baseline.cost:.1%}; random flagging: recall = cost (the lift column)")
    for label, decodes in (("best signal", 2), ("best single-decode signal", 1)):
        chosen = best(rows, decodes)
        if chosen is None:
            print(f"{label}: none flags <= {GOAL_COST:.0%} of the text")
            continue
        c, t = chosen
        met = "meets" if t.recall >= GOAL_RECALL else "misses"
        print(f"{label}: {c.family}, {c.parameter}: recall {t.recall:.2%} at cost "
              f"{t.cost:.2%} ({met} the goal {GOAL_RECALL:.0%} at <= {GOAL_COST:.0%}); "
              f"x{t.recall / t.cost:.2f} random at the same cost; "
              + (f"x{t.recall / baseline.recall:.1f} the baseline's recall"
                 if baseline.recall else "the baseline flags nothing"))


def main() -> None:
    args = parse_args()
    began = time.perf_counter()
    corpus = corpus_talks(speech_dir())[:args.talks]
    print(f"machine: {machine(ffmpeg=False)}")
    print(f"{len(corpus)} talks; decodes cached in {OUT.relative_to(ROOT)}", flush=True)
    default, others = decode_all(args, corpus)
    talks = [talk_from_row(default[t.talk_id], t.reference) for t in corpus]
    score = total(Score(t.errors, t.reference_chars) for t in talks)
    print(f"default decode: CER {score.cer:.2%} ({score.errors}/{score.reference_chars}); "
          f"{sum(t.wrong.count(True) for t in talks)} wrong of "
          f"{sum(len(t.hypothesis) for t in talks)} hypothesis characters\n", flush=True)

    found = candidates(others)
    rows = [(c, pooled(talks, c.signal)) for c in found]
    print_table(["signal", "parameter", "decodes", "recall", "cost", "lift (x random)",
                 "cue recall", "cue cost"],
                [[c.family, c.parameter, str(c.decodes), f"{t.recall:.1%}", f"{t.cost:.1%}",
                  f"x{t.recall / t.cost:.2f}" if t.cost else "-",
                  f"{t.cue_recall:.1%}", f"{t.cue_cost:.1%}"] for c, t in rows])
    print_choice(rows, rows[0][1])
    print("\nper talk, the pipeline's rule (pipeline now)")
    print_table(["talk", "CER", "recall", "cost"],
                [[t.talk_id, f"{t.errors / t.reference_chars:.1%}", f"{one.recall:.1%}",
                  f"{one.cost:.1%}"] for t in talks for one in [pooled([t], pipeline_now)]])
    print("\nsplit check: each family's parameter picked on six talks, scored on the other six")
    print_table(["signal", "parameter picked", "picked on", "recall / cost there",
                 "recall / cost on the other six"], split_check(talks, found))
    write_json(OUT / "results.json", [{"signal": c.family, "parameter": c.parameter,
                                       "decodes": c.decodes, "recall": t.recall,
                                       "cost": t.cost, "cue_recall": t.cue_recall,
                                       "cue_cost": t.cue_cost} for c, t in rows])
    print(f"\nbench took {time.perf_counter() - began:.0f} s (decoding only where not cached)")


if __name__ == "__main__":
    sys.exit(main())
