"""Heavy session pages: a 3-hour session's page in Chromium, our player script against a
naive one.

The page: `session_page` (pipeline/archive/pages/viewer.py) with 2,500 synthetic Korean
cues spread evenly over 3 hours (seeded: phrases of a forum talk, 25 to 60 characters a
cue), written to a temporary folder and opened from it. The baseline is the same page
with the player's script (pipeline/archive/pages/player.py) swapped for a naive one doing
the same two jobs the obvious way: on every `timeupdate`, a linear scan of all the cues'
links for the current one and every line's class and `aria-current` written again, then
the transcript box scrolled to it; on every keystroke of find, every line's text read
back from the page and every line rewritten (marks where it matches).

How the follow-along handler is timed. A session page cannot be given 3 hours of media
here, and a media element's `currentTime` cannot be set past its duration; so the bench
(never the page) installs, before the page's script runs, a `currentTime` getter on
`HTMLMediaElement.prototype` that returns a time the bench sets. Then it dispatches
`timeupdate` on the video for each time of a sequence: `dispatchEvent` runs the page's
listeners synchronously, so the time around it is the handler's own cost, including the
style and layout it forces (the scroll reads a line's offset) but not the paint after it.
Two sequences: playback (a 20-minute stretch, one event per 0.25 s as Chromium fires
them while playing; the current cue changes every 17 events or so) and seeks (500
random times: the cue changes at every event, the costly path). The mean is the
sequence's total over its events; p95 is per event, at the resolution Chromium gives
performance.now() (0.1 ms without cross-origin isolation).

How find is timed: the search box's value set and an `input` event dispatched (as a
paste would). "Count shown" is until the event returns (the count "1/N" is written and
the first match scrolled to by then), "with layout" until a forced layout after it
returns (what the next frame would cost before it paints), "all marked" until every
match's `<mark>` is in the page (ours marks the lines nearest the match at once and
the rest a frame at a time; the naive one all at once). Each query from an empty box,
after the previous marks are gone; the median of `--runs`. Typing: the common word one
syllable at a time, 150 ms apart (a quick typist) and 30 ms apart (a burst), each
keystroke with its layout; the best run's mean and max. "First find" is the first
search after the page has loaded and been laid out (ours takes the lines' texts then).
The ratio is ours against the naive one; under 1 is faster.

Page size: the HTML's bytes against the budget (1 MB) and against the cues' own text
(UTF-8), and gzipped, as a CDN would send it.

Usage: .venv/bin/python scripts/bench/pages.py [--cues 2500] [--hours 3] [--runs 5]
"""

from __future__ import annotations

import gzip
import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

from _common import bench_parser, machine, percentile, print_table

from pipeline.archive.pages.player import PLAYER_JS
from pipeline.archive.pages.viewer import session_page
from pipeline.results import ForumSummary, Segment, SessionPlan, SpeakerRef

CHROMIUM = "/usr/bin/chromium"  # Debian's, launched as tests/web_archive.py launches it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
BUDGET = 1024 * 1024
SEED = 18
QUERIES = ("있습니다", "사회적 가치", "투명성", "의")
TYPING_PAUSES = (150, 30)  # ms between syllables: a quick typist, and a burst

_NOUNS = ("공공기관", "사회적 가치", "지역 사회", "협력", "성과 측정", "평가 지표", "정책",
          "시민 참여", "예산", "투명성", "일자리", "환경", "안전", "혁신", "데이터", "공공 서비스",
          "주민", "기업", "탄소 중립", "인권 경영", "상생", "동반 성장", "지속 가능성", "윤리 경영")
_ENDINGS = ("에 대해 말씀드리겠습니다", "이 중요합니다", "을 함께 보겠습니다",
            "이 필요하다고 봅니다", "의 사례가 있습니다", "에 관한 논의가 있습니다",
            "을 높여야 합니다", "이 달라지고 있습니다")

# The naive baseline: the same two jobs, the obvious way (see the docstring).
NAIVE_JS = r"""
(function () {
  var video = document.getElementById("player"), list = document.getElementById("transcript");
  var find = document.getElementById("find"), count = document.getElementById("find-count");
  list.classList.add("boxed");
  Array.prototype.forEach.call(document.querySelectorAll("[data-player]"),
    function (element) { element.hidden = false; });
  video.addEventListener("timeupdate", function () {
    var time = video.currentTime, items = list.children, found = -1;
    for (var i = 0; i < items.length; i++) {
      if (parseFloat(items[i].firstElementChild.getAttribute("href").slice(3)) <= time) {
        found = i;
      }
    }
    for (var j = 0; j < items.length; j++) {
      items[j].classList.toggle("current", j === found);
      if (j === found) { items[j].setAttribute("aria-current", "true"); }
      else { items[j].removeAttribute("aria-current"); }
    }
    if (found >= 0) { list.scrollTop = items[found].offsetTop - list.clientHeight / 3; }
  });
  find.addEventListener("input", function () {
    var query = find.value.normalize("NFC").toLowerCase().trim(), items = list.children;
    var first = null, total = 0;
    for (var i = 0; i < items.length; i++) {
      var span = items[i].lastElementChild, text = span.textContent.normalize("NFC");
      var lower = text.toLowerCase(), from = query ? lower.indexOf(query) : -1, done = 0;
      span.textContent = "";
      while (from >= 0) {
        span.appendChild(document.createTextNode(text.slice(done, from)));
        var mark = document.createElement("mark");
        mark.textContent = text.slice(from, from + query.length);
        span.appendChild(mark);
        first = first || mark;
        total++;
        done = from + query.length;
        from = lower.indexOf(query, done);
      }
      span.appendChild(document.createTextNode(text.slice(done)));
    }
    count.textContent = total ? "1/" + total : (query ? "0/0" : "");
    if (first) { list.scrollTop = first.closest("li").offsetTop - list.clientHeight / 3; }
  });
})();
""".strip()

# Installed before the page's script: `currentTime` reads the bench's clock when set.
FAKE_CLOCK = """
(function () {
  var real = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, "currentTime");
  Object.defineProperty(HTMLMediaElement.prototype, "currentTime", {
    configurable: true,
    get: function () {
      return window.__benchTime === undefined ? real.get.call(this) : window.__benchTime;
    },
    set: function (value) { real.set.call(this, value); },
  });
})();
"""

FOLLOW = """(times) => {
  const video = document.getElementById("player");
  window.__benchTime = -1;
  video.dispatchEvent(new Event("timeupdate"));
  const samples = [];
  const started = performance.now();
  for (const time of times) {
    window.__benchTime = time;
    const before = performance.now();
    video.dispatchEvent(new Event("timeupdate"));
    samples.push(performance.now() - before);
  }
  const total = performance.now() - started;
  const current = document.querySelectorAll("#transcript > li.current[aria-current=true]");
  return {total, samples, current: current.length};
}"""

FIND = """async ([query, runs]) => {
  const input = document.getElementById("find"), count = document.getElementById("find-count");
  const marks = () => document.querySelectorAll("#transcript mark").length;
  const until = async (done) => {
    while (!done()) { await new Promise((go) => setTimeout(go, 2)); }
  };
  const handler = [], layout = [], all = [];
  for (let run = 0; run < runs; run++) {
    input.value = "";
    input.dispatchEvent(new Event("input"));
    await until(() => marks() === 0);
    await new Promise((go) => setTimeout(go, 50));
    input.value = query;
    const before = performance.now();
    input.dispatchEvent(new Event("input"));
    const after = performance.now();
    document.body.offsetHeight;
    layout.push(performance.now() - before);
    handler.push(after - before);
    const total = Number(count.textContent.split("/")[1] || 0);
    await until(() => marks() === total);
    all.push(performance.now() - before);
  }
  return {handler, layout, all, count: count.textContent, marks: marks()};
}"""

# The first search after the page loads (our script takes the lines' texts then).
FIRST = """(query) => {
  const input = document.getElementById("find");
  input.value = query;
  const before = performance.now();
  input.dispatchEvent(new Event("input"));
  document.body.offsetHeight;
  return performance.now() - before;
}"""

# Typing a word one syllable at a time, `pause` ms apart: each keystroke's handler and
# layout, as FIND times one.
TYPING = """async ([word, pause]) => {
  const input = document.getElementById("find");
  const costs = [];
  input.value = "";
  input.dispatchEvent(new Event("input"));
  await new Promise((go) => setTimeout(go, 500));
  for (let end = 1; end <= word.length; end++) {
    input.value = word.slice(0, end);
    const before = performance.now();
    input.dispatchEvent(new Event("input"));
    document.body.offsetHeight;
    costs.push(performance.now() - before);
    await new Promise((go) => setTimeout(go, pause));
  }
  return costs;
}"""


def synthetic_segments(cues: int, hours: float, seed: int = SEED) -> list[Segment]:
    """`cues` lines of forum talk, evenly over `hours` (seeded)."""
    rng = random.Random(seed)
    step = hours * 3600 / cues
    segments = []
    for n in range(cues):
        phrases = [f"{rng.choice(_NOUNS)}{rng.choice(_ENDINGS)}" for _ in range(rng.randint(1, 3))]
        text = ". ".join(phrases) + "."
        segments.append(Segment(start=round(n * step, 2), end=round((n + 1) * step - 0.1, 2),
                                text=text))
    return segments


def heavy_page(segments: list[Segment], hours: float) -> str:
    forum = ForumSummary(id="bench", title="벤치마크 포럼", date="2026-12-01",
                         organiser="사회적가치연구원", language="ko")
    plan = SessionPlan(number=1, id="long", title="세 시간 세션", start=0.0, end=hours * 3600,
                       speakers=(SpeakerRef(name="김민지", organisation="행정안전부"),))
    return session_page(forum, plan, duration=hours * 3600,
                        files={"video": "clip.mp4", "vtt": "clip.ko.vtt",
                               "srt": "clip.ko.srt", "txt": "clip.ko.txt"},
                        language="ko", segments=segments, forum_href="../../index.html")


def sequences(hours: float, seed: int = SEED) -> dict[str, list[float]]:
    rng = random.Random(f"{seed}/seeks")
    start = min(3600.0, hours * 3600 / 3)
    return {"playback (20 min, 4 Hz)": [start + n * 0.25 for n in range(20 * 60 * 4)],
            "seeks (500 random)": [rng.uniform(0, hours * 3600) for _ in range(500)]}


def measure(browser: Any, page_path: Path, runs: int, hours: float) -> dict[str, Any]:
    """Follow-along and find on one page: the best run of each sequence, find's medians."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(FAKE_CLOCK)
    page.goto(page_path.as_uri())
    page.evaluate("document.body.offsetHeight")  # the page laid out, as a viewer sees it
    page.wait_for_timeout(500)
    results: dict[str, Any] = {"first find": page.evaluate(FIRST, QUERIES[0]), "follow": {},
                               "find": {}, "typing": {}}
    for name, times in sequences(hours).items():
        best = min((page.evaluate(FOLLOW, times) for _ in range(runs)),
                   key=lambda run: run["total"])
        assert best["current"] == 1, best["current"]
        results["follow"][name] = {"mean": best["total"] / len(times),
                                   "p95": percentile(best["samples"], 0.95),
                                   "max": max(best["samples"])}
    for pause in TYPING_PAUSES:
        costs = [page.evaluate(TYPING, [QUERIES[0], pause]) for _ in range(runs)]
        results["typing"][pause] = {"max": min(max(run) for run in costs),
                                    "mean": min(statistics.mean(run) for run in costs)}
    for query in QUERIES:
        found = page.evaluate(FIND, [query, runs])
        results["find"][query] = {"handler": statistics.median(found["handler"]),
                                  "layout": statistics.median(found["layout"]),
                                  "all": statistics.median(found["all"]),
                                  "count": found["count"], "marks": found["marks"]}
    page.close()
    return results


def report(html: str, segments: list[Segment], ours: dict[str, Any],
           naive: dict[str, Any], version: str) -> None:
    size, text = len(html.encode("utf-8")), sum(len(s.text.encode("utf-8")) for s in segments)
    print(f"\nMachine: {machine(f'Chromium {version}', ffmpeg=False)}\n")
    print_table(["page", "bytes", "vs budget (1 MB)", "vs the cues' text", "gzipped"], [
        [f"{len(segments):,} cues", f"{size:,}", f"{size / BUDGET:.2f}", f"{size / text:.2f}",
         f"{len(gzip.compress(html.encode('utf-8'))):,}"]])
    print()
    print_table(["follow-along, per timeupdate", "ours mean", "ours p95", "ours max",
                 "naive mean (baseline)", "naive p95", "ours / naive (mean)"],
                [[name, f"{o['mean']:.4f} ms", f"{o['p95']:.2f} ms", f"{o['max']:.2f} ms",
                  f"{n['mean']:.3f} ms", f"{n['p95']:.2f} ms", f"{o['mean'] / n['mean']:.4f}"]
                 for (name, o), n in zip(ours["follow"].items(), naive["follow"].values(),
                                         strict=True)])
    print()
    print_table(["find (from an empty box)", "matches", "ours: count shown", "ours: with layout",
                 "ours: all marked", "naive: with layout (baseline)", "ours / naive"],
                [[query, o["count"].split("/")[-1] or "0", f"{o['handler']:.1f} ms",
                  f"{o['layout']:.1f} ms", f"{o['all']:.0f} ms", f"{n['layout']:.1f} ms",
                  f"{o['layout'] / n['layout']:.2f}"]
                 for (query, o), n in zip(ours["find"].items(), naive["find"].values(),
                                          strict=True)])
    print()
    print_table(["typing " + QUERIES[0] + ", per syllable", "ours mean", "ours max",
                 "naive mean (baseline)", "naive max", "ours / naive (max)"],
                [[f"{pause} ms apart", f"{o['mean']:.1f} ms", f"{o['max']:.1f} ms",
                  f"{n['mean']:.1f} ms", f"{n['max']:.1f} ms", f"{o['max'] / n['max']:.2f}"]
                 for (pause, o), n in zip(ours["typing"].items(), naive["typing"].values(),
                                          strict=True)])
    print(f"\nfirst find after load ({QUERIES[0]}, with taking the texts): "
          f"ours {ours['first find']:.1f} ms, naive {naive['first find']:.1f} ms")


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--cues", type=int, default=2500)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    segments = synthetic_segments(args.cues, args.hours)
    html = heavy_page(segments, args.hours)
    assert html.count(PLAYER_JS) == 1
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        ours_path, naive_path = Path(tmp) / "ours.html", Path(tmp) / "naive.html"
        ours_path.write_text(html, encoding="utf-8")
        naive_path.write_text(html.replace(PLAYER_JS, NAIVE_JS), encoding="utf-8")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ours = measure(browser, ours_path, args.runs, args.hours)
            naive = measure(browser, naive_path, args.runs, args.hours)
            version = browser.version
        finally:
            browser.close()
    for query in QUERIES:
        assert ours["find"][query]["marks"] == naive["find"][query]["marks"], query
    report(html, segments, ours, naive, version)


if __name__ == "__main__":
    main()
