"""What publish puts in storage for one forum: every object with its key, checksum and headers.

Keys are the same in a local folder and in a bucket, so an archive can move
from one to the other unchanged and the pages' relative links keep working:

    [prefix/]{forum}/index.html, search.html, forum.json, materials.zip
    [prefix/]{forum}/sessions/{slug}/{slug}.mp4, poster.jpg, .ko.vtt, .ko.srt, .json, .txt,
                                     index.html
    [prefix/]{forum}/materials/{file name}

Keys are built from validated parts only (`pipeline.storage.keys`). Pages link every
other object with `?v=<first 12 hex digits of its sha256>`: the objects are
served as immutable for a year, and a changed clip or corrected subtitle gets a
new URL while its key, and every link from outside, stays the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pipeline.archive.bundle import BUNDLE_NAME, write_bundle
from pipeline.archive.forum_json import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    BundleEntry,
    ForumManifest,
    MaterialEntry,
    SessionEntry,
)
from pipeline.archive.pages import search as search_page
from pipeline.archive.pages import viewer as pages
from pipeline.archive.pages.document import Link, size_text
from pipeline.archive.pages.meta import describe
from pipeline.errors import PublishError
from pipeline.results import Clip, ForumSummary, MaterialFile, Transcript
from pipeline.storage import keys
from pipeline.storage.backend import StoredItem, data_item, file_item
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
    media: list[StoredItem]  # clips, transcripts, materials, the bundle
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


def _session_page(forum: ForumSummary, outs: list[SessionObjects], index: int) -> str:
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
        segments=out.transcript.segments if out.transcript else (),
        forum_href="../../index.html", previous=neighbour(index - 1),
        following=neighbour(index + 1),
    )


def _forum_page(forum: ForumSummary, outs: list[SessionObjects],
                materials: list[tuple[MaterialFile, StoredItem]],
                bundle: StoredItem | None) -> str:
    entries = [pages.SessionEntry(out.clip.session, out.clip.duration,
                                  f"sessions/{quote(out.clip.session.slug)}/index.html")
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
    return pages.forum_page(forum, entries, material_entries, link, search)


def _search_page(forum: ForumSummary, outs: list[SessionObjects]) -> str:
    return search_page.search_page(forum, [
        search_page.SearchSession(out.clip.session,
                                  f"sessions/{quote(out.clip.session.slug)}/index.html",
                                  out.transcript.segments if out.transcript else ())
        for out in outs])


def _session_entry(out: SessionObjects) -> SessionEntry:
    session = out.clip.session
    return SessionEntry(
        number=session.number, id=session.id, title=session.title, start=session.start,
        end=session.end, speakers=session.speakers, slug=session.slug,
        duration=out.clip.duration,
        keys={**{role: item.key for role, item in out.files.items()}, "page": out.page_key},
        language=out.transcript.language if out.transcript else None,
        description=describe(out.transcript.segments) if out.transcript else "")


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
                    scratch: Path) -> ArchiveLayout:
    """Every object of the forum's archive but forum.json, which lists them all."""
    outs = [session_objects(root, clip, transcript, checksum) for clip, transcript in sessions]
    media = [item for out in outs for item in out.files.values()]
    material_items = material_objects(root, materials, checksum)
    bundle = bundle_object(root, material_items, scratch)
    media += [item for _, item in material_items] + ([bundle] if bundle else [])
    session_pages = [data_item(out.page_key, _session_page(forum, outs, index))
                     for index, out in enumerate(outs)]
    search = data_item(keys.join(root, search_page.PAGE_NAME), _search_page(forum, outs))
    forum_page = data_item(keys.join(root, "index.html"),
                           _forum_page(forum, outs, material_items, bundle))
    return ArchiveLayout(root, media, outs, [*session_pages, search, forum_page], forum_page,
                         _body(forum, outs, material_items, bundle))
