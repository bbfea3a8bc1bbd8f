"""Search at scale: our catalogue (Kiwi morphology + substring supplement) against the old
trigram-plus-LIKE index, on a synthetic archive of many hours of Korean transcripts.

The archive: the speech corpus's 884 reference sentences (`data/*/*/*.trans.txt`)
recombined into forums of about 4 hours (1,000 hours: 250 forums), sessions of 30 to
60 minutes (then scaled to fill the forum) with a title and one to three speakers,
segments of 3 to 6 s holding one to three sentences. It is written twice, from the
same seeded records:

- ours: through the real writer (`pipeline.catalogue.writer`: Kiwi analysis, schema
  version 3: contentless `passages_fts`, the `words` vocabulary), searched with
  `pipeline.catalogue.search` (default limit 20);
- the baseline: the index sort-archive had before (git 7fc476c,
  pipeline/stages/index.py), re-implemented here as it was: the same tables, an FTS5
  `trigram` table over whitespace-free case-folded text, the same write per forum
  and the same query (trigram MATCH for terms of 3+ characters, `LIKE` for shorter
  ones; newest forum first).

Measured in one run: build time (wall and CPU), catalogue size against the UTF-8
bytes of the segment text, p50/p95 latency of 200 mixed queries (one, two, three+
syllable words, predicates in dictionary form, two-word phrases as spoken; each the
best of `--rounds` timed passes after one warm-up pass), and recall on 30 labelled
morphology cases (query, segment that must be found), whose target segments sit in a
forum of their own among synthetic segments and are searched with that forum as the
filter and a limit above its size.

Catalogues are cached in build/bench-search/<hours>h/ (`--rebuild` builds them anew).
Analysis runs in `--jobs` processes, one forum each, and one process writes.

Usage: .venv/bin/python scripts/bench/search.py [--hours 1000] [--rebuild] [--jobs 2]
       [--rounds 5] [--build-only] [--estimate]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import multiprocessing
import os
import platform
import random
import re
import resource
import sqlite3
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.catalogue import (
    ForumRecord,
    SearchQuery,
    SegmentRecord,
    SessionRecord,
    SpeakerRecord,
    search,
    write_forum,
)
from pipeline.catalogue.analyzer import default_analyzer
from pipeline.catalogue.schema import V1_SCHEMA, connect
from pipeline.catalogue.writer import analyse, write_into
from pipeline.demo.forum import find_speech_dir
from pipeline.results import ForumSummary
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "bench-search"
FORUM_HOURS = 4.0
SEED = 20261128
GENERATOR = 4  # bump when the synthetic archive changes: cached catalogues are rebuilt
RECALL_FORUM = "recall-targets"
RECALL_LIMIT = 2000  # above the recall forum's size: every match is returned

# (query, a segment that must be found, what it exercises). The targets are written
# as a transcript would have them; none is in the speech corpus.
RECALL_CASES: tuple[tuple[str, str, str], ...] = (
    ("가치", "공공부문의 사회적가치를 높이는 방법을 찾겠습니다", "noun inside a compound"),
    ("사회적 가치", "사회적가치를 실현하기 위해 노력하고 있습니다", "spaced query, joined text"),
    ("사회적가치", "우리가 말하는 사회적 가치는 무엇일까요", "joined query, spaced text"),
    ("만들다", "주민과 함께 좋은 제도를 만들어 가겠습니다", "verb, connective 만들어"),
    ("만들다", "주민이 직접 만든 계획이 가장 좋습니다", "verb, adnominal 만든"),
    ("선언문 채택", "여섯 개 기관이 공동 선언문을 채택했습니다", "phrase with particle and verb"),
    ("채택하다", "위원회에서 권고안을 채택했습니다", "noun + 하다, past polite"),
    ("보다", "그 결과를 현장에서 직접 봤습니다", "보다, contracted past"),
    ("보다", "이 표를 보시면 알 수 있습니다", "보다, honorific connective"),
    ("말하다", "제가 앞에서 말한 것은 예산 문제입니다", "말하다, adnominal past"),
    ("듣다", "시민들의 의견을 충분히 들었습니다", "ㄷ-irregular 듣다 -> 들었"),
    ("돕다", "지역 기업을 도와 드리고 있습니다", "ㅂ-irregular 돕다 -> 도와"),
    ("알다", "많은 분들이 아시는 것처럼 쉽지 않습니다", "ㄹ-dropping 알다, honorific"),
    ("짓다", "공공임대주택을 지어서 공급하고 있습니다", "ㅅ-irregular 짓다 -> 지어서"),
    ("모르다", "저도 처음에는 잘 몰랐습니다", "르-irregular 모르다 -> 몰랐"),
    ("가다", "현장에 가셨던 분들이 많으십니다", "가다, honorific past retrospective"),
    ("오다", "멀리서 와 주셔서 감사합니다", "오다 -> 와, contracted"),
    ("시작되다", "이 사업은 작년에 시작됐습니다", "noun + 되다, contracted past"),
    ("참여하다", "시민 여러분이 적극적으로 참여해 주셨습니다", "noun + 하다, connective 해"),
    ("중요하다", "무엇보다 투명성이 중요합니다", "adjective noun + 하다"),
    ("어렵다", "현장에서는 여전히 어려운 점이 많습니다", "ㅂ-irregular adjective"),
    ("협력하다", "기관 간에 협력하면서 성과를 냈습니다", "noun + 하다, connective 하면서"),
    ("발표하다", "다음으로 김 교수님께서 발표하시겠습니다", "noun + 하다, honorific future"),
    ("살다", "이 동네에 사는 주민들이 모였습니다", "ㄹ-dropping 살다 -> 사는"),
    ("공공기관", "공공기관들이 먼저 나서야 합니다", "noun + plural + particle"),
    ("지역사회", "지역사회와 함께 하는 사업입니다", "noun + 와"),
    ("포럼", "오늘 포럼에서는 세 가지를 논의합니다", "noun + 에서는"),
    ("정책", "정부의 정책으로는 부족하다고 봅니다", "noun + 으로는"),
    ("일자리 창출", "좋은 일자리를 창출하는 것이 목표입니다", "phrase: noun, noun + 하다"),
    ("사회적 경제", "사회적경제 기업의 판로를 넓혀야 합니다", "spaced query, joined text"),
)

# Query mix: how many of each kind (200 in all).
QUERY_MIX = (("1 syllable", 40), ("2 syllables", 50), ("3+ syllables", 40),
             ("predicate (dictionary form)", 40), ("two-word phrase", 30))
NAMED_PREDICATES = ("만들다", "채택하다", "보다", "하다", "있다", "되다")

_TOPICS = ("사회적 가치", "공공기관 혁신", "지역 상생", "탄소중립", "공공데이터 개방",
           "청년 일자리", "사회적경제", "인권경영", "안전 관리", "윤리경영", "지역균형발전",
           "공공조달", "시민 참여", "디지털 전환", "기후 위기", "돌봄 서비스", "주거 복지")
_TITLES = ("{a} 실현을 위한 {b}의 역할", "{a}와 {b}", "{a}의 현황과 과제", "{a} 사례 발표",
           "종합 토론: {a}", "{a} 실현 방안", "{a} 정책 제언", "개회사 및 {a} 기조 강연")
_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = "민서지현우준영수진호성은혜경미정훈재연동하윤"
_ORGS = ("한국사회가치연구원", "행정안전부", "국민권익위원회", "한국토지주택공사", "서울연구원",
         "한국개발연구원", "사회적기업진흥원", "한국가스공사", "국토연구원", "시민사회단체연대",
         None, None)


# ---------------------------------------------------------------- the synthetic archive

@dataclass(frozen=True)
class Plan:
    hours: float
    forums: int
    seed: int = SEED

    @classmethod
    def of(cls, hours: float) -> Plan:
        return cls(hours=hours, forums=max(1, math.ceil(hours / FORUM_HOURS)))

    @property
    def forum_seconds(self) -> float:
        return self.hours * 3600 / self.forums


def speech_sentences() -> list[str]:
    """The corpus's reference sentences (NFC), in file order."""
    speech = find_speech_dir(Settings.from_environ().speech_dir)
    sentences = []
    for path in sorted(speech.glob("data/*/*/*.trans.txt")):
        for line in path.read_text("utf-8").splitlines():
            if " " in line.strip():
                text = unicodedata.normalize("NFC", line.split(" ", 1)[1].strip())
                if text:
                    sentences.append(text)
    return sentences


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)


def _segments(rng: random.Random, sentences: list[str], seconds: float
              ) -> tuple[SegmentRecord, ...]:
    segments, at = [], 0.0
    while at < seconds - 3:
        length = rng.uniform(3.0, 6.0)
        count = rng.choices((1, 2, 3), weights=(4, 4, 2))[0]
        text = " ".join(rng.choice(sentences) for _ in range(count))
        segments.append(SegmentRecord(round(at, 2), round(at + length, 2), text))
        at += length + rng.uniform(0.0, 0.6)
    return tuple(segments)


def _session(rng: random.Random, forum_id: str, number: int, start: float, seconds: float,
             segments: tuple[SegmentRecord, ...]) -> SessionRecord:
    a, b = rng.sample(_TOPICS, 2)
    title = rng.choice(_TITLES).format(a=a, b=b)
    speakers = tuple(SpeakerRecord(_name(rng), rng.choice(_ORGS))
                     for _ in range(rng.choice((1, 1, 2, 3))))
    slug = f"{number:02d}-s{number}"
    page = f"https://archive.example.org/{forum_id}/sessions/{slug}/index.html"
    return SessionRecord(id=f"s{number}", number=number, slug=slug, title=title,
                         start=start, end=start + seconds, speakers=speakers,
                         clip_url=page.replace("index.html", f"{slug}.mp4"), page_url=page,
                         segments=segments)


def forum_record(plan: Plan, index: int, sentences: list[str]) -> ForumRecord:
    """Forum `index` of the archive: the same record for the same plan, seed and index."""
    rng = random.Random(f"{plan.seed}/{index}")
    forum_id = f"forum-{index:04d}"
    day = dt.date(2015, 1, 1) + dt.timedelta(days=(index * 3653) // max(1, plan.forums))
    topic = rng.choice(_TOPICS)
    summary = ForumSummary(id=forum_id, title=f"{day.year}년 공공부문 {topic} 포럼",
                           date=day.isoformat(), organiser="SORT", language="ko")
    lengths = [rng.uniform(1800, 3600)]  # 30 to 60 min, then scaled to fill the forum
    while sum(lengths) + 2700 <= plan.forum_seconds:
        lengths.append(rng.uniform(1800, 3600))
    sessions, at = [], 0.0
    for number, length in enumerate(lengths, start=1):
        seconds = length * plan.forum_seconds / sum(lengths)
        sessions.append(_session(rng, forum_id, number, at, seconds,
                                 _segments(rng, sentences, seconds)))
        at += seconds + 300
    return ForumRecord(forum=summary, sessions=tuple(sessions),
                       url=f"https://archive.example.org/{forum_id}/index.html")


def recall_record(sentences: list[str]) -> ForumRecord:
    """The forum holding the 30 target segments, each among synthetic ones."""
    rng = random.Random(f"{SEED}/recall")
    summary = ForumSummary(id=RECALL_FORUM, title="형태소 검색 확인용 포럼", date="2020-06-30",
                           organiser="SORT", language="ko")
    sessions = []
    for number in range(1, 4):
        filler = list(_segments(rng, sentences, 1000.0))
        for _, target, _ in RECALL_CASES[(number - 1) * 10:number * 10]:
            at = rng.randrange(len(filler) + 1)
            filler.insert(at, SegmentRecord(0.0, 0.0, target))
        timed, clock = [], 0.0
        for segment in filler:  # re-time in order
            timed.append(SegmentRecord(round(clock, 2), round(clock + 4, 2), segment.text))
            clock += 4.3
        sessions.append(_session(rng, RECALL_FORUM, number, 3600.0 * number, clock,
                                 tuple(timed)))
    return ForumRecord(forum=summary, sessions=tuple(sessions))


def text_bytes(record: ForumRecord) -> int:
    return sum(len(s.text.strip().encode("utf-8")) for session in record.sessions
               for s in session.segments if s.text.strip())


# ---------------------------------------------------------------- the baseline (git 7fc476c)

BASELINE_SCHEMA = V1_SCHEMA  # the schema of git 7fc476c, which the migrations start from
OLD_TRIGRAM = 3
OLD_SNIPPET_BEFORE, OLD_SNIPPET_MAX = 30, 120


def _old_nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _old_fold(text: str) -> str:
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return "".join(folded.split())


@contextmanager
def _old_open(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    uri = path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    db = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != 1:
            if not create:
                raise RuntimeError(f"{path} is not a baseline catalogue")
            db.execute("BEGIN IMMEDIATE")
            for statement in BASELINE_SCHEMA:
                db.execute(statement)
            db.execute("PRAGMA user_version = 1")
            db.execute("COMMIT")
        yield db
    finally:
        db.close()


def old_index_forum(db: sqlite3.Connection, record: ForumRecord) -> None:
    """The old `index_forum`: delete the forum's rows, insert them again, one transaction."""
    forum = record.forum
    rows = [(session, [(seg.start, seg.end, text) for seg in session.segments
                       if (text := _old_nfc(seg.text))])
            for session in sorted(record.sessions, key=lambda s: s.number)]
    db.execute("BEGIN IMMEDIATE")
    db.execute("DELETE FROM segments_fts WHERE rowid IN"
               " (SELECT id FROM segments WHERE forum_id = ?)", (forum.id,))
    db.execute("DELETE FROM segments WHERE forum_id = ?", (forum.id,))
    db.execute("DELETE FROM sessions WHERE forum_id = ?", (forum.id,))
    db.execute("DELETE FROM forums WHERE id = ?", (forum.id,))
    db.execute("INSERT INTO forums (id, title, date, organiser, language) VALUES (?, ?, ?, ?, ?)",
               (forum.id, _old_nfc(forum.title), forum.date, _old_nfc(forum.organiser),
                forum.language))
    for session, segments in rows:
        speakers = "; ".join(f"{_old_nfc(s.name)} ({_old_nfc(s.organisation)})"
                             if s.organisation else _old_nfc(s.name) for s in session.speakers)
        db.execute(
            "INSERT INTO sessions (forum_id, session_id, number, slug, title, speakers,"
            ' start, "end", clip_url, page_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            (forum.id, session.id, session.number, session.slug, _old_nfc(session.title),
             speakers, session.start, session.end, session.clip_url, session.page_url))
        for start, end, text in segments:
            cursor = db.execute('INSERT INTO segments (forum_id, session_id, start, "end", text)'
                                " VALUES (?, ?, ?, ?, ?)",
                                (forum.id, session.id, start, end, text))
            db.execute("INSERT INTO segments_fts (rowid, compact) VALUES (?, ?)",
                       (cursor.lastrowid, _old_fold(text)))
    db.execute("COMMIT")


def old_search(catalogue: Path, query: str, *, limit: int = 20,
               forum_id: str | None = None) -> list[dict[str, Any]]:
    """The old `search`: every space-separated term as a substring, newest forum first."""
    terms = list(dict.fromkeys(_old_fold(word) for word in _old_nfc(query).split()))
    if not catalogue.is_file():
        raise RuntimeError(f"no catalogue at {catalogue}")
    long_terms = [t for t in terms if len(t) >= OLD_TRIGRAM]
    where: list[str] = []
    params: list[object] = []
    if long_terms:
        where.append("segments_fts MATCH ?")
        params.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms))
    for term in terms:
        if len(term) < OLD_TRIGRAM:
            where.append("segments_fts.compact LIKE ? ESCAPE '\\'")
            params.append("%" + re.sub(r"([\\%_])", r"\\\1", term) + "%")
    if forum_id is not None:
        where.append("seg.forum_id = ?")
        params.append(forum_id)
    sql = (
        "SELECT f.id, f.title, f.date, s.session_id, s.slug, s.title,"
        ' seg.start, seg."end", seg.text, s.clip_url, s.page_url'
        " FROM segments_fts JOIN segments seg ON seg.id = segments_fts.rowid"
        " JOIN sessions s ON s.forum_id = seg.forum_id AND s.session_id = seg.session_id"
        " JOIN forums f ON f.id = seg.forum_id"
        f" WHERE {' AND '.join(where)}"
        " ORDER BY f.date DESC, f.id, s.number, seg.start, seg.id LIMIT ?"
    )
    with _old_open(catalogue, create=False) as db:
        rows = db.execute(sql, [*params, limit]).fetchall()
    keys = ("forum_id", "forum_title", "forum_date", "session_id", "session_slug",
            "session_title", "start", "end", "text", "clip_url", "page_url")
    return [{**dict(zip(keys, row, strict=True)), "snippet": _old_snippet(row[8], terms)}
            for row in rows]


def _old_snippet(text: str, terms: list[str]) -> str:
    spans: list[tuple[int, int]] = []
    for term in terms:
        pattern = r"\s*".join(re.escape(ch) for ch in term)
        spans += [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    left = max(0, merged[0][0] - OLD_SNIPPET_BEFORE) if merged else 0
    right = min(len(text), left + OLD_SNIPPET_MAX)
    pieces = ["…" if left else ""]
    cursor = left
    for start, end in merged:
        if start >= right:
            break
        pieces += [text[cursor:start], "[", text[start:end], "]"]
        cursor = end
    right = max(right, cursor)
    pieces += [text[cursor:right], "…" if right < len(text) else ""]
    return "".join(pieces)


# ---------------------------------------------------------------- building

_WORKER: dict[str, Any] = {}


def _worker_init(plan: Plan, sentences: list[str]) -> None:
    _WORKER.update(plan=plan, sentences=sentences, analyzer=default_analyzer())


def _worker_analyse(index: int) -> tuple[ForumRecord, list[Any]]:
    record = forum_record(_WORKER["plan"], index, _WORKER["sentences"])
    return record, analyse(record, _WORKER["analyzer"])


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _progress(label: str, done: int, total: int, started: float) -> None:
    if done == total or done % max(1, total // 20) == 0:
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (total - done)
        print(f"  {label}: {done}/{total} forums, {elapsed:.0f} s, about {eta:.0f} s left",
              flush=True)


def build_ours(path: Path, plan: Plan, sentences: list[str], jobs: int) -> dict[str, float]:
    """Every forum through the real writer; analysis in `jobs` processes when jobs > 1."""
    wall, cpu, children = time.perf_counter(), time.process_time(), _cpu_children()
    if jobs <= 1:
        analyzer = default_analyzer()
        for index in range(plan.forums):
            write_forum(path, forum_record(plan, index, sentences), analyzer=analyzer)
            _progress("ours", index + 1, plan.forums, wall)
    else:
        context = multiprocessing.get_context("fork")
        analyzer = default_analyzer()
        with context.Pool(jobs, _worker_init, (plan, sentences)) as pool, \
                connect(path, create=True) as db:
            for done, (record, passages) in enumerate(
                    pool.imap(_worker_analyse, range(plan.forums)), start=1):
                write_into(db, record, passages, analyzer)
                _progress("ours", done, plan.forums, wall)
            pool.close()
            pool.join()
    write_forum(path, recall_record(sentences))
    return {"wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu + _cpu_children() - children,
            "cpu_main_s": time.process_time() - cpu}


def build_baseline(path: Path, plan: Plan, sentences: list[str]) -> dict[str, float]:
    wall = time.perf_counter()
    spent_wall = spent_cpu = 0.0
    with _old_open(path, create=True) as db:
        for index in [*range(plan.forums), -1]:
            record = (forum_record(plan, index, sentences) if index >= 0
                      else recall_record(sentences))
            started, cpu = time.perf_counter(), time.process_time()
            old_index_forum(db, record)  # only the write is timed, not making the record
            spent_wall += time.perf_counter() - started
            spent_cpu += time.process_time() - cpu
            if index >= 0:
                _progress("baseline", index + 1, plan.forums, wall)
    return {"wall_s": spent_wall, "cpu_s": spent_cpu}


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
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    return meta


# ---------------------------------------------------------------- queries

def make_queries(sentences: list[str], seed: int = SEED) -> list[tuple[str, str]]:
    """200 (kind, query) pairs drawn from the corpus's words (seeded)."""
    rng = random.Random(f"{seed}/queries")
    hangul = re.compile(r"^[가-힣]+$")
    terms: Counter[str] = Counter()
    for row in default_analyzer().index_terms(sentences):
        terms.update(t for t in row if hangul.match(t))
    predicates = sorted(t for t in terms if len(t) >= 2 and t.endswith("다"))
    nouns = sorted(t for t in terms if not t.endswith("다"))
    pools = {
        "1 syllable": [t for t in nouns if len(t) == 1],
        "2 syllables": [t for t in nouns if len(t) == 2],
        "3+ syllables": [t for t in nouns if len(t) >= 3],
        "predicate (dictionary form)": [p for p in predicates if p not in NAMED_PREDICATES],
        "two-word phrase": sorted({f"{a} {b}" for s in sentences
                                   for a, b in zip(s.split(), s.split()[1:], strict=False)}),
    }
    chosen: list[tuple[str, str]] = []
    for kind, count in QUERY_MIX:
        fixed = list(NAMED_PREDICATES) if kind.startswith("predicate") else []
        pool = pools[kind]
        picked = fixed + rng.sample(pool, min(len(pool), count - len(fixed)))
        chosen += [(kind, q) for q in picked]
    return chosen


def word_parts(sentences: list[str], count: int = 20, seed: int = SEED) -> list[tuple[str, str]]:
    """Parts of words (a word's first 2-3 syllables, or all but its first): where our
    search may need its substring scan. Timed apart from the 200."""
    rng = random.Random(f"{seed}/parts")
    words = sorted({w for s in sentences for w in s.split() if len(w) >= 4})
    picked = rng.sample(words, count)
    return [("part of a word", w[:rng.choice((2, 3))] if n % 2 else w[1:])
            for n, w in enumerate(picked)]


def timed(runs: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best wall and CPU seconds of `runs` calls (the least disturbed by other load), and
    the last result."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def measure(queries: list[tuple[str, str]], rounds: int, ours: Path,
            baseline: Path) -> dict[str, list[dict[str, Any]]]:
    engines: dict[str, Callable[[str], int]] = {
        "ours": lambda q: len(search(ours, SearchQuery(q)).hits),
        "baseline": lambda q: len(old_search(baseline, q)),
    }
    results: dict[str, list[dict[str, Any]]] = {}
    for name, run in engines.items():
        started = time.perf_counter()
        for _, query in queries:  # warm-up: page cache, Kiwi, SQLite's schema
            run(query)
        rows = []
        for kind, query in queries:
            wall, cpu, hits = timed(rounds, lambda q=query, r=run: r(q))  # type: ignore[misc]
            rows.append({"kind": kind, "query": query, "wall": wall, "cpu": cpu, "hits": hits})
        results[name] = rows
        print(f"  {name}: {len(queries)} queries x ({rounds} + 1 warm-up) in"
              f" {time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f}",
              flush=True)
    analyzer = default_analyzer()
    db = sqlite3.connect(f"{ours.resolve().as_uri()}?mode=ro", uri=True)
    try:  # how many passages have all the query's terms: what our ranking works through
        for row in results["ours"]:
            terms = [t for t in analyzer.query_terms(row["query"]) if any(c.isalnum() for c in t)]
            expression = " AND ".join('"' + t.replace('"', '""') + '"'
                                      for t in dict.fromkeys(terms))
            row["matches"] = db.execute(
                "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?",
                (expression,)).fetchone()[0] if terms else 0
    finally:
        db.close()
    return results


def recall(ours: Path, baseline: Path) -> dict[str, list[bool]]:
    found: dict[str, list[bool]] = {"ours": [], "baseline": []}
    for query, target, _ in RECALL_CASES:
        hits = search(ours, SearchQuery(query, forum_id=RECALL_FORUM, limit=RECALL_LIMIT)).hits
        found["ours"].append(any(h.text == target for h in hits))
        old = old_search(baseline, query, limit=RECALL_LIMIT, forum_id=RECALL_FORUM)
        found["baseline"].append(any(h["text"] == target for h in old))
    return found


# ---------------------------------------------------------------- report

def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def estimate(sentences: list[str], hours: float) -> None:
    """Kiwi's throughput on one forum's segments, and the analysis time at `hours`."""
    plan = Plan.of(hours)
    record = forum_record(plan, 0, sentences)
    analyzer = default_analyzer()
    analyzer.index_terms(["준비"])
    wall, cpu = time.perf_counter(), time.process_time()
    analyse(record, analyzer)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    per_forum = record.segment_count
    total = per_forum * plan.forums
    print(f"analysis of one forum ({per_forum} segments): {wall:.1f} s wall, {cpu:.1f} s CPU"
          f" ({per_forum / cpu:.0f} segments per CPU second; load {os.getloadavg()[0]:.1f})")
    print(f"{hours:g} hours = {total} segments: about {total / per_forum * cpu / 60:.0f} CPU"
          f" minutes of analysis, {total / per_forum * wall / 60:.0f} wall minutes at this load"
          " in one process")


def report(meta: dict[str, Any], results: dict[str, list[dict[str, Any]]],
           found: dict[str, list[bool]], plan: Plan, rounds: int) -> dict[str, Any]:
    text = meta["text_bytes"]
    summary: dict[str, Any] = {}
    for name in ("ours", "baseline"):
        mix = [r for r in results[name] if r["kind"] != "part of a word"]
        walls = [r["wall"] for r in mix]
        cpus = [r["cpu"] for r in mix]
        summary[name] = {
            "build_wall_s": meta["build"][name]["wall_s"],
            "build_cpu_s": meta["build"][name]["cpu_s"],
            "size": meta["sizes"][name], "size_ratio": meta["sizes"][name] / text,
            "p50": percentile(walls, 0.5), "p95": percentile(walls, 0.95),
            "p50_cpu": percentile(cpus, 0.5), "p95_cpu": percentile(cpus, 0.95),
            "max": max(walls), "recall": sum(found[name]) / len(found[name]),
            "found": sum(found[name]),
        }
    o, b = summary["ours"], summary["baseline"]
    print()
    print(f"{plan.hours:g} hours: {plan.forums} forums + the recall forum, {meta['segments']:,}"
          f" segments, {_mb(text)} of UTF-8 text; SQLite {sqlite3.sqlite_version},"
          f" Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    print("| index | build wall | build CPU | catalogue | size / text | p50 | p95 |"
          " p50 CPU | p95 CPU | recall (30 cases) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, label in (("baseline", "trigram + LIKE (baseline)"),
                        ("ours", "Kiwi morphology + substring (ours)")):
        s = summary[name]
        print(f"| {label} | {s['build_wall_s']:.0f} s | {s['build_cpu_s']:.0f} s |"
              f" {_mb(s['size'])} | x{s['size_ratio']:.2f} | {_ms(s['p50'])} | {_ms(s['p95'])} |"
              f" {_ms(s['p50_cpu'])} | {_ms(s['p95_cpu'])} | {s['found']}/30"
              f" ({s['recall']:.0%}) |")
    print(f"| ratio ours / baseline | x{o['build_wall_s'] / b['build_wall_s']:.1f} |"
          f" x{o['build_cpu_s'] / b['build_cpu_s']:.1f} | x{o['size'] / b['size']:.2f} | |"
          f" x{o['p50'] / b['p50']:.2f} | x{o['p95'] / b['p95']:.2f} |"
          f" x{o['p50_cpu'] / b['p50_cpu']:.2f} | x{o['p95_cpu'] / b['p95_cpu']:.2f} |"
          f" x{o['recall'] / max(b['recall'], 1e-9):.1f} |")
    print()
    print("| query kind | n | ours p50 | ours p95 | baseline p50 | baseline p95 |"
          " ours hits (mean) | baseline hits (mean) |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in [k for k, _ in QUERY_MIX] + ["part of a word"]:
        if kind == "part of a word":
            print("| *not in the 200:* | | | | | | | |")
        ours_rows = [r for r in results["ours"] if r["kind"] == kind]
        old_rows = [r for r in results["baseline"] if r["kind"] == kind]
        ow, bw = [r["wall"] for r in ours_rows], [r["wall"] for r in old_rows]
        print(f"| {kind} | {len(ours_rows)} | {_ms(percentile(ow, .5))} |"
              f" {_ms(percentile(ow, .95))} | {_ms(percentile(bw, .5))} |"
              f" {_ms(percentile(bw, .95))} |"
              f" {statistics.mean(r['hits'] for r in ours_rows):.1f} |"
              f" {statistics.mean(r['hits'] for r in old_rows):.1f} |")
    print()
    for name in ("ours", "baseline"):
        slow = sorted((r for r in results[name] if r["kind"] != "part of a word"),
                      key=lambda r: -r["wall"])[:12]
        print(f"slowest {name}: " + ", ".join(
            f"{r['query']} {_ms(r['wall'])}"
            + (f" ({r['matches']:,} matches)" if "matches" in r else "") for r in slow))
    print()
    print("| # | query | target | what | ours | baseline |")
    print("|---|---|---|---|---|---|")
    for n, ((query, target, what), mine, old) in enumerate(
            zip(RECALL_CASES, found["ours"], found["baseline"], strict=True), start=1):
        print(f"| {n} | {query} | {target} | {what} | {'yes' if mine else 'no'} |"
              f" {'yes' if old else 'no'} |")
    print()
    for name in ("ours", "baseline"):
        parts = ", ".join(f"{table} {_mb(size)}" for table, size in
                          meta["breakdown"][name].items() if size >= 1e5)
        print(f"{name} by table: {parts}")
    print(f"build: analysis in {meta['jobs']} process(es); ours' writing process used"
          f" {meta['build']['ours'].get('cpu_main_s', 0):.0f} s CPU; load at build"
          f" {meta.get('load_at_build')}")
    goals = {"size": o["size_ratio"] <= 3.0, "p95": o["p95"] < 0.050, "recall": o["recall"] >= .95}
    print(f"goals: index <= 3x text: {goals['size']} (x{o['size_ratio']:.2f});"
          f" p95 < 50 ms: {goals['p95']} ({_ms(o['p95'])}); recall >= 95%: {goals['recall']}"
          f" ({o['recall']:.0%})")
    return {"summary": summary, "goals": goals, "rounds": rounds,
            "load_end": os.getloadavg(), "sqlite": sqlite3.sqlite_version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=1000.0)
    parser.add_argument("--rebuild", action="store_true", help="build the catalogues anew")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes analysing forums (1: write_forum in this process)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed passes per query (its best is kept)")
    parser.add_argument("--build-only", action="store_true",
                        help="build (or check) the catalogues, measure nothing")
    parser.add_argument("--estimate", action="store_true",
                        help="only time the analysis of one forum and extrapolate")
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
    results = measure(queries, args.rounds, folder / "ours.sqlite", folder / "baseline.sqlite")
    found = recall(folder / "ours.sqlite", folder / "baseline.sqlite")
    summary = report(meta, results, found, plan, args.rounds)
    (folder / "results.json").write_text(json.dumps(
        {**summary, "queries": results, "recall": found}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
