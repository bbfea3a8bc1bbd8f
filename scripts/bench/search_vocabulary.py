"""The written-word vocabulary at real sizes: its bytes per word, and how long a fragment
takes to look up in it, against the same lookup in the synthetic 1,000-hour archive's.

The 1,000-hour benchmark (search.py) recombines 884 sentences, so its vocabulary holds
about 3,000 written words; a real archive's grows with its text. This fills the
catalogue's own `words` table (schema version 3) with N distinct words made of the
corpus's syllables, with the corpus's word lengths (seeded), and measures:

- bytes per word (dbstat over `words` and its shadow tables), hence the catalogue's size
  against the text at 1,000 hours (65.6 MB) for that vocabulary;
- the substring lookup (`matching.substring_match`) for fragments of 1, 2 and 3+
  syllables, best of 5, against the same fragments on a vocabulary of 3,000 words.

Usage: .venv/bin/python scripts/bench/search_vocabulary.py [--words 250000 1000000]
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
from pathlib import Path

from _common import bench_parser, best_of, corpus_texts

from pipeline.catalogue.analyzer import word_key
from pipeline.catalogue.matching import substring_match
from pipeline.catalogue.schema import connect

TEXT_1000H = 65_572_117  # UTF-8 bytes of the 1,000-hour archive's text (search.py)
CATALOGUE_1000H = 145.9e6  # our catalogue at 1,000 hours, its vocabulary included (0.2 MB)
SMALL = 3000


def corpus_words() -> list[str]:
    return [k for talk in corpus_texts() for text in talk for w in text.split()
            if (k := word_key(w))]


def fill(db: sqlite3.Connection, count: int, words: list[str], rng: random.Random) -> None:
    syllables = [ch for word in words for ch in word]
    lengths = [len(word) for word in words]
    made: set[str] = set(words[:count])
    while len(made) < count:
        made.add("".join(rng.choices(syllables, k=rng.choice(lengths))))
    db.executemany("INSERT INTO words (word, terms) VALUES (?, ?)",
                   [(w, w[: max(1, len(w) - 1)]) for w in made])


def size(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'words%'").fetchone()[0])


def timed(db: sqlite3.Connection, fragment: str) -> float:
    return best_of(5, lambda: substring_match(db, [fragment]))[0]


def main() -> None:
    parser = bench_parser(__doc__, paragraph=True)
    parser.add_argument("--words", type=int, nargs="+", default=[250_000, 1_000_000])
    args = parser.parse_args()
    words = corpus_words()
    rng = random.Random(20261127)
    fragments = {n: [w[:n] for w in rng.sample([w for w in words if len(w) > n], 20)]
                 for n in (1, 2, 3)}
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for count in [SMALL, *args.words]:
            path = Path(folder) / f"{count}.sqlite"
            with connect(path, create=True) as db:
                db.execute("BEGIN")
                fill(db, count, words, random.Random(count))
                db.execute("COMMIT")
                db.execute("VACUUM")
                results[count] = (size(db), {n: statistics.median(timed(db, f) for f in frags)
                                             for n, frags in fragments.items()})
    print("| words | bytes / word | catalogue / text at 1,000 h | 1 syllable | 2 syllables |"
          " 3 syllables | against 3,000 words (1 / 2 / 3) |")
    print("|---|---|---|---|---|---|---|")
    base = results[SMALL][1]
    for count, (nbytes, times) in results.items():
        ratio = (CATALOGUE_1000H - 0.2e6 + nbytes) / TEXT_1000H
        print(f"| {count:,} | {nbytes / count:.0f} | x{ratio:.2f} |"
              + "".join(f" {times[n] * 1000:.1f} ms |" for n in (1, 2, 3))
              + " " + " / ".join(f"x{times[n] / base[n]:.0f}" for n in (1, 2, 3)) + " |")


if __name__ == "__main__":
    main()
