"""Passage groups: what bounds a passage's bm25 score, so that a page of a frequent term's
matches is found without scoring every match (schema version 4; used by `topk`).

FTS5's bm25 (k1 = 1.2, b = 0.75) scores a passage, for the query terms t it has, as

    sum over t of  idf(t) * f(t) (k1 + 1) / (f(t) + k1 (1 - b + b D / avgdl))

(negated: lower is better), where f(t) is how often t is in the passage and D is the
passage's length in tokens. Each fraction grows with f(t) and falls with D. So every
passage carries one group token in the `grp` column of `passages_fts`: its length L (the
terms of its text) and the largest frequency M of any of its terms. No passage of the
group can score better than the fraction at f = M, D = L + 1 (the group token is a token
of the row too), weighted by each query term's idf and summed (`topk`'s bound).

A frequent term is mostly there once: a group whose passages repeat another term bounds
it loosely. So the token also says which term repeats, when one does: `r` and the
term's bucket (its CRC-32 modulo `BUCKETS`), or `rx` when several do. For a query term
of another bucket, the group bounds it as a term that is there at most once.

The token is `g{L}m{M}`, then `r{bucket}` or `rx` when M > 1, for L up to
`EXACT_LENGTH` and M up to `OPEN_FREQUENCY - 1`; longer passages share a group with the
lowest length of their step (`LENGTH_STEPS`) and more frequent terms share `m5`, whose
bound takes f as unbounded. Lengths and frequencies are FTS5's, from the text's terms
split as its `unicode61` tokenizer splits them (`fts_tokens`).

The `grp` column is weighted 0 in bm25, so it adds nothing to a score; its only effect
is D one token longer for every passage alike. `passage_groups` counts each group's
passages, so that a search can tell how many matches a set of groups may hold before
it asks: the writer keeps it with the index (see `terms`).
"""

from __future__ import annotations

import math
import re
import sqlite3
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass

K1 = 1.2  # FTS5's bm25 constants (fts5_aux.c)
B = 0.75
EXACT_LENGTH = 48  # segments are 1 to 46 terms long at 1,000 hours: every length its group
LENGTH_STEPS = (49, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048, 4096)
OPEN_FREQUENCY = 5  # m5: a term 5 times or more
BUCKETS = 16  # which term repeats, as its hash modulo this
SEVERAL = "x"  # more than one term repeats
_TOKEN = re.compile(r"g(\d+)m(\d+)(?:r(\d+|x))?")


def group_token(body: str) -> str:
    """The group of a passage whose indexed text (its terms, space-separated) is `body`."""
    counts = Counter(fts_tokens(body))
    length = sum(counts.values())
    most = max(counts.values(), default=0)
    if length > EXACT_LENGTH:
        length = max(step for step in LENGTH_STEPS if step <= length)
    token = f"g{length}m{min(most, OPEN_FREQUENCY)}"
    repeated = [t for t, n in counts.items() if n > 1]
    if repeated:
        token += "r" + (str(bucket(repeated[0])) if len(repeated) == 1 else SEVERAL)
    return token


def bucket(token: str) -> int:
    """The bucket of an FTS5 token: stable across runs and machines (not `hash`)."""
    return zlib.crc32(token.encode("utf-8")) % BUCKETS


def fts_tokens(body: str) -> list[str]:
    """`body` split as FTS5's unicode61 tokenizer splits it: runs of letters, digits and
    private-use characters, case-folded. (A term such as 3.5 is two tokens to FTS5, and
    the bound needs FTS5's lengths and frequencies.)"""
    tokens, current = [], []
    for char in body:
        category = unicodedata.category(char)
        if category[0] in "LN" or category == "Co":
            current.append(char)
        elif current:
            tokens.append("".join(current).casefold())
            current = []
    if current:
        tokens.append("".join(current).casefold())
    return tokens


@dataclass(frozen=True)
class Group:
    token: str
    length: int  # the shortest passage it may hold, in terms
    frequency: float  # the highest frequency of a term in it (inf: unbounded)
    repeats: str  # "": no term repeats; a bucket: only a term of that bucket; SEVERAL
    passages: int

    def fraction(self, average_length: float, term_buckets: frozenset[str]) -> float:
        """The largest `f (k1 + 1) / (f + k1 (1 - b + b D / avgdl))` a passage of the group
        can have for a term whose FTS5 tokens fall in `term_buckets` (a term that cannot
        be the repeated one is there at most once)."""
        frequency = self.frequency
        if self.repeats and self.repeats != SEVERAL and self.repeats not in term_buckets:
            frequency = min(frequency, 1.0)
        if math.isinf(frequency):
            return K1 + 1
        norm = K1 * (1 - B + B * (self.length + 1) / average_length)
        return frequency * (K1 + 1) / (frequency + norm)


def term_buckets(term: str) -> frozenset[str]:
    """The buckets a query term's FTS5 tokens fall in."""
    return frozenset(str(bucket(token)) for token in fts_tokens(term))


def groups(db: sqlite3.Connection) -> list[Group]:
    """Every group with passages."""
    found = []
    for token, passages in db.execute(
            "SELECT grp, passages FROM passage_groups WHERE passages > 0"):
        match = _TOKEN.fullmatch(token)
        if match is None:
            continue  # not ours: never searched, so never trusted as a bound
        length, most = int(match.group(1)), int(match.group(2))
        frequency = math.inf if most >= OPEN_FREQUENCY else float(most)
        found.append(Group(token, length, frequency, match.group(3) or "", int(passages)))
    return found


def count_groups(db: sqlite3.Connection, tokens: list[str], sign: int) -> None:
    """Add (sign 1) or remove (sign -1) passages of these groups from their counts."""
    db.executemany(
        "INSERT INTO passage_groups (grp, passages) VALUES (?, ?) ON CONFLICT (grp)"
        " DO UPDATE SET passages = passages + excluded.passages",
        [(token, sign * n) for token, n in sorted(Counter(tokens).items())])


def idf(rows: int, matches: int) -> float:
    """FTS5's idf: log((N - n + 0.5) / (n + 0.5)), and 1e-6 where that is not positive."""
    value = math.log((rows - matches + 0.5) / (matches + 0.5))
    return value if value > 0.0 else 1e-6


def fts_totals(db: sqlite3.Connection) -> tuple[int, int]:
    """`passages_fts`'s row count and its tokens in all columns: what bm25 takes N and
    avgdl from. Read from FTS5's averages record (rowid 1 of `passages_fts_data`: a
    varint row count, then a varint per column), part of its stable file format."""
    row = db.execute("SELECT block FROM passages_fts_data WHERE id = 1").fetchone()
    values, offset = [], 0
    block = bytes(row[0]) if row is not None and row[0] is not None else b""
    while offset < len(block):
        value, offset = _varint(block, offset)
        values.append(value)
    if not values or values[0] <= 0:
        return 0, 0
    return values[0], sum(values[1:])


def _varint(block: bytes, offset: int) -> tuple[int, int]:
    """SQLite's varint: 7 bits a byte, most significant first, while the top bit is set;
    a ninth byte gives all 8 bits."""
    value = 0
    for index in range(9):
        if offset + index >= len(block):
            raise ValueError("truncated varint in FTS5's averages record")
        byte = block[offset + index]
        if index == 8:
            return (value << 8) | byte, offset + 9
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, offset + index + 1
    raise AssertionError("unreachable")
