"""`sort-archive serve` under load: the real server (its command, in a subprocess, on
loopback) answering concurrent clients with a mixed query load, on the search benchmark's
catalogue (build/bench-search/<hours>h/ours.sqlite: build it with search.py first).

The load: search.py's 200 mixed queries and 20 parts of words, as /api/search (JSON)
and as the HTML search page (one request in four), one in five asking a later page
(offset 20 or 100), in a seeded shuffled order. Each concurrency level (a baseline of 1,
then --clients) sends at most --requests requests and runs at most --seconds seconds,
after a warm-up of one request per query at concurrency 1 (which also fills the
analyser's cache of typed words: the levels measure queries asked before). A third
level has the --clients pause between searches (--think, mean seconds, exponential,
seeded), as archivists reading their hits do; the second is the closed loop, clients
that never pause: the server's capacity. Reported per level:
requests per second, p50 and p95 of the response time, the slowest request, errors
(any status but 200, or a failed connection: there must be none), and the ratios of
the loaded level against the baseline measured in the same run.

Usage: .venv/bin/python scripts/bench/serve.py [--hours 1000] [--clients 20]
       [--requests 600] [--seconds 120]
"""

from __future__ import annotations

import http.client
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from _common import ROOT, bench_parser, percentile, print_table, write_json
from _search_archive import SEED, speech_sentences
from _search_measure import make_queries, word_parts

BUILD = ROOT / "build" / "bench-search"
SERVE_START_S = 60.0  # Kiwi's model loads before the first answer


@dataclass(frozen=True)
class Level:
    clients: int
    think_s: float
    requests: int
    seconds: float
    times: list[float]
    errors: list[str]
    slowest: str

    def row(self) -> dict[str, float | int | str]:
        return {"clients": self.clients, "think_s": self.think_s, "requests": self.requests,
                "rps": self.requests / self.seconds, "p50": percentile(self.times, .5),
                "p95": percentile(self.times, .95), "max": max(self.times),
                "errors": len(self.errors), "slowest": self.slowest}


def paths(count: int) -> list[str]:
    """The mixed load: `count` request paths, seeded."""
    sentences = speech_sentences()
    queries = [q for _, q in make_queries(sentences) + word_parts(sentences)]
    rng = random.Random(f"{SEED}/serve")
    chosen = []
    for n in range(count):
        params = {"q": queries[n % len(queries)]}
        if rng.random() < 0.2:
            params["offset"] = rng.choice(("20", "100"))
        route = "/" if rng.random() < 0.25 else "/api/search"
        chosen.append(f"{route}?{urlencode(params)}")
    rng.shuffle(chosen)
    return chosen


def start_server(catalogue: Path) -> tuple[subprocess.Popen[str], int]:
    """`sort-archive serve` on a free loopback port; the port, read from its first line."""
    command = [str(Path(sys.executable).with_name("sort-archive")), "serve", "--quiet",
               "--host", "127.0.0.1", "--port", "0", "--catalogue", str(catalogue)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert server.stdout is not None
    line = server.stdout.readline()  # "searching ... at http://127.0.0.1:PORT/; ..."
    if "http://" not in line:
        server.kill()
        raise SystemExit(f"serve did not start: {line!r}")
    port = int(line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    return server, port


def _get(port: int, path: str) -> tuple[float, str | None]:
    """One request on its own connection: its time, and what went wrong (None: a 200)."""
    started = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            problem = None if response.status == 200 else f"{response.status} {path}"
        finally:
            conn.close()
    except OSError as exc:
        problem = f"{type(exc).__name__} {path}"
    return time.perf_counter() - started, problem


def run_level(port: int, load: list[str], clients: int, limit_s: float,
              think_s: float = 0.0) -> Level:
    """`clients` threads taking the next path until the load or the time runs out; with
    `think_s`, each pauses after an answer for a time drawn (seeded) from an exponential
    distribution of that mean, as an archivist reads the hits before the next search."""
    lock = threading.Lock()
    queue = iter(load)
    times: list[tuple[float, str]] = []
    errors: list[str] = []
    deadline = time.perf_counter() + limit_s

    def client(number: int) -> None:
        pauses = random.Random(f"{SEED}/think/{number}")
        while time.perf_counter() < deadline:
            with lock:
                path = next(queue, None)
            if path is None:
                return
            spent, problem = _get(port, path)
            with lock:
                times.append((spent, path))
                if problem:
                    errors.append(problem)
            if think_s > 0:
                time.sleep(min(pauses.expovariate(1 / think_s), deadline - time.perf_counter(),
                               10 * think_s) if time.perf_counter() < deadline else 0)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spent = time.perf_counter() - started
    worst = max(times)
    return Level(clients, think_s, len(times), spent, [t for t, _ in times], errors,
                 f"{worst[1]} {worst[0] * 1000:.0f} ms")


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--hours", type=float, default=1000.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=600, help="at most, per level")
    parser.add_argument("--seconds", type=float, default=120.0, help="at most, per level")
    parser.add_argument("--think", type=float, default=3.0,
                        help="archivists' mean pause between searches, seconds (a third level"
                             " besides the closed loop; 0: none)")
    args = parser.parse_args()
    folder = BUILD / f"{args.hours:g}h"
    catalogue = folder / "ours.sqlite"
    if not catalogue.exists():
        raise SystemExit(f"no {catalogue}: run scripts/bench/search.py --hours {args.hours:g}"
                         " --build-only first")
    load = paths(args.requests)
    server, port = start_server(catalogue)
    try:
        warm = run_level(port, sorted(set(load)), 1, SERVE_START_S)  # Kiwi, page cache
        levels = [run_level(port, load, n, args.seconds) for n in (1, args.clients)]
        if args.think > 0:
            levels.append(run_level(port, load, args.clients, args.seconds, args.think))
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [level.row() for level in levels]
    print(f"serve at {args.hours:g} hours: {len(load)} requests per level at most,"
          f" {args.seconds:g} s at most; warm-up {warm.requests} requests, {len(warm.errors)}"
          f" errors; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print_table(("clients", "think", "requests", "requests/s", "p50", "p95", "slowest",
                 "errors"),
                [(str(r["clients"]), f"{r['think_s']:g} s", str(r["requests"]), f"{r['rps']:.1f}",
                  f"{float(r['p50']) * 1000:.0f} ms", f"{float(r['p95']) * 1000:.0f} ms",
                  str(r["slowest"]), str(r["errors"])) for r in rows])
    base, loaded = rows[:2]
    print(f"ratios {args.clients} clients / 1: " + ", ".join(
        f"{name} x{float(loaded[key]) / float(base[key]):.2f}"
        for key, name in (("rps", "requests/s"), ("p50", "p50"), ("p95", "p95"))))
    for level in levels:
        for problem in level.errors[:5]:
            print(f"error at {level.clients} clients: {problem}")
    write_json(folder / "serve.json", {"levels": rows, "warm_errors": warm.errors})


if __name__ == "__main__":
    main()
