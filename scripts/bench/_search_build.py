"""search.py's building: both catalogues of the synthetic archive (ours through the real
writer, analysis in worker processes; the baseline's through the old write), cached in
build/bench-search/<hours>h/ with their sizes per table."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import Timing, all_cpu, run_timed, write_json
from _search_archive import RECALL_CASES, Plan, forum_record, recall_record, text_bytes
from _search_baseline import _old_open, old_index_forum

from pipeline.catalogue import ForumRecord, write_forum
from pipeline.catalogue.analyzer import default_analyzer
from pipeline.catalogue.schema import connect
from pipeline.catalogue.writer import analyse, write_into

GENERATOR = 4  # bump when the synthetic archive changes: cached catalogues are rebuilt


_WORKER: dict[str, Any] = {}


def _worker_init(plan: Plan, sentences: list[str]) -> None:
    _WORKER.update(plan=plan, sentences=sentences, analyzer=default_analyzer())


def _worker_analyse(index: int) -> tuple[ForumRecord, list[Any]]:
    record = forum_record(_WORKER["plan"], index, _WORKER["sentences"])
    return record, analyse(record, _WORKER["analyzer"])


def _progress(label: str, done: int, total: int, started: float) -> None:
    if done == total or done % max(1, total // 20) == 0:
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (total - done)
        print(f"  {label}: {done}/{total} forums, {elapsed:.0f} s, about {eta:.0f} s left",
              flush=True)


def _write_ours(path: Path, plan: Plan, sentences: list[str], jobs: int) -> None:
    started = time.perf_counter()
    analyzer = default_analyzer()
    if jobs <= 1:
        for index in range(plan.forums):
            write_forum(path, forum_record(plan, index, sentences), analyzer=analyzer)
            _progress("ours", index + 1, plan.forums, started)
    else:
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, _worker_init, (plan, sentences)) as pool, \
                connect(path, create=True) as db:
            for done, (record, passages) in enumerate(
                    pool.imap(_worker_analyse, range(plan.forums)), start=1):
                write_into(db, record, passages, analyzer)
                _progress("ours", done, plan.forums, started)
            pool.close()
            pool.join()
    write_forum(path, recall_record(sentences))


def build_ours(path: Path, plan: Plan, sentences: list[str], jobs: int) -> dict[str, float]:
    """Every forum through the real writer; analysis in `jobs` processes when jobs > 1."""
    main_cpu = time.process_time()
    spent, _ = run_timed(lambda: _write_ours(path, plan, sentences, jobs), all_cpu)
    return {"wall_s": spent.wall, "cpu_s": spent.cpu,
            "cpu_main_s": time.process_time() - main_cpu}


def build_baseline(path: Path, plan: Plan, sentences: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    spent = Timing(0.0, 0.0)
    with _old_open(path, create=True) as db:
        for index in [*range(plan.forums), -1]:
            record = (forum_record(plan, index, sentences) if index >= 0
                      else recall_record(sentences))
            # only the write is timed, not making the record
            write, _ = run_timed(lambda r=record: old_index_forum(db, r), time.process_time)
            spent += write
            if index >= 0:
                _progress("baseline", index + 1, plan.forums, started)
    return {"wall_s": spent.wall, "cpu_s": spent.cpu}


def checkpoint(path: Path) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def size_breakdown(path: Path) -> dict[str, int]:
    """Bytes per table with its indexes; an FTS5 table with its shadow tables."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
        schema = db.execute("SELECT name, tbl_name, coalesce(sql, '') FROM sqlite_master"
                            ).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    owners = {name: table for name, table, _ in schema}
    virtual = [name for name, _, sql in schema if sql.upper().startswith("CREATE VIRTUAL")]
    sizes: Counter[str] = Counter()
    for name, size in rows:
        owner = owners.get(name, name)
        for table in virtual:  # passages_fts_data -> passages_fts
            if name.startswith(table + "_"):
                owner = table
        sizes[owners.get(owner, owner)] += size
    return dict(sizes.most_common())


def ensure_built(folder: Path, plan: Plan, sentences: list[str], rebuild: bool,
                 jobs: int) -> dict[str, Any]:
    """Both catalogues for `plan`, from the cache unless missing, stale or `--rebuild`."""
    meta_path = folder / "meta.json"
    key = {"generator": GENERATOR, "hours": plan.hours, "forums": plan.forums,
           "seed": plan.seed,
           "corpus": hashlib.sha256("\n".join(sentences).encode()).hexdigest()[:16]}
    meta: dict[str, Any] = {}
    if meta_path.is_file() and not rebuild:
        meta = json.loads(meta_path.read_text())
        if meta.get("key") != key:
            print("cached catalogues are from another archive: building anew")
            meta = {}
    ours, baseline = folder / "ours.sqlite", folder / "baseline.sqlite"
    if not meta or not ours.is_file() or not baseline.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for path in folder.glob("*.sqlite*"):
            path.unlink()
        print(f"building {plan.hours:g} hours: {plan.forums} forums of"
              f" {plan.forum_seconds / 3600:.2f} h, analysis in {jobs} process(es)", flush=True)
        build = {"ours": build_ours(ours, plan, sentences, jobs),
                 "baseline": build_baseline(baseline, plan, sentences)}
        meta = {"key": key, "build": build, "jobs": jobs,
                "built": dt.datetime.now().isoformat(timespec="seconds"),
                "load_at_build": os.getloadavg()}
    cases = hashlib.sha256(json.dumps(RECALL_CASES).encode()).hexdigest()[:16]
    if meta.get("recall_cases") != cases:  # the recall forum alone is written again
        write_forum(ours, recall_record(sentences))
        with _old_open(baseline, create=False) as db:
            old_index_forum(db, recall_record(sentences))
        meta["recall_cases"] = cases
    for path in (ours, baseline):
        checkpoint(path)
    records = [*(forum_record(plan, i, sentences) for i in range(plan.forums)),
               recall_record(sentences)]
    meta.update(text_bytes=sum(map(text_bytes, records)),
                segments=sum(record.segment_count for record in records),
                sizes={"ours": ours.stat().st_size, "baseline": baseline.stat().st_size},
                breakdown={"ours": size_breakdown(ours), "baseline": size_breakdown(baseline)})
    write_json(meta_path, meta)
    return meta
