"""What publish puts in storage for one forum: every object with its key, checksum and headers.

Keys are the same in a local folder and in a bucket, so an archive can move
from one to the other unchanged and the pages' relative links keep working:

    [prefix/]{forum}/index.html, search.html, search-index.json, forum.json, materials.zip
    [prefix/]{forum}/sessions/{slug}/{slug}.mp4, poster.jpg, .ko.vtt, .ko.srt, .json, .txt,
                                     index.html
    [prefix/]{forum}/materials/{file name}

Keys are built from validated parts only (`pipeline.storage.keys`). Pages link every
other object with `?v=<first 12 hex digits of its sha256>`: the objects are
served as immutable for a year, and a changed clip or corrected subtitle gets a
new URL while its key, and every link from outside, stays the same.
`search-index.json` (search.html's index as a file) is linked that way too, from the
series home page (`pipeline.archive.root`), which reads its sha256 in forum.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from pipeline.archive.bundle import BUNDLE_NAME, write_bundle
from pipeline.archive.forum_json import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    BundleEntry,
    ForumManifest,
    MaterialEntry,
    ReviewEntry,
    SessionEntry,
)
from pipeline.archive.pages import search as search_page
from pipeline.archive.pages import viewer as pages
from pipeline.archive.pages.document import Link, size_text, speakers_text
from pipeline.archive.pages.meta import (
    LOCALES,
    PageMeta,
    VideoFacts,
    describe,
    describe_text,
    head_tags,
    video_object,
)
from pipeline.errors import PublishError
from pipeline.results import Clip, ForumSummary, MaterialFile, Transcript
from pipeline.storage import keys
from pipeline.storage.backend import IMMUTABLE, StoredItem, data_item, file_item
from pipeline.transcripts.cues import timed_cues
from pipeline.transcripts.registry import FORMATS


@dataclass(frozen=True)
class SessionObjects:
    clip: Clip
    transcript: Transcript | None
    files: dict[str, StoredItem]  # role (video, poster, each format's name) -> object
    page_key: str


@dataclass(frozen=True)
class ArchiveLayout:
    root: str
    media: list[StoredItem]  # clips, transcripts, materials, the bundle, search-index.json
    sessions: list[SessionObjects]
    pages: list[StoredItem]  # session pages, then the forum page
    forum_page: StoredItem
    body: ForumManifest  # forum.json without its list of objects

    def manifest(self, listed: list[StoredItem]) -> StoredItem:
        return data_item(keys.join(self.root, MANIFEST_NAME), self.body.listing(listed).text())


def versioned(href: str, item: StoredItem) -> str:
    """A relative link that changes whenever the object's bytes do."""
    return f"{href}?v={item.sha256[:12]}"


def _name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def session_objects(root: str, clip: Clip, transcript: Transcript | None,
                    checksum: Callable[[Path], str]) -> SessionObjects:
    slug = clip.session.slug
    folder = keys.session_folder(root, slug)
    files = {"video": file_item(f"{folder}/{slug}.mp4", clip.path, "clip", checksum)}
    if clip.poster is not None:
        files["poster"] = file_item(f"{folder}/poster.jpg", clip.poster, "poster", checksum)
    if transcript is not None:
        lang, paths = keys.segment(transcript.language, "language"), transcript.files
        files |= {
            fmt.name: file_item(f"{folder}/{fmt.file_name(slug, lang)}", fmt.path(paths),
                                fmt.kind, checksum, media_type=fmt.content_type)
            for fmt in FORMATS
        }
    return SessionObjects(clip, transcript, files, f"{folder}/index.html")


def material_objects(root: str, materials: list[MaterialFile],
                     checksum: Callable[[Path], str]) -> list[tuple[MaterialFile, StoredItem]]:
    """One object per material, under `materials/` with its file name (NFC) alone."""
    items: dict[str, tuple[MaterialFile, StoredItem]] = {}
    for material in materials:
        name = keys.segment(material.path.name, "material")
        key = keys.join(root, "materials", name)
        if key in items:
            raise PublishError(f"two materials are both named '{name}'",
                               "rename one of the files so each material has its own name")
        items[key] = (material, file_item(key, material.path, "material", checksum))
    return list(items.values())


def bundle_object(root: str, materials: list[tuple[MaterialFile, StoredItem]],
                  scratch: Path) -> StoredItem | None:
    """materials.zip of every material, built in `scratch`; None without materials."""
    if not materials:
        return None
    target = scratch / BUNDLE_NAME
    members = []
    for material, item in materials:
        members.append((_name(item.key), material.path))
    try:
        write_bundle(members, target)
    except OSError as exc:
        raise PublishError(f"cannot build {BUNDLE_NAME} in {scratch}: {exc.strerror or exc}",
                           "free some space in the temporary folder (TMPDIR)") from exc
    return file_item(keys.join(root, BUNDLE_NAME), target, "materials bundle")


def _session_head(forum: ForumSummary, out: SessionObjects, forum_url: str | None) -> str:
    """A session page's link preview tags and its VideoObject structured data."""
    session = out.clip.session
    folder = f"sessions/{quote(session.slug)}/"
    page_url = f"{forum_url}{folder}index.html" if forum_url else None

    def link(role: str) -> str | None:
        if role not in out.files:
            return None
        href = versioned(quote(_name(out.files[role].key)), out.files[role])
        return f"{forum_url}{folder}{href}" if forum_url else href

    segments = out.transcript.segments if out.transcript else ()
    description = describe(segments) or describe_text(
        f"{forum.title} · {speakers_text(session.speakers)}")
    title = f"{session.title} - {forum.title}"
    meta = PageMeta(title=title, description=description, site_name=forum.organiser,
                    url=page_url, image=link("poster"), kind="video.other",
                    locale=LOCALES.get(forum.language, forum.language))
    video = VideoFacts(name=title, description=description, upload_date=forum.date,
                       duration=out.clip.duration, content_url=link("video") or "",
                       page_url=page_url, thumbnail=link("poster"),
                       language=out.transcript.language if out.transcript else forum.language)
    return head_tags(meta) + video_object(video)


def _session_page(forum: ForumSummary, outs: list[SessionObjects], index: int,
                  forum_url: str | None) -> str:
    out = outs[index]

    def neighbour(other: int) -> Link | None:
        if not 0 <= other < len(outs):
            return None
        plan = outs[other].clip.session
        return Link(f"{plan.number}. {plan.title}", f"../{quote(plan.slug)}/index.html")

    return pages.session_page(
        forum, out.clip.session, duration=out.clip.duration,
        files={role: versioned(quote(_name(item.key)), item)
               for role, item in out.files.items()},
        language=out.transcript.language if out.transcript else forum.language,
        # The lines as the captions show them: no line too short to see or repeated.
        segments=timed_cues(out.transcript.segments, until=out.clip.duration)
        if out.transcript else (),
        forum_href="../../index.html", previous=neighbour(index - 1),
        following=neighbour(index + 1), head=_session_head(forum, out, forum_url),
        reviewed=_reviewed(out),
    )


def _reviewed(out: SessionObjects) -> bool:
    """Staff reviewed every cue of the session's transcript: the "검수 완료" badge."""
    review = out.transcript.review if out.transcript else None
    return review is not None and review.complete


def _forum_meta(forum: ForumSummary, outs: list[SessionObjects],
                forum_url: str | None) -> PageMeta:
    """The forum page's link preview: its date, organiser and sessions, and the first
    session's poster."""
    titles = ", ".join(out.clip.session.title for out in outs)
    about = f"{forum.date} · {forum.organiser}" + (f" · {titles}" if titles else "")
    poster = next((out for out in outs if "poster" in out.files), None)
    image = None
    if poster is not None:
        href = f"sessions/{quote(poster.clip.session.slug)}/poster.jpg"
        image = versioned(f"{forum_url}{href}" if forum_url else href,
                          poster.files["poster"])
    # index.html by name: a bucket without website hosting serves no folder URL.
    return PageMeta(title=forum.title, description=describe_text(about),
                    site_name=forum.organiser,
                    url=f"{forum_url}index.html" if forum_url else None, image=image,
                    locale=LOCALES.get(forum.language, forum.language))


def _search_head(forum: ForumSummary, forum_url: str | None) -> str:
    return head_tags(PageMeta(
        title=f"녹취록 검색 - {forum.title}",
        description=f"{forum.title} ({forum.date})의 모든 발언을 찾아 그 시각부터 봅니다.",
        site_name=forum.organiser,
        url=f"{forum_url}{quote(search_page.PAGE_NAME)}" if forum_url else None,
        locale=LOCALES.get(forum.language, forum.language)))


def _forum_page(forum: ForumSummary, outs: list[SessionObjects],
                materials: list[tuple[MaterialFile, StoredItem]],
                bundle: StoredItem | None, forum_url: str | None) -> str:
    entries = [pages.SessionEntry(out.clip.session, out.clip.duration,
                                  f"sessions/{quote(out.clip.session.slug)}/index.html",
                                  reviewed=_reviewed(out))
               for out in outs]
    material_entries = [
        pages.MaterialEntry(_name(item.key), material.kind, material.title, item.size,
                            versioned(f"materials/{quote(_name(item.key))}", item))
        for material, item in materials
    ]
    link = None
    if bundle is not None:
        size = size_text(bundle.size)
        link = Link(f"자료 전체 내려받기 ({BUNDLE_NAME}, {size})",
                          versioned(quote(BUNDLE_NAME), bundle))
    search = Link("녹취록 검색", quote(search_page.PAGE_NAME))
    return pages.forum_page(forum, entries, material_entries, link, search,
                            head=head_tags(_forum_meta(forum, outs, forum_url)))


def _search_sessions(outs: list[SessionObjects]) -> list[search_page.SearchSession]:
    return [search_page.SearchSession(out.clip.session,
                                      f"sessions/{quote(out.clip.session.slug)}/index.html",
                                      out.transcript.segments if out.transcript else ())
            for out in outs]


def search_index_object(root: str, forum: ForumSummary,
                        outs: list[SessionObjects]) -> StoredItem:
    """search.html's index as `search-index.json`: immutable, linked with `?v=`."""
    item = data_item(keys.join(root, search_page.INDEX_NAME),
                     search_page.index_text(forum, _search_sessions(outs)))
    return replace(item, cache_control=IMMUTABLE)


def _session_entry(out: SessionObjects) -> SessionEntry:
    session = out.clip.session
    return SessionEntry(
        number=session.number, id=session.id, title=session.title, start=session.start,
        end=session.end, speakers=session.speakers, slug=session.slug,
        duration=out.clip.duration,
        keys={**{role: item.key for role, item in out.files.items()}, "page": out.page_key},
        language=out.transcript.language if out.transcript else None,
        description=describe(out.transcript.segments) if out.transcript else "",
        review=ReviewEntry(reviewed=review.reviewed, total=review.total,
                           complete=review.complete)
        if out.transcript and (review := out.transcript.review) else None)


def _body(forum: ForumSummary, outs: list[SessionObjects],
          materials: list[tuple[MaterialFile, StoredItem]],
          bundle: StoredItem | None) -> ForumManifest:
    files = tuple(
        MaterialEntry(kind=material.kind, title=material.title, file_name=_name(item.key),
                      key=item.key, size=item.size, sha256=item.sha256)
        for material, item in materials)
    bundled = (None if bundle is None else
               BundleEntry(key=bundle.key, size=bundle.size, sha256=bundle.sha256))
    return ForumManifest(version=MANIFEST_VERSION, forum=forum,
                         sessions=tuple(_session_entry(out) for out in outs),
                         materials=files, bundle=bundled)


def lay_out_archive(forum: ForumSummary, root: str,
                    sessions: list[tuple[Clip, Transcript | None]],
                    materials: list[MaterialFile], checksum: Callable[[Path], str],
                    scratch: Path, forum_url: str | None = None) -> ArchiveLayout:
    """Every object of the forum's archive but forum.json, which lists them all.

    `forum_url` is the forum folder's public, absolute URL (ending in `/`), when the
    archive has one: the pages' canonical links and link previews use it."""
    outs = [session_objects(root, clip, transcript, checksum) for clip, transcript in sessions]
    media = [item for out in outs for item in out.files.values()]
    material_items = material_objects(root, materials, checksum)
    bundle = bundle_object(root, material_items, scratch)
    media += [item for _, item in material_items] + ([bundle] if bundle else [])
    media.append(search_index_object(root, forum, outs))
    session_pages = [data_item(out.page_key, _session_page(forum, outs, index, forum_url))
                     for index, out in enumerate(outs)]
    search = data_item(keys.join(root, search_page.PAGE_NAME),
                       search_page.search_page(forum, _search_sessions(outs),
                                               head=_search_head(forum, forum_url)))
    forum_page = data_item(keys.join(root, "index.html"),
                           _forum_page(forum, outs, material_items, bundle, forum_url))
    return ArchiveLayout(root, media, outs, [*session_pages, search, forum_page], forum_page,
                         _body(forum, outs, material_items, bundle))
