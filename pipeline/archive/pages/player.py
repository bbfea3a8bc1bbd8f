"""The session page's player: its controls (HTML), their style and the one script that
runs them. The markup and the script belong together (the script finds the controls by
their ids); `pipeline.archive.pages.viewer.session_page` puts them on the page.

- **One constant script, no page data in it.** The web app allows the page's inline
  script by its sha256 (`pipeline.web.policy`), so the script is the same on every
  session page. What it needs of a page it reads from the page: the cue starts from
  the transcript's `#t=` links, the cue texts from the lines themselves.
- **Without JavaScript** the page is the video (captions on: the track is `default`),
  the whole transcript with a time link per line, and the downloads. Every control
  that needs the script is rendered `hidden` (marked `data-player`), and the script
  unhides them; the time links then seek.
- **Following playback.** The cue starts go into an array once; on `timeupdate` a
  binary search finds the cue being spoken (the last one started: through a pause the
  line just said stays current), and the DOM is touched only when that cue changes
  (class `current` and `aria-current="true"` move). The transcript is then a box of
  its own that scrolls (not the page), and the current line is scrolled into it,
  unless the viewer has scrolled the current line out of sight (a scroll the script
  did not make): following stops until the current line is in sight again (they
  scroll back, or playback reaches the lines they are reading, or they click one) or
  they press "현재 위치로"; "자동 스크롤" turns following off altogether.
- **Find in the transcript.** The texts are taken once (NFC, lower case) on first
  use. Each search counts every match in those strings at once (the count "3/12" is
  right away) and then rewrites the lines that change (those that match now or held
  marks before) nearest the first match first, 150 now and 150 a frame after that
  (a newer search cancels the rest): a common word in a 3-hour transcript matches
  thousands of times, and rewriting and laying out every line before answering would
  take longer than a keystroke. Lines are rewritten with text nodes and `<mark>`
  (never `innerHTML`: a line is text, whatever it holds). Enter and "다음" go to the
  next match, Shift+Enter and "이전" to the previous (its line is rewritten first if
  it is still waiting); going to a match scrolls its line into the transcript box and
  stops following (as a scroll by hand would); the line's time link seeks.
- **A link to this moment** is the page's address without its fragment plus
  `#t=SECONDS` (whole seconds), copied with `navigator.clipboard`; where that is
  missing or refused (an insecure origin, a sandbox, a denied permission) the link is
  selected in a read-only field and copied from there (`execCommand("copy")`), or left
  selected for the viewer to copy where that fails too. The field shows the link
  either way; the outcome is said in an aria-live region.
- **Keys** (not while typing in a field or on a button, whose own keys win): K or
  Space plays and pauses, J or ← goes back 10 s, L or → forward 10 s, < and > step
  the playback rate through 0.75-2 (the select shows it). Letters are read by their
  key position (`event.code`), so they work with a Korean keyboard layout too. On
  the video itself Space and the arrows are left to the browser's own controls.
  The one-character keys (K, J, L, <, >) can be turned off ("글자 단축키"), as
  KWCAG 2.1.4 (WCAG 2.1.4) asks: a speech-input user's words must not fire them.
- **Captions** are shown on load (`mode = "showing"`), not left to the browser's
  choice of the default track.
- **소리만 듣기** keeps the same media element playing (no second request, no lost
  position): a class collapses the video box to the height of its controls and moves
  the picture out of the box (`object-position`; a replaced element clips what
  overflows), so only the controls and the sound remain.

Speaker names: `pipeline.results.Segment` carries no speaker yet; the transcript will
show one beside each line once it gains a `speaker` field (rendered as text before
the line, found by find as well).
"""

from __future__ import annotations

RATES = (0.75, 1.0, 1.25, 1.5, 2.0)
SKIP_SECONDS = 10

# The controls under the video; hidden until the script runs.
_RATE_OPTIONS = "".join(
    f'<option value="{rate:g}"{" selected" if rate == 1.0 else ""}>{rate:g}배</option>'
    for rate in RATES
)
CONTROLS_HTML = f"""
<div class="controls" data-player hidden>
<label for="rate">재생 속도</label>
<select id="rate">{_RATE_OPTIONS}</select>
<label class="check"><input type="checkbox" id="audio-only"> 소리만 듣기</label>
<button type="button" id="copy-link">이 시점 링크 복사</button>
<label class="check"><input type="checkbox" id="letter-keys" checked> 글자 단축키</label>
</div>
<p id="share" class="share" hidden><label for="share-link">이 시점 링크</label>
<input id="share-link" type="text" readonly></p>
<p id="player-status" class="status" role="status" aria-live="polite"></p>
<ul class="keys" data-player hidden aria-label="단축키">
<li><kbd>K</kbd> 또는 <kbd>Space</kbd> 재생/일시정지</li>
<li><kbd>J</kbd> 또는 <kbd>←</kbd> {SKIP_SECONDS}초 뒤로</li>
<li><kbd>L</kbd> 또는 <kbd>→</kbd> {SKIP_SECONDS}초 앞으로</li>
<li><kbd>&lt;</kbd> <kbd>&gt;</kbd> 느리게/빠르게</li>
<li>글자 단축키(K, J, L, &lt;, &gt;)는 "글자 단축키"를 끄면 쓰지 않습니다.</li>
</ul>
""".strip()

# Above the transcript: find, and following; hidden until the script runs.
TRANSCRIPT_TOOLS_HTML = """
<div class="tools" data-player hidden>
<div class="find" role="search">
<label for="find">녹취록에서 찾기</label>
<input id="find" type="search" autocomplete="off" enterkeyhint="search">
<span id="find-count" class="count" role="status"></span>
<button type="button" id="find-prev">이전</button>
<button type="button" id="find-next">다음</button>
</div>
<label class="check"><input type="checkbox" id="follow" checked> 자동 스크롤</label>
<button type="button" id="to-current">현재 위치로</button>
</div>
""".strip()

PLAYER_CSS = """
[hidden] { display: none !important; }
button, select, input { font: inherit; }
button, select { padding: .15rem .6rem; }
.controls, .tools, .find, .keys { display: flex; flex-wrap: wrap; align-items: center;
                                  gap: .4rem .8rem; }
.controls, .tools { margin: .6rem 0; }
.find { flex: 1 1 100%; }
.find input { flex: 1 1 8rem; min-width: 0; padding: .15rem .4rem; }
.count { min-width: 3rem; font-variant-numeric: tabular-nums; }
.check { white-space: nowrap; }
.share input { width: 100%; box-sizing: border-box; }
.status { min-height: 1.6em; margin: 0; color: #1a1a1a; }
.keys { list-style: none; padding: 0; margin: .4rem 0; font-size: .9rem; color: #555; }
kbd { border: 1px solid #767676; border-radius: 3px; padding: 0 .3rem; color: #1a1a1a;
      background: #f6f6f6; font-family: inherit; }
.stage.audio-only video { height: 3.5rem; object-position: 0 -100vh; }
.transcript.boxed { max-height: min(60vh, 36rem); overflow-y: auto; position: relative;
                    border: 1px solid #ccc; padding: .3rem; }
.transcript li { padding: 0 .3rem; border-radius: 3px; }
.transcript li.current { background: #e8f0fe; box-shadow: inset 4px 0 0 #0b57d0; }
mark { background: #fff3a3; color: #1a1a1a; }
mark.current { background: #ffc940; outline: 2px solid #1a1a1a; }
#to-current.away { font-weight: bold; }
""".strip()

# The script; see the module's docstring. One function run at once: nothing global.
PLAYER_JS = r"""
(function () {
  "use strict";
  var video = document.getElementById("player");
  if (!video) { return; }
  function $(id) { return document.getElementById(id); }
  var list = $("transcript"), live = $("player-status");
  var RATES = [__RATES__], SKIP = __SKIP__;
  var items = list ? list.children : [], starts = [], current = -1, ours = -1;
  var away = false, texts = null, lowered = null, hitsIn = null, shown = null;
  var hasMarks = null, marksOf = [], query = "", hitLine = [], hitNth = [], at = -1;
  var generation = 0, seen = 0, CHUNK = 150;
  var follow = $("follow"), back = $("to-current"), find = $("find");
  var count = $("find-count"), rate = $("rate"), share = $("share");
  var letterKeys = $("letter-keys");
  function say(text) { live.textContent = text; }
  function on(element, type, handler) {
    if (element) { element.addEventListener(type, handler); }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-player]"),
    function (element) { element.hidden = false; });
  if (video.textTracks.length) { video.textTracks[0].mode = "showing"; }

  function seekTo(time) {
    var go = function () { video.currentTime = time; };
    if (video.readyState >= 1) { go(); }
    else { video.addEventListener("loadedmetadata", go, { once: true }); }
  }
  function seekHash(hash) {
    var match = /^#t=(\d+(?:\.\d+)?)$/.exec(hash);
    if (match) { seekTo(parseFloat(match[1])); }
  }
  window.addEventListener("load", function () { seekHash(location.hash); });
  window.addEventListener("hashchange", function () { seekHash(location.hash); });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest('a[href^="#t="]') : null;
    if (link && link.getAttribute("href") === location.hash) { seekHash(location.hash); }
  });

  // Following playback: a binary search over the starts; the DOM only on a change.
  for (var i = 0; i < items.length; i++) {
    starts.push(parseFloat(items[i].firstElementChild.getAttribute("href").slice(3)));
  }
  if (list) { list.classList.add("boxed"); }
  function cueAt(time) {
    var low = 0, high = starts.length - 1, found = -1;
    while (low <= high) {
      var middle = (low + high) >> 1;
      if (starts[middle] <= time) { found = middle; low = middle + 1; }
      else { high = middle - 1; }
    }
    return found;
  }
  function reveal(item) {
    list.scrollTop = item.offsetTop - list.clientHeight / 3;
    ours = list.scrollTop;
  }
  function inSight(item) {
    var top = item.offsetTop - list.scrollTop;
    return top + item.offsetHeight > 0 && top < list.clientHeight;
  }
  function setAway(value) {
    away = value;
    back.classList.toggle("away", value);
  }
  function onTime() {
    var next = cueAt(video.currentTime);
    if (next === current) { return; }
    if (current >= 0) {
      items[current].classList.remove("current");
      items[current].removeAttribute("aria-current");
    }
    current = next;
    if (next < 0) { return; }
    items[next].classList.add("current");
    items[next].setAttribute("aria-current", "true");
    if (away && inSight(items[next])) { setAway(false); }
    if (follow.checked && !away) { reveal(items[next]); }
  }
  if (list) {
    video.addEventListener("timeupdate", onTime);
    video.addEventListener("seeked", onTime);
    list.addEventListener("scroll", function () {
      if (Math.abs(list.scrollTop - ours) < 2) { return; }
      ours = -1;
      setAway(current >= 0 && !inSight(items[current]));
    }, { passive: true });
    onTime();
  }
  on(back, "click", function () {
    setAway(false);
    if (current >= 0) { reveal(items[current]); }
  });
  on(follow, "change", function () {
    setAway(false);
    if (follow.checked && current >= 0) { reveal(items[current]); }
  });

  // Find: the count at once; the lines rewritten nearest the match first, in chunks.
  function prepare() {
    texts = []; lowered = []; hitsIn = new Int32Array(items.length);
    shown = new Int32Array(items.length); hasMarks = new Uint8Array(items.length);
    for (var i = 0; i < items.length; i++) {
      var span = items[i].lastElementChild, text = span.textContent.normalize("NFC");
      var lower = text.toLowerCase();
      if (span.textContent !== text) { span.textContent = text; }
      texts.push(text);
      lowered.push(lower.length === text.length ? lower : text);
    }
  }
  function render(line) {
    if (shown[line] === generation) { return; }
    shown[line] = generation;
    var text = texts[line], span = items[line].lastElementChild, done = 0;
    marksOf[line] = [];
    if (!hitsIn[line]) {
      if (hasMarks[line]) { span.textContent = text; hasMarks[line] = 0; }
      return;
    }
    var parts = document.createDocumentFragment(), from = lowered[line].indexOf(query);
    while (from >= 0) {
      if (from > done) { parts.appendChild(document.createTextNode(text.slice(done, from))); }
      var mark = document.createElement("mark");
      mark.textContent = text.slice(from, from + query.length);
      parts.appendChild(mark);
      marksOf[line].push(mark);
      done = from + query.length;
      from = lowered[line].indexOf(query, done);
    }
    if (done < text.length) { parts.appendChild(document.createTextNode(text.slice(done))); }
    span.textContent = "";
    span.appendChild(parts);
    hasMarks[line] = 1;
  }
  function search() {
    if (!texts) { prepare(); }
    var mine = ++generation, work = [];
    query = find.value.normalize("NFC").toLowerCase().trim();
    hitLine = []; hitNth = []; at = -1;
    for (var i = 0; i < lowered.length; i++) {
      var from = query ? lowered[i].indexOf(query) : -1, nth = 0;
      while (from >= 0) {
        hitLine.push(i); hitNth.push(nth++);
        from = lowered[i].indexOf(query, from + query.length);
      }
      hitsIn[i] = nth;
      if (nth || hasMarks[i]) { work.push(i); }
    }
    // Nearest the first match (or the last one shown) first: two fingers walk out.
    var focus = hitLine.length ? hitLine[0] : seen, high = 0, low;
    while (high < work.length && work[high] < focus) { high++; }
    low = high - 1;
    (function run() {
      if (mine !== generation) { return; }
      for (var k = 0; k < CHUNK && (low >= 0 || high < work.length); k++) {
        var left = low >= 0 && (high >= work.length || focus - work[low] <= work[high] - focus);
        render(left ? work[low--] : work[high++]);
      }
      if (low >= 0 || high < work.length) { requestAnimationFrame(run); }
    })();
    if (hitLine.length) { goTo(0); }
    else { count.textContent = query ? "0/0" : ""; }
  }
  function goTo(index) {
    if (at >= 0) { marksOf[hitLine[at]][hitNth[at]].classList.remove("current"); }
    at = (index + hitLine.length) % hitLine.length;
    var line = seen = hitLine[at];
    render(line);
    marksOf[line][hitNth[at]].classList.add("current");
    reveal(items[line]);
    setAway(current >= 0 && line !== current);
    count.textContent = (at + 1) + "/" + hitLine.length;
  }
  function step(delta) { if (hitLine.length) { goTo(at + delta); } }
  on(find, "focus", function () { if (!texts) { prepare(); } });
  on(find, "input", search);
  on(find, "keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); step(event.shiftKey ? -1 : 1); }
  });
  on($("find-next"), "click", function () { step(1); });
  on($("find-prev"), "click", function () { step(-1); });

  // A link to this moment.
  on($("copy-link"), "click", function () {
    var url = location.href.split("#")[0] + "#t=" + Math.floor(video.currentTime);
    var field = $("share-link");
    field.value = url;
    share.hidden = false;
    function fallback() {
      field.focus();
      field.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      say(copied ? "링크를 복사했습니다" : "링크를 복사하지 못했습니다. 선택된 링크를 복사하세요.");
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(url).then(function () { say("링크를 복사했습니다"); },
                                              fallback);
    } else { fallback(); }
  });

  // Playback: rate, audio only, keys.
  function setRate(value) { video.playbackRate = value; }
  on(rate, "change", function () { setRate(parseFloat(rate.value)); });
  video.addEventListener("ratechange", function () {
    rate.value = String(video.playbackRate);
    say("재생 속도 " + video.playbackRate + "배");
  });
  function stepRate(delta) {
    var index = 0;
    while (index < RATES.length - 1 && RATES[index] < video.playbackRate) { index++; }
    setRate(RATES[Math.max(0, Math.min(RATES.length - 1, index + delta))]);
  }
  on($("audio-only"), "change", function (event) {
    video.parentNode.classList.toggle("audio-only", event.target.checked);
  });
  function skip(seconds) {
    var end = isFinite(video.duration) ? video.duration : Infinity;
    video.currentTime = Math.max(0, Math.min(end, video.currentTime + seconds));
  }
  function playPause() {
    if (video.paused || video.ended) {
      var playing = video.play();
      if (playing) { playing.catch(function () {}); }
    } else { video.pause(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target, tag = target.tagName || "", code = event.code;
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey ||
        /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(tag) || target.isContentEditable) { return; }
    var own = tag === "VIDEO", letters = !letterKeys || letterKeys.checked;
    if (!letters && (/^Key/.test(code) || event.key === "<" || event.key === ">")) { return; }
    if (code === "KeyK" || (event.key === " " && !own)) { playPause(); }
    else if (code === "KeyJ" || (event.key === "ArrowLeft" && !own)) { skip(-SKIP); }
    else if (code === "KeyL" || (event.key === "ArrowRight" && !own)) { skip(SKIP); }
    else if (event.key === "<" || event.key === ">") { stepRate(event.key === ">" ? 1 : -1); }
    else { return; }
    event.preventDefault();
  });
})();
""".strip().replace("__RATES__", ", ".join(f"{rate:g}" for rate in RATES)).replace(
    "__SKIP__", str(SKIP_SECONDS))
