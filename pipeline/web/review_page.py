"""The caption editor's page: HTML and style made on the server, one inline script.

The page is the same for every session and holds no transcript: the script
(`pipeline.web.review_script`) fetches the sessions and their cues with the token, and
writes them into the page as text. Its one piece of data, the forum's title, is escaped
here. The server sends it with a Content-Security-Policy that runs this script alone (by
its sha256), fetches only from the server itself, and plays only its clips.

Layout: the session list (검수 n/N per session); a session's video with its cue list
beside it, one under the other on a narrow screen. A flagged cue says "⚑ 검토 필요" in
words as well as in colour; a reviewed one "✓ 검수됨"; the cue being edited holds the
form (text, start, end) and is `aria-current`.
"""

from __future__ import annotations

from html import escape

from pipeline.archive.pages.document import STYLE, page_script_hash, with_skip_link
from pipeline.web.review_script import REVIEW_JS

SCRIPT_HASH = page_script_hash(REVIEW_JS)
PAGE_POLICY = (f"default-src 'none'; script-src {SCRIPT_HASH}; style-src 'unsafe-inline'; "
               "connect-src 'self'; media-src 'self'; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")

_CSS = """
body { max-width: 96rem; }
[hidden] { display: none !important; }
button, input, textarea { font: inherit; }
button { padding: .2rem .7rem; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1rem;
          align-items: start; }
.stage { position: sticky; top: 0; }
.tools { display: flex; flex-wrap: wrap; gap: .4rem .8rem; margin: .6rem 0; }
.keys { font-size: .9rem; color: #555; padding-left: 1.2rem; }
kbd { border: 1px solid #767676; border-radius: 3px; padding: 0 .3rem; color: #1a1a1a;
      background: #f6f6f6; font-family: inherit; }
.cues { list-style: none; padding: 0; margin: 0; max-height: 80vh; overflow-y: auto; }
.cue { border-left: 4px solid transparent; padding: .2rem .4rem; margin: .1rem 0; }
.cue.flagged { border-left-color: #b3261e; background: #fdf3f2; }
.cue[aria-current] { outline: 2px solid #0b57d0; background: #eef3fd; }
.cue-play { display: block; width: 100%; text-align: left; background: none; border: 0;
            padding: .2rem; cursor: pointer; color: #1a1a1a; }
.cue-play .text { display: block; }
.time { font-variant-numeric: tabular-nums; color: #444; }
.flag { font-weight: bold; color: #8c1d18; }
.done { color: #1e6b34; }
.edit { display: grid; grid-template-columns: auto 1fr auto 1fr; gap: .3rem .5rem;
        align-items: center; padding: .4rem 0; }
.edit textarea { grid-column: 1 / -1; width: 100%; box-sizing: border-box; }
.edit .text-label { grid-column: 1 / -1; }
.edit input { min-width: 0; }
.edit .actions { grid-column: 1 / -1; display: flex; flex-wrap: wrap; gap: .4rem; }
.alert { border-left: 4px solid #b3261e; padding: .4rem .8rem; background: #fdecea; }
.status { min-height: 1.6em; }
.count { color: #444; }
@media (max-width: 52rem) { .layout { grid-template-columns: minmax(0, 1fr); }
                            .stage { position: static; } .cues { max-height: none; } }
""".strip()

_KEYS = """
<ul class="keys" aria-label="단축키">
<li><kbd>Enter</kbd> 저장하고 다음 자막으로 (고치지 않았으면 검수 완료로 표시)</li>
<li><kbd>Esc</kbd> 고친 내용 되돌리기</li>
<li><kbd>Alt</kbd>+<kbd>R</kbd> 이 자막 다시 듣기</li>
<li><kbd>Alt</kbd>+<kbd>N</kbd> 다음 검토 필요 자막으로</li>
<li><kbd>Alt</kbd>+<kbd>S</kbd> 커서 위치에서 나누기</li>
<li><kbd>Alt</kbd>+<kbd>M</kbd> 다음 자막과 합치기</li>
</ul>
""".strip()

_EDIT_FORM = """
<div id="edit" class="edit" role="group" aria-label="자막 고치기" hidden>
<label class="text-label" for="edit-text">자막 내용</label>
<textarea id="edit-text" rows="2" lang="ko" spellcheck="false"></textarea>
<label for="edit-start">시작(초)</label>
<input id="edit-start" type="text" inputmode="decimal" autocomplete="off">
<label for="edit-end">끝(초)</label>
<input id="edit-end" type="text" inputmode="decimal" autocomplete="off">
<div class="actions">
<button type="button" id="save">저장 (Enter)</button>
<button type="button" id="cancel">되돌리기 (Esc)</button>
<button type="button" id="split">커서에서 나누기 (Alt+S)</button>
<button type="button" id="merge">다음과 합치기 (Alt+M)</button>
</div>
</div>
""".strip()


def render(forum_title: str) -> str:
    """The whole page, for the forum titled `forum_title`."""
    title = escape(forum_title)
    body = f"""<header><h1><span id="forum-title">{title}</span> 자막 검수</h1>
<p class="meta">고친 자막은 저장하는 즉시 작업 폴더에 남습니다. 다음 <code>sort-archive run</code>이
게시합니다.</p></header>
<main>
<p id="status" class="status" role="status" aria-live="polite"></p>
<section id="list-view" aria-labelledby="list-title" hidden>
<h2 id="list-title">세션</h2>
<ul id="sessions"></ul>
</section>
<section id="editor-view" aria-labelledby="session-title" hidden>
<p><a href="#" id="to-list">← 세션 목록</a></p>
<h2 id="session-title"></h2>
<p id="progress" class="count"></p>
<div id="conflict" class="alert" role="alert" hidden><p id="conflict-text"></p>
<button type="button" id="reload">다시 불러오기</button></div>
<div class="layout">
<div class="stage">
<video id="player" controls preload="metadata" playsinline></video>
<div class="tools">
<button type="button" id="replay">다시 듣기 (Alt+R)</button>
<button type="button" id="next-flagged">다음 검토 필요 (Alt+N)</button>
</div>
{_KEYS}
</div>
<ol id="cues" class="cues" aria-label="자막"></ol>
</div>
{_EDIT_FORM}
</section>
</main>"""
    return (
        "<!doctype html>\n<html lang=\"ko\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{title} - 자막 검수</title>\n<style>\n{STYLE}\n{_CSS}\n</style>\n</head>\n"
        f"<body>\n{with_skip_link(body)}\n<script>\n{REVIEW_JS}\n</script>\n</body>\n</html>\n"
    )
