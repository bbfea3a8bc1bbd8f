"""Reviewer time: correcting known errors in the caption editor against a text editor on the VTT.

The workload: one session of `--cues` cues of real Korean (the speech corpus' reference
sentences, or fixed sentences without it) over a silent counter clip, `--errors` of them
with a known recognition error put in (a space inside a word, as "한국 가스공사"; a wrong
syllable; a dropped particle), written by the pipeline's own writers. quality.json flags
every wrong cue and, as flags do, some right ones (`--false-flags` per wrong one).

**The editor, scripted.** Chromium (Playwright) drives `sort-archive review`'s real
server and page as a reviewer would, with keys only: Alt+N to the next flagged cue
(it plays), then either Enter (right as it is: marked reviewed) or Home, Ctrl+→ to the
end of the word before the error, Ctrl+Shift+→ over the wrong words, the correction
typed, Enter (saved, on to the next). Every key press is counted (a chord is one press);
typed Hangul counts its jamo, the keys of a 2-beolsik keyboard (각 = ㄱ ㅏ ㄱ: 3). The
review file is checked to hold every correction. Seconds are measured per corrected cue
(Alt+N to saved) and per save (Enter to "저장했습니다"): the editor's own latency, no
human in it.

**The baseline, counted.** The same corrections in a text editor with the .vtt open and
a media player beside it, knowing which lines are wrong (the text editor shows no flags,
so it visits no right cue): per error, switch to the player (Alt+Tab), point at the
cue's time on its timeline and click, play, switch back (Alt+Tab): 4 presses and one
pointing; then Ctrl+F, type the wrong words (their jamo), Enter, Escape (the match stays
selected), type the correction; one Ctrl+S at the end.

**Human seconds** for both, by the keystroke-level model (Card, Moran and Newell): 0.28 s
a press (an average typist), 1.1 s a pointing, 1.35 s of thought before each of the
three steps of a correction (find, check, fix: the same on both sides), plus the cue's
length listened to, once per visited cue (the editor also hears its false flags). The
ratios are the editor's over the baseline's; under 1 is less work.
"""

from __future__ import annotations

import random
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import bench_parser, corpus_texts, machine, print_table, table_row

CHROMIUM = "/usr/bin/chromium"  # Debian's, launched as tests/web_archive.py launches it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
CUE_S, GAP_S = 2.6, 0.4
KEY_S, POINT_S, THINK_S = 0.28, 1.1, 1.35
FALLBACK = ["사회적 가치를 측정하는 방법에 대해 말씀드리겠습니다",
            "한국가스공사의 사례를 먼저 보겠습니다",
            "지역 사회와의 협력이 무엇보다 중요합니다",
            "공공기관의 성과 평가는 어떻게 바뀌어야 할까요"]


@dataclass(frozen=True)
class Error:
    cue: int
    right: str  # the cue's true text
    wrong: str  # what the transcript says
    before: int  # words before the wrong ones
    wrong_words: int
    fix: str  # the words typed over the wrong ones


def jamo(text: str) -> int:
    """Key presses to type `text` on a 2-beolsik keyboard (a jamo or any other
    character is one press; shifted double consonants are one chord)."""
    return len(unicodedata.normalize("NFD", text))


def inject(cue: int, text: str, rng: random.Random) -> Error | None:
    """One recognition error in `text`, of a kind Whisper makes."""
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 4]
    if not long:
        return None
    i = rng.choice(long)
    word, kind = words[i], rng.choice(["space", "syllable", "particle"])
    if kind == "space":
        bad = [word[:2], word[2:]]
    elif kind == "syllable":
        k = rng.randrange(len(word))
        bad = [word[:k] + ("가" if word[k] != "가" else "나") + word[k + 1:]]
    else:
        bad = [word[:-1]]
    wrong = " ".join([*words[:i], *bad, *words[i + 1:]])
    return Error(cue, text, wrong, i, len(bad), word)


def workload(cues: int, errors: int, seed: int) -> tuple[list[str], list[Error]]:
    from pipeline.errors import PipelineError

    rng = random.Random(seed)
    try:
        sentences = [s for talk in corpus_texts() for s in talk if 12 <= len(s) <= 60]
    except (OSError, PipelineError):  # no corpus here: the fixed sentences
        sentences = []
    pool = sentences or FALLBACK
    texts = [pool[rng.randrange(len(pool))] for _ in range(cues)]
    found: list[Error] = []
    for cue in rng.sample(range(cues), cues):
        if len(found) == errors:
            break
        error = inject(cue, texts[cue], rng)
        if error is not None:
            texts[cue] = error.wrong
            found.append(error)
    return texts, sorted(found, key=lambda e: e.cue)


def build(folder: Path, texts: list[str], flagged: list[int]) -> Path:
    """The work folder of forum "bench" with one session; returns the work folder."""
    from pipeline.asr.job import transcript_files, write_files
    from pipeline.results import Segment, SessionPlan

    seconds = len(texts) * (CUE_S + GAP_S) + 1
    plan = SessionPlan(number=1, id="talk", title="검수 시간 측정", start=0.0, end=seconds)
    session = folder / "sessions" / plan.slug
    session.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"color=c=gray:s=160x120:r=10:d={seconds}", "-f", "lavfi", "-i",
                    f"anullsrc=r=16000:cl=mono:d={seconds}", "-shortest", "-c:v", "libx264",
                    "-preset", "ultrafast", "-c:a", "aac", str(session / f"{plan.slug}.mp4")],
                   check=True)
    segments = tuple(Segment(start=round(i * (CUE_S + GAP_S), 3),
                             end=round(i * (CUE_S + GAP_S) + CUE_S, 3), text=text)
                     for i, text in enumerate(texts))
    spans = [{"start": segments[i].start + 0.5, "end": segments[i].end - 0.5, "text": ""}
             for i in flagged]
    write_files(transcript_files(session, plan.slug, "ko"), plan, "ko", "base", segments,
                {"duration": seconds, "speech_ratio": 1.0, "low_confidence": spans})
    return folder


def serve(work: Path) -> tuple[str, str, Any]:
    """The editor's server in a thread: (base URL, token, uvicorn server)."""
    import socket

    import uvicorn

    from pipeline.web.review import create_review_app
    from pipeline.web.review_work import Workspace
    from pipeline.web.server import server_config

    token = secrets.token_urlsafe(32)
    app = create_review_app(Workspace(work), token, forum_title="벤치")
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(app, log_level="warning", forwarded_allow_ips=None))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", token, server


class Keys:
    """The page's keyboard, counting presses."""

    def __init__(self, page: Any) -> None:
        self.page, self.presses = page, 0

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
        self.presses += times

    def type(self, text: str) -> None:
        self.page.keyboard.insert_text(text)
        self.presses += jamo(text)


def caret(page: Any) -> tuple[int, int]:
    return tuple(page.locator("#edit-text").evaluate(  # type: ignore[return-value]
        "box => [box.selectionStart, box.selectionEnd]"))


def fix(keys: Keys, error: Error) -> None:
    """Home; Ctrl+→ until the caret is at the end of the word before the error (the
    browser's word steps: a digit and Hangul are two); Ctrl+Shift+→ until the wrong words
    are selected (Shift+← back if a step went past); the correction typed over them."""
    words = error.wrong.split()
    start = len(" ".join(words[:error.before]))
    end = len(" ".join(words[:error.before + error.wrong_words]))
    keys.press("Home")
    while caret(keys.page)[0] < start:
        keys.press("Control+ArrowRight")
    while caret(keys.page)[0] > start:
        keys.press("ArrowLeft")
    while caret(keys.page)[1] < end:
        keys.press("Control+Shift+ArrowRight")
    while caret(keys.page)[1] > end:
        keys.press("Shift+ArrowLeft")
    keys.type(f" {error.fix}" if error.before else error.fix)


def saved(page: Any, count: int) -> None:
    """Wait for the `count`th save's answer."""
    page.wait_for_function(f"window.__saves >= {count}", polling=5)


def review(page: Any, errors: dict[str, Error]) -> dict[str, Any]:
    """Visit every flagged cue with Alt+N; correct the wrong ones. Presses and seconds."""
    keys = Keys(page)
    per_fix, per_save, visits, saves = [], [], 0, 0
    while True:
        began = time.perf_counter()
        keys.press("Alt+N")
        if "더 없습니다" in page.locator("#status").inner_text():
            break
        visits += 1
        text = page.locator("#edit-text").input_value()
        error = errors.get(text)
        if error is not None:
            fix(keys, error)
        enter = time.perf_counter()
        keys.press("Enter")
        saves += 1
        saved(page, saves)
        per_save.append(time.perf_counter() - enter)
        if error is not None:
            per_fix.append(time.perf_counter() - began)
    return {"presses": keys.presses, "visits": visits, "per_fix": per_fix,
            "per_save": per_save}


COUNT_SAVES = """
window.__saves = 0;
new MutationObserver(() => {
  if (document.getElementById('status').textContent.startsWith('저장했습니다')) {
    window.__saves += 1;
  }
}).observe(document.getElementById('status'), {subtree: true, childList: true,
                                               characterData: true});
"""


def drive(base: str, token: str, errors: list[Error]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(bypass_csp=True)
            page.goto(f"{base}/#token={token}&session=01-talk")
            page.locator("#cues li").first.wait_for()
            page.evaluate(COUNT_SAVES)
            return review(page, {e.wrong: e for e in errors})
        finally:
            browser.close()


def baseline(errors: list[Error]) -> int:
    per_error = sum(4 + 1 + jamo(" ".join(e.wrong.split()[e.before:e.before + e.wrong_words]))
                    + 2 + jamo(e.fix) for e in errors)
    return per_error + 1  # Ctrl+S


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--cues", type=int, default=120)
    parser.add_argument("--errors", type=int, default=12)
    parser.add_argument("--false-flags", type=float, default=1.0,
                        help="right cues flagged per wrong one (default 1)")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    texts, errors = workload(args.cues, args.errors, args.seed)
    rng = random.Random(args.seed + 1)
    right = [i for i in range(args.cues) if i not in {e.cue for e in errors}]
    false = rng.sample(right, min(len(right), round(args.false_flags * len(errors))))
    with tempfile.TemporaryDirectory() as tmp:
        work = build(Path(tmp) / "bench", texts, sorted([e.cue for e in errors] + false))
        base, token, server = serve(work)
        try:
            result = drive(base, token, errors)
        finally:
            server.should_exit = True
        from pipeline.review.document import load_review

        document = load_review(work / "sessions" / "01-talk" / "01-talk.review.json")
        assert document is not None
        for error in errors:
            assert document.cues[error.cue].text == error.right, (document.cues[error.cue],
                                                                 error)
    report(args, errors, result, baseline(errors))


def report(args: Any, errors: list[Error], result: dict[str, Any], base_keys: int) -> None:
    n = len(errors)
    visits = result["visits"]
    think = 3 * THINK_S * n
    listen_editor, listen_base = CUE_S * visits, CUE_S * n
    editor_s = result["presses"] * KEY_S + think + listen_editor
    base_s = base_keys * KEY_S + n * POINT_S + think + listen_base
    print(f"{machine('chromium')}")
    print(f"{args.cues} cues, {n} wrong, {visits - n} right ones flagged too; every "
          "correction checked in the review file\n")
    print_table(["", "caption editor", "text editor + player", "ratio"])
    print(table_row("key presses per corrected cue", f"{result['presses'] / n:.1f}",
                    f"{base_keys / n:.1f}", f"{result['presses'] / base_keys:.2f}"))
    print(table_row("human seconds per corrected cue (KLM)", f"{editor_s / n:.1f}",
                    f"{base_s / n:.1f}", f"{editor_s / base_s:.2f}"))
    print(table_row("editor latency: Alt+N to saved, median (s)",
                    f"{statistics.median(result['per_fix']):.3f}", "", ""))
    print(table_row("editor latency: Enter to saved, median / max (ms)",
                    f"{statistics.median(result['per_save']) * 1000:.0f} / "
                    f"{max(result['per_save']) * 1000:.0f}", "", ""))


if __name__ == "__main__":
    main()
