"""`sort-archive serve` against slow, idle and many clients: raw sockets, a real server.

The first test runs `python -m pipeline serve` as staff do, with the production
limits (pipeline.web.server); the others run the same uvicorn configuration
(`server_config`) in a thread with the timeouts shortened, so they take seconds.
"""

from __future__ import annotations

import json
import select
import socket
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from pipeline.catalogue import write_forum
from pipeline.web.app import create_app
from pipeline.web.server import (
    KEEP_ALIVE_S,
    MAX_CONNECTIONS,
    REQUEST_TIMEOUT_S,
    Limits,
    server_config,
)
from tests.catalogue.builders import forum_2024
from tests.web.test_app import serving
from tests.web.threaded import uvicorn_in_thread

MARGIN_S = 4.0  # a loaded CI machine's slack: the limits are what is checked, not speed
REQUEST = b"GET /archive/hello.txt HTTP/1.1\r\nHost: test\r\n\r\n"
PARTIAL = b"GET /archive/hello.txt HTTP/1.1\r\nHost: test\r\nX-Slow: "


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "hello.txt").write_text("hello\n")
    return folder


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def is_closed(sock: socket.socket) -> bool:
    """Whether the server has closed `sock` (readable with nothing left to read)."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(65536) == b""
    except ConnectionError:
        return True


def closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closes `sock`, sending `trickle` a byte every 0.25 s
    meanwhile; None if it is still open after `seconds`."""
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < seconds:
        if is_closed(sock):
            return time.monotonic() - start
        if sent < len(trickle):
            try:
                sock.sendall(trickle[sent:sent + 1])
            except ConnectionError:
                return time.monotonic() - start
            sent += 1
        time.sleep(0.25)
    return None


def answer(sock: socket.socket, request: bytes = REQUEST) -> bytes:
    """One whole response to `request` on `sock` (its headers say how long the body is)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_serve_closes_slow_and_silent_connections_and_still_answers(
        tmp_path: Path, archive: Path) -> None:
    """20 clients sending headers a byte at a time and one sending nothing: all cut off
    by REQUEST_TIMEOUT_S; meanwhile, and after, a plain request is answered."""
    server = serving(tmp_path, "--catalogue", str(tmp_path / "none.sqlite"), "--archive",
                     str(archive))
    base = next(server)
    try:
        silent, slow = connect(base), [connect(base) for _ in range(20)]
        opened = time.monotonic()
        for sock in slow:
            sock.sendall(PARTIAL[:10])
        with connect(base) as plain:
            assert answer(plain).endswith(b"\r\n\r\nhello\n")
        trickles = {sock: 10 for sock in slow}
        open_ones = [silent, *slow]
        while open_ones and time.monotonic() - opened < REQUEST_TIMEOUT_S + MARGIN_S:
            open_ones = [sock for sock in open_ones if not is_closed(sock)]
            for sock in [s for s in open_ones if s in trickles]:
                try:  # each keeps sending, which must not put its deadline off
                    sock.sendall(PARTIAL[trickles[sock]:trickles[sock] + 1] or b"x")
                    trickles[sock] += 1
                except ConnectionError:
                    open_ones.remove(sock)
            time.sleep(0.25)
        assert open_ones == [], f"{len(open_ones)} still open after {REQUEST_TIMEOUT_S} s"
        with connect(base) as plain:
            assert answer(plain).startswith(b"HTTP/1.1 200 ")
    finally:
        server.close()
        for sock in [silent, *slow]:
            sock.close()


@contextmanager
def running(archive: Path, limits: Limits) -> Iterator[str]:
    """`serve`'s uvicorn configuration, with `limits`, in a thread; yields its base URL."""
    config = server_config(create_app(archive / "none.sqlite", archive), log_level="warning",
                           forwarded_allow_ips=None, limits=limits)
    with uvicorn_in_thread(config, start_within=60) as base:
        yield base


SHORT = Limits(request_timeout_s=2.0, keep_alive_s=1, max_connections=8)


def test_an_idle_keep_alive_connection_is_closed(archive: Path) -> None:
    with running(archive, SHORT) as base, connect(base) as sock:
        assert answer(sock).startswith(b"HTTP/1.1 200 ")
        assert answer(sock).startswith(b"HTTP/1.1 200 ")  # kept alive between the two
        waited = closed_within(sock, SHORT.keep_alive_s + MARGIN_S)
        assert waited is not None, "an idle keep-alive connection stayed open"


def test_a_partial_request_and_a_trickled_one_are_cut_off(archive: Path) -> None:
    with running(archive, SHORT) as base:
        with connect(base) as partial:
            partial.sendall(PARTIAL)
            assert closed_within(partial, SHORT.request_timeout_s + MARGIN_S) is not None
        # After a response, the next request's first byte stops the keep-alive timer;
        # trickling the rest must not keep the connection open.
        kept = connect(base)
        assert answer(kept).startswith(b"HTTP/1.1 200 ")
        waited = closed_within(kept, SHORT.request_timeout_s + MARGIN_S, trickle=PARTIAL * 4)
        assert waited is not None, "a request trickled a byte at a time kept its connection"
        kept.close()
        with connect(base) as plain:
            assert answer(plain).startswith(b"HTTP/1.1 200 ")


def test_beyond_the_connection_limit_a_request_is_a_503(archive: Path) -> None:
    limits = Limits(request_timeout_s=30.0, keep_alive_s=30, max_connections=4)
    with running(archive, limits) as base:
        idle = [connect(base) for _ in range(limits.max_connections - 1)]
        for sock in idle:  # answered, so surely counted; then kept alive, idle
            assert answer(sock).startswith(b"HTTP/1.1 200 ")
        with connect(base) as sock:
            assert answer(sock).startswith(b"HTTP/1.1 503 ")
        for sock in idle:
            sock.close()
        deadline = time.monotonic() + 10
        while True:  # the server sees the idle ones go
            with connect(base) as sock:
                if answer(sock).startswith(b"HTTP/1.1 200 "):
                    break
            assert time.monotonic() < deadline, "still 503 once the idle connections went"
            time.sleep(0.1)


def test_serve_runs_with_the_production_limits() -> None:
    config = server_config(object(), log_level="info", forwarded_allow_ips=None)
    assert (config.timeout_keep_alive, config.limit_concurrency) == (KEEP_ALIVE_S,
                                                                     MAX_CONNECTIONS)
    assert getattr(config.http, "request_timeout_s", None) == REQUEST_TIMEOUT_S
    assert config.ws == "none" and config.proxy_headers


def test_many_searches_at_once_take_turns_and_each_gets_its_own_answer(
        tmp_path: Path) -> None:
    """24 searches sent at once to an app that runs one at a time: every one answered,
    with what it answers alone (no search is lost in the queue or given another's rows)."""
    catalogue = tmp_path / "catalogue.sqlite"
    write_forum(catalogue, forum_2024())
    queries = ["사회적", "만들다", "선언문 채택", "가치", "포럼", "없는말입니다"] * 4
    config = server_config(create_app(catalogue, searches_at_once=1), log_level="warning",
                           forwarded_allow_ips=None)

    def ask(base: str, query: str) -> tuple[int, list[str]]:
        url = f"{base}/api/search?q={quote(query)}"
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, [h["text"] for h in json.loads(response.read())["hits"]]

    with uvicorn_in_thread(config, start_within=60) as base:
        alone = {query: ask(base, query) for query in set(queries)}
        with ThreadPoolExecutor(len(queries)) as pool:
            together = list(pool.map(lambda query: ask(base, query), queries))
    assert together == [alone[query] for query in queries]
    assert sum(1 for status, hits in alone.values() if status == 200 and hits) >= 4
