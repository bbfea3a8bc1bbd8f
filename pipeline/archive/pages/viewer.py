"""Static viewer pages for a published forum: pure functions that return HTML.

The pages are plain HTML with a little inline CSS and script and no external
assets, so a forum folder works the same when opened from a local disk, a
bucket or a CDN. Every link they contain is relative and is handed in by the
caller, which owns the key layout; this module only escapes and arranges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from pipeline.archive.pages.document import (
    Link,
    clock,
    document,
    seek_fragment,
    size_text,
    speakers_text,
)
from pipeline.archive.pages.player import (
    CONTROLS_HTML,
    PLAYER_CSS,
    PLAYER_JS,
    TRANSCRIPT_TOOLS_HTML,
)
from pipeline.results import ForumSummary, Segment, SessionPlan
from pipeline.transcripts.registry import downloads

MATERIAL_KINDS = {
    "proceedings": "자료집",
    "slides": "발표자료",
    "declaration": "선언문",
    "other": "기타 자료",
}

LANGUAGES = {"ko": "한국어", "en": "English"}

# Download links on the session page, by the role of the file, in display order:
# the video, then the transcript formats.
DOWNLOADS = {"video": "영상 (MP4)", **downloads()}

# "검수 완료" (reviewed): a session whose every caption staff have checked. Text, not
# colour alone; dark green on white is 7.4:1.
BADGE = ('<span class="badge" title="사람이 자막과 녹취록을 모두 검수했습니다">'
         "검수 완료</span>")
BADGE_CSS = (".badge { display: inline-block; border: 1px solid #1b5e20; color: #1b5e20; "
             "border-radius: 0.3em; padding: 0 0.4em; font-size: 0.875em; }")



@dataclass(frozen=True)
class SessionEntry:
    """One row of the forum page: the session and the relative link to its page."""

    plan: SessionPlan
    duration: float
    href: str
    reviewed: bool = False  # every cue reviewed by staff: the "검수 완료" badge


@dataclass(frozen=True)
class MaterialEntry:
    """One downloadable material on the forum page."""

    file_name: str
    kind: str
    title: str | None
    size: int
    href: str


def forum_page(
    forum: ForumSummary,
    sessions: Sequence[SessionEntry],
    materials: Sequence[MaterialEntry],
    bundle: Link | None = None,
    search: Link | None = None,
    head: str = "",
) -> str:
    """The forum's landing page: its sessions in programme order, then its materials
    one by one and, as `bundle`, all of them in one zip; `head` is the page's link
    preview tags (`pages.meta.head_tags`); `search` links the forum's
    search page."""
    rows = "\n".join(
        "<tr>"
        f"<td>{entry.plan.number}</td>"
        f'<td><a href="{escape(entry.href)}">{escape(entry.plan.title)}</a>'
        f'{" " + BADGE if entry.reviewed else ""}</td>'
        f"<td>{escape(speakers_text(entry.plan.speakers))}</td>"
        f"<td>{clock(entry.duration)}</td>"
        "</tr>"
        for entry in sessions
    )
    session_block = (
        "<table>\n<caption>세션 목록</caption>\n"
        '<thead><tr><th scope="col">번호</th><th scope="col">제목</th>'
        '<th scope="col">발표자</th><th scope="col">길이</th></tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table>"
        if sessions
        else "<p>공개된 세션이 없습니다.</p>"
    )
    material_items = "\n".join(
        f'<li><a href="{escape(m.href)}">{escape(m.title or m.file_name)}</a> '
        f'<span class="meta">({escape(MATERIAL_KINDS.get(m.kind, m.kind))}, '
        f"{escape(m.file_name)}, {size_text(m.size)})</span></li>"
        for m in materials
    )
    bundle_item = (
        f'\n<p><a href="{escape(bundle.href)}" download>{escape(bundle.label)}</a></p>'
        if bundle else ""
    )
    material_block = (
        f"<h2>자료</h2>\n<ul>\n{material_items}\n</ul>{bundle_item}\n" if materials else ""
    )
    search_item = (
        f'<p><a href="{escape(search.href)}" rel="search">{escape(search.label)}</a></p>\n'
        if search else ""
    )
    body = (
        f"<header>\n<h1>{escape(forum.title)}</h1>\n"
        f'<p class="meta">{escape(forum.date)} · {escape(forum.organiser)}</p>\n'
        f"{search_item}</header>\n"
        f"<main>\n<h2>세션</h2>\n{session_block}\n{material_block}</main>"
    )
    badge = any(entry.reviewed for entry in sessions)
    return document(forum.title, forum.language, body, head=head,
                    style=BADGE_CSS if badge else "")


def session_page(
    forum: ForumSummary,
    session: SessionPlan,
    *,
    duration: float,
    files: Mapping[str, str],
    language: str,
    segments: Sequence[Segment],
    forum_href: str,
    previous: Link | None = None,
    following: Link | None = None,
    head: str = "",
    reviewed: bool = False,
) -> str:
    """One session: the video with captions and the player's controls
    (`pipeline.archive.pages.player`: following, find, a link to the moment, keys,
    sound only), the transcript with a time link per line, downloads.

    `files` maps the roles of `DOWNLOADS` ("video" required, "vtt" for the
    subtitle track) to links relative to the page. `language` is the
    subtitles' language code. Without "vtt" the page shows the video alone.
    `head` is the page's link preview tags and structured data (`pages.meta`).
    `reviewed`: staff reviewed every cue, shown as a "검수 완료" badge by the title.
    Speaker names are not shown beside the lines yet: `Segment` has no speaker;
    once it gains a `speaker` field, `_transcript` writes it before each line.
    """
    download_items = "\n".join(
        f'<li><a href="{escape(files[role])}">{escape(label)}</a></li>'
        for role, label in DOWNLOADS.items()
        if role in files
    )
    nav = _session_nav(forum.title, forum_href, previous, following)
    speakers = speakers_text(session.speakers)
    body = (
        f'<nav aria-label="포럼">\n<ul>\n{nav}\n</ul>\n</nav>\n'
        f"<header>\n<h1>{session.number}. {escape(session.title)}</h1>\n"
        + (f'<p class="meta">{escape(speakers)}</p>\n' if speakers else "")
        + f'<p class="meta">길이 {clock(duration)}</p>\n'
        + (f"<p>{BADGE}</p>\n" if reviewed else "") + "</header>\n"
        f"<main>\n{_video(session.title, files, language)}\n{CONTROLS_HTML}\n"
        f"{_transcript(segments)}"
        f"<h2>내려받기</h2>\n<ul>\n{download_items}\n</ul>\n</main>"
    )
    return document(f"{session.title} - {forum.title}", forum.language, body, PLAYER_JS,
                    style=f"{PLAYER_CSS}\n{BADGE_CSS}" if reviewed else PLAYER_CSS, head=head)


def _transcript(segments: Sequence[Segment]) -> str:
    """The lines, each with its start as a `#t=` link (the script reads the starts
    from these links) and its text in a span (which find rewrites). The link's name is
    the time it shows (a label such as "영상 0:07로 이동" would not contain the visible
    "0:07" as a word, and would add 40 bytes a line to a 2,500-line page)."""
    if not segments:
        return ""
    lines = "\n".join(
        f'<li><a href="{seek_fragment(seg.start)}">'
        f"{clock(seg.start)}</a> <span>{escape(seg.text.strip())}</span></li>"
        for seg in segments
    )
    return (f'<h2 id="transcript-title">녹취록</h2>\n{TRANSCRIPT_TOOLS_HTML}\n'
            f'<ol class="transcript" id="transcript" aria-labelledby="transcript-title">\n'
            f"{lines}\n</ol>\n")


def _video(title: str, files: Mapping[str, str], language: str) -> str:
    video_href, subtitles_href = files["video"], files.get("vtt")
    track = (
        f'\n<track kind="subtitles" srclang="{escape(language)}" '
        f'label="{escape(LANGUAGES.get(language, language))}" '
        f'src="{escape(subtitles_href)}" default>'
        if subtitles_href
        else ""
    )
    poster = f' poster="{escape(files["poster"])}"' if files.get("poster") else ""
    return (
        '<div class="stage">\n'
        f'<video id="player" controls preload="metadata"{poster} '
        f'aria-label="{escape(title)} 영상">\n'
        f'<source src="{escape(video_href)}" type="video/mp4">{track}\n'
        f'<p>이 브라우저는 영상을 재생할 수 없습니다. <a href="{escape(video_href)}">'
        "영상 파일을 내려받으세요</a>.</p>\n</video>\n</div>"
    )


def _session_nav(forum_title: str, forum_href: str, previous: Link | None,
                 following: Link | None) -> str:
    items = [f'<li><a href="{escape(forum_href)}">{escape(forum_title)}</a></li>']
    if previous:
        items.append(f'<li><a href="{escape(previous.href)}" rel="prev">'
                     f"이전: {escape(previous.label)}</a></li>")
    if following:
        items.append(f'<li><a href="{escape(following.href)}" rel="next">'
                     f"다음: {escape(following.label)}</a></li>")
    return "\n".join(items)
