"""The web app under load while `sort-archive index --rebuild` replaces the catalogue, and
the web app over a catalogue its user can only read.

The app is `serve`'s (`pipeline.web.app.create_app`) under a real uvicorn on
127.0.0.1, in a thread of the test, so that the rebuild (the real one, from two
forums that the publish stage wrote: tests/catalogue/published.py) runs beside it.
Clients search without pause until the rebuilds are done; every answer must be
200 with exactly the hits the catalogue holds (the rebuild writes the same hits).
The test does not depend on timing: it counts the searches that were in flight
while a rebuild ran, and those during which the file was renamed over, and
rebuilds again (up to a bound) until enough of them were.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import uvicorn

from pipeline.catalogue import SearchQuery, search
from pipeline.catalogue.analyzer import default_analyzer
from pipeline.catalogue.archive import Archive
from pipeline.catalogue.rebuild import rebuild
from pipeline.config.forum import Storage
from pipeline.stages.index import IndexRequest, index_forum
from pipeline.stages.publish import publish
from pipeline.web.app import create_app
from pipeline.web.page import snippet_html
from tests.catalogue.builders import FORUM_2024, FORUM_2025
from tests.catalogue.published import publish_request
from tests.catalogue.read_only import as_reader, shared_folder, writable_by_reader
from tests.progress_recorder import RecordingProgress
from tests.web.threaded import uvicorn_in_thread

QUERIES = ["선언문 채택", "사회적 가치", "만들다", "김민지", "가스공사", "자료집"]
CLIENTS = 4
MIN_OVERLAPPING = 20  # searches in flight while a rebuild ran
MIN_REPLACED = 3  # searches in flight when the file was renamed over
MAX_REBUILDS = 8


@dataclass(frozen=True)
class Published:
    storage: Storage  # the local archive folder
    catalogue: Path  # as the index stage wrote it


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, clip_file: Path) -> Published:
    """Two forums published to a local folder and indexed, as `sort-archive run` does."""
    root = tmp_path_factory.mktemp("load")
    storage, catalogue = Storage(local=root / "archive"), root / "catalogue.sqlite"
    for forum in (FORUM_2024, FORUM_2025):
        request = publish_request(root, clip_file, forum, storage)
        published = publish(request, RecordingProgress())
        index_forum(IndexRequest(forum, request.transcripts, published, catalogue,
                                 request.materials), RecordingProgress())
    return Published(storage, catalogue)


@contextmanager
def served(catalogue: Path) -> Iterator[str]:
    """`serve`'s app over `catalogue` under uvicorn in a thread; yields its base URL."""
    config = uvicorn.Config(create_app(catalogue), log_level="warning")
    with uvicorn_in_thread(config, start_within=30) as base:
        yield base


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def expected_hits(catalogue: Path) -> dict[str, list[dict[str, object]]]:
    hits = {q: search(catalogue, SearchQuery(q)).as_json()["hits"] for q in QUERIES}
    assert all(hits.values()), hits
    return hits


@dataclass(frozen=True)
class Answer:
    path: str  # "api" or "page"
    query: str
    status: int
    body: bytes
    began: float
    ended: float
    replaced: bool  # the catalogue file was renamed over while this request ran


def inode(path: Path) -> int:
    return os.stat(path).st_ino


def client(base: str, catalogue: Path, number: int, stop: threading.Event,
           answers: list[Answer]) -> None:
    """Search without pause, the JSON API and the page by turns, until `stop`."""
    turn = number
    while not stop.is_set():
        query = QUERIES[turn % len(QUERIES)]
        path = "api" if turn % 3 else "page"
        url = (f"{base}/api/search?" if path == "api" else f"{base}/?") + urlencode({"q": query})
        before, began = inode(catalogue), time.monotonic()
        status, body = get(url)
        ended, after = time.monotonic(), inode(catalogue)
        answers.append(Answer(path, query, status, body, began, ended, before != after))
        turn += 1


def check(answer: Answer, expected: dict[str, list[dict[str, object]]]) -> str | None:
    """What is wrong with one answer, or None."""
    if answer.status != 200:
        return f"{answer.path} {answer.query!r}: {answer.status} {answer.body[:300]!r}"
    if answer.path == "api":
        hits = json.loads(answer.body)["hits"]
        return None if hits == expected[answer.query] else f"api {answer.query!r}: {hits}"
    page = answer.body.decode("utf-8")
    missing = [h["snippet"] for h in expected[answer.query]
               if snippet_html(str(h["snippet"])) not in page]
    return f"page {answer.query!r} lacks {missing}" if missing else None


def test_searches_while_the_catalogue_is_rebuilt_all_answer_with_the_right_hits(
        archive: Published, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.sqlite"
    catalogue.write_bytes(archive.catalogue.read_bytes())  # as the index stage wrote it
    expected = expected_hits(catalogue)
    default_analyzer()  # Kiwi loaded before the clock starts
    answers: list[Answer] = []
    rebuilds: list[tuple[float, float]] = []
    stop = threading.Event()
    with served(catalogue) as base:
        threads = [threading.Thread(target=client, args=(base, catalogue, n, stop, answers))
                   for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            while len(rebuilds) < 2 or (sum(a.replaced for a in answers) < MIN_REPLACED
                                        and len(rebuilds) < MAX_REBUILDS):
                began = time.monotonic()
                rebuild(catalogue, [Archive(archive.storage)],
                        RecordingProgress())
                rebuilds.append((began, time.monotonic()))
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    problems = [p for a in answers if (p := check(a, expected)) is not None]
    assert problems == [], f"{len(problems)} of {len(answers)} answers wrong: {problems[:5]}"
    overlapping = [a for a in answers
                   if any(a.began < end and a.ended > start for start, end in rebuilds)]
    assert len(overlapping) >= MIN_OVERLAPPING, (len(overlapping), len(answers))
    assert sum(a.replaced for a in answers) >= MIN_REPLACED, (len(rebuilds), len(answers))
    assert expected_hits(catalogue) == expected  # the rebuilt file holds the same
    assert catalogue.read_bytes()[18] == 2  # in WAL mode from the start: no reader sets it


def test_the_app_searches_a_catalogue_in_a_read_only_folder(archive: Published,
                                                           tmp_path: Path) -> None:
    reference = tmp_path / "catalogue.sqlite"
    reference.write_bytes(archive.catalogue.read_bytes())
    expected = expected_hits(reference)
    default_analyzer()  # loaded as root, before the block that runs as another user
    with shared_folder() as folder:
        catalogue = folder / "catalogue.sqlite"
        catalogue.write_bytes(archive.catalogue.read_bytes())  # no `-wal`, no `-shm`
        catalogue.chmod(0o444)
        for writable in (False, True):  # a read-only folder, then a writable one
            if writable:
                writable_by_reader(folder)
            else:
                folder.chmod(0o555)
            with served(catalogue) as base, as_reader():
                answers = [get(f"{base}/api/search?" + urlencode({"q": q})) for q in QUERIES]
                page = get(f"{base}/?" + urlencode({"q": QUERIES[0]}))
            assert [status for status, _ in answers] == [200] * len(QUERIES), answers
            assert [json.loads(body)["hits"] for _, body in answers] == [
                expected[q] for q in QUERIES]
            assert page[0] == 200 and snippet_html(str(expected[QUERIES[0]][0]["snippet"])) in \
                page[1].decode("utf-8")
            if not writable:
                assert [p.name for p in folder.iterdir()] == ["catalogue.sqlite"]
