"""Passage ids that sort the way search results are ordered after their score.

Hits that score the same (the same words in sentences of the same length) are
shown newest forum first, in programme order. Looking up each match's forum
date to break such ties costs a row lookup per match (226,000 for 하다 at 1,000
hours), so the order is built into the ids instead: a passage's id is its
forum's block times 2^20 plus its position in the forum, and a forum's block is
its date (YYYYMMDD) times 1,000 plus a sequence number for forums held the same
day. Sorting by `id >> 20` descending, then `id`, is then newest forum first,
then programme order (sessions by number, their segments in time order, then
the material pages by file name and page), computed from the id alone inside
FTS5's scan. Forums held the same day come latest-indexed first.

Limits, refused with a clear error: 2^20 - 1 (1,048,575) passages in a forum
and 1,000 forums on one day.
"""

from __future__ import annotations

import datetime
import sqlite3

from pipeline.errors import CatalogueError

POSITION_BITS = 20
PER_FORUM = 1 << POSITION_BITS
PER_DAY = 1000


def order_key(column: str) -> str:
    """The ORDER BY terms that put newest forums first, then programme order."""
    return f"{column} >> {POSITION_BITS} DESC, {column}"


def _day(date: str) -> int:
    try:
        return int(datetime.date.fromisoformat(date).strftime("%Y%m%d"))
    except ValueError:
        return 0  # an undated forum sorts as the oldest


def first_id_from(date: datetime.date) -> int:
    """The lowest passage id a forum held on or after `date` can have."""
    return int(date.strftime("%Y%m%d")) * PER_DAY * PER_FORUM


def forum_block(db: sqlite3.Connection, forum_id: str, date: str) -> int:
    """The lowest block of `date` no other forum's passages use (call it after the
    forum's own rows are deleted, so a rewrite keeps its block)."""
    first = _day(date) * PER_DAY
    used = {int(row[0]) >> POSITION_BITS for row in db.execute(
        "SELECT first_passage FROM forums WHERE first_passage BETWEEN ? AND ?",
        (first * PER_FORUM, (first + PER_DAY) * PER_FORUM - 1))}
    for block in range(first, first + PER_DAY):
        if block not in used:
            return block
    raise CatalogueError(
        f"{forum_id}: {PER_DAY} forums held on {date} are in the catalogue already",
        "give this forum another date, or remove old ones")


def passage_ids(forum_id: str, block: int, count: int) -> list[int]:
    if count >= PER_FORUM:
        raise CatalogueError(f"{forum_id}: {count} transcript segments and material pages are more"
                          f" than one forum can hold in the catalogue ({PER_FORUM - 1})",
                          "split the forum's materials, or index fewer of them")
    return list(range(block * PER_FORUM, block * PER_FORUM + count))


_PROGRAMME = (
    "SELECT p.id FROM passages p LEFT JOIN sessions s ON s.forum_id = p.forum_id"
    " AND s.session_id = p.session_id LEFT JOIN materials m ON m.id = p.material_id"
    " WHERE p.forum_id = ? ORDER BY p.material_id IS NOT NULL, s.number, p.start,"
    " m.file_name, p.page, p.id"
)


def renumber(db: sqlite3.Connection) -> None:
    """Give every passage its ordered id (a catalogue from before version 3). Nothing may
    refer to passage ids yet: the term indexes are built afterwards."""
    forums = db.execute("SELECT id, date FROM forums ORDER BY date, id").fetchall()
    # Park the old ids below zero first, so that no new id meets an old one.
    db.execute("UPDATE passages SET id = -id")
    for forum_id, date in forums:
        old = [-int(row[0]) for row in db.execute(_PROGRAMME, (forum_id,))]
        if not old:
            continue
        block = forum_block(db, forum_id, date)
        new = passage_ids(forum_id, block, len(old))
        db.executemany("UPDATE passages SET id = ? WHERE id = ?",
                       [(n, -o) for n, o in zip(new, old, strict=True)])
        db.execute("UPDATE forums SET first_passage = ?, last_passage = ? WHERE id = ?",
                   (new[0], new[-1], forum_id))
