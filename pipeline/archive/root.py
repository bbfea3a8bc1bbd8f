"""The series' root pages: `[prefix/]index.html`, `feed.xml` and `sitemap.xml`.

They describe every forum in the storage, so they are built from what storage
holds, never from one run's memory: every `{forum}/forum.json` directly under the
archive root, read and parsed (`parse_manifest(..., listing=False)`: a version 1
manifest still counts). A manifest that cannot be read or parsed is left out, with
a note naming it. `root_objects` is pure (manifests in, objects out); `update_root`
reads storage and writes. Publish calls it after the forum's forum.json is written,
and `sort-archive index --rebuild` calls it for each storage it rebuilds from.

The pages are `no-cache`, as every page: they change in place. sitemap.xml needs
absolute URLs, so it is written only when the archive's public base URL is known
(`pipeline.storage.forum.public_base`).

**Two publishes at once.** Each writes its own forum.json, then lists and reads the
forum.json files, renders the root pages and writes them. The one that renders from
a listing made before the other's forum.json existed would, written last, drop the
other forum. So after writing, `update_root` lists and reads again and compares the
set (each forum.json's key and the sha256 of its bytes) with the one it rendered;
when they differ it renders and writes again, at most `MAX_ROUNDS` times.

Why this converges. Take any root object and the last write to it, by a run X that
rendered it from a set S; X's verifying listing came after that write, and X
stopped, so the listing found S again. Every other run Y wrote its forum.json before
its first listing, and afterwards checked this object: it wrote it, or found it
current (equal to its own rendering, which holds Y's forum.json). A write by Y came
before X's last write; so did a check that found Y's content, unless the content it
found was X's, which then holds Y's forum.json itself. Otherwise Y's forum.json was
written before X's verifying listing, so S holds it. Either way the object lists Y:
the last writer's verifying listing happens after every earlier forum.json write.
Storage must list and read what was written before it (S3 has been strongly
consistent since 2020; a local folder renames atomically). Each extra round needs
yet another forum.json written meanwhile, so a few rounds are plenty; after
`MAX_ROUNDS` a note says to run `index --rebuild`, which rewrites the pages.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

from pipeline.archive.forum_json import MANIFEST_NAME, ForumManifest, parse_manifest
from pipeline.archive.pages import feed as feed_page
from pipeline.archive.pages import home
from pipeline.archive.pages.document import speakers_text
from pipeline.archive.pages.meta import PageMeta, describe_text, head_tags
from pipeline.archive.pages.search import INDEX_NAME, PAGE_NAME
from pipeline.errors import PublishError
from pipeline.faults import checkpoint
from pipeline.progress import Progress
from pipeline.storage import keys
from pipeline.storage.backend import Backend, StoredItem, data_item

MAX_ROUNDS = 5
ROOT_NAMES = (home.PAGE_NAME, feed_page.FEED_NAME, feed_page.SITEMAP_NAME)


@dataclass(frozen=True)
class PublishedForum:
    """One forum.json as storage holds it."""

    key: str
    sha256: str  # of its bytes
    manifest: ForumManifest


@dataclass(frozen=True)
class Snapshot:
    """What one listing and reading of the forum.json files found."""

    forums: tuple[PublishedForum, ...]  # the readable ones, in key order
    seen: frozenset[tuple[str, str]]  # every listed key and the sha256 of what was read
    problems: tuple[tuple[str, str], ...]  # (key, why) for each one left out


@dataclass(frozen=True)
class RootUpdate:
    forums: tuple[str, ...]  # the forum ids the written pages list
    written: tuple[str, ...]  # the keys written (unchanged ones are left alone)
    rounds: int
    settled: bool  # False: forum.json files kept changing for MAX_ROUNDS rounds


def root_key(folder: str, name: str) -> str:
    return keys.join(folder, name) if folder else keys.check_key(name)


def manifest_keys(backend: Backend, folder: str) -> list[str]:
    """The key of every `{forum}/forum.json` directly under `folder` (the archive root)."""
    start = f"{folder}/" if folder else ""
    found = []
    for key in backend.list(start):
        forum_id, _, name = key[len(start):].partition("/")
        if name != MANIFEST_NAME:
            continue
        try:
            expected = keys.join(keys.forum_root(folder, forum_id), MANIFEST_NAME)
        except PublishError:
            continue  # not a forum id publish could have written
        if key == expected:
            found.append(key)
    return sorted(found)


def _parsed(key: str, data: bytes) -> ForumManifest:
    manifest = parse_manifest(data, listing=False)
    folder_id = key.rsplit("/", 2)[-2]
    if manifest.forum.id != folder_id:
        raise ValueError(f"it describes forum '{manifest.forum.id}'")
    try:
        datetime.date.fromisoformat(manifest.forum.date)
    except ValueError:
        raise ValueError(f"its date {manifest.forum.date!r} is not YYYY-MM-DD") from None
    return manifest


def read_snapshot(backend: Backend, folder: str) -> Snapshot:
    """List and read every forum.json under `folder`; one that vanished meanwhile is
    left out, one that is not a manifest is a problem."""
    forums, seen, problems = [], set(), []
    for key in manifest_keys(backend, folder):
        data = backend.read(key)
        if data is None:
            continue
        digest = hashlib.sha256(data).hexdigest()
        seen.add((key, digest))
        try:
            forums.append(PublishedForum(key, digest, _parsed(key, data)))
        except ValueError as exc:
            problems.append((key, " ".join(str(exc).split())[:200]))
    return Snapshot(tuple(forums), frozenset(seen), tuple(problems))


def newest_first(forums: Sequence[PublishedForum]) -> list[PublishedForum]:
    return sorted(forums, key=lambda f: (f.manifest.forum.date, f.manifest.forum.id),
                  reverse=True)


class _Links:
    """Links from the archive root to one forum's objects, only inside its folder (a
    manifest is data from storage: it may not steer links elsewhere)."""

    def __init__(self, folder: str, manifest: ForumManifest) -> None:
        self.folder = folder
        self.root = keys.forum_root(folder, manifest.forum.id)
        self.sha = {listed.key: listed.sha256 for listed in manifest.objects}

    def href(self, key: str | None) -> str | None:
        if key is None or not key.startswith(f"{self.root}/"):
            return None
        return quote(key[len(self.folder) + 1:] if self.folder else key, safe="/")

    def versioned(self, key: str) -> str | None:
        """The link with `?v=`, when the manifest lists the object (so it exists)."""
        href = self.href(key)
        return f"{href}?v={self.sha[key][:12]}" if href and key in self.sha else None

    def listed(self, name: str) -> str | None:
        key = f"{self.root}/{name}"
        return self.href(key) if key in self.sha else None


def home_forum(published: PublishedForum, folder: str) -> home.HomeForum:
    manifest = published.manifest
    links = _Links(folder, manifest)
    sessions = []
    for session in manifest.sessions:
        href = links.href(session.keys.get("page"))
        if href is not None:
            sessions.append(home.HomeSession(session.number, session.title, href))
    posters = (links.versioned(session.keys["poster"]) for session in manifest.sessions
               if "poster" in session.keys)
    return home.HomeForum(
        forum=manifest.forum, href=f"{quote(manifest.forum.id)}/index.html",
        sessions=tuple(sessions), poster=next((p for p in posters if p), None),
        search_page=links.listed(PAGE_NAME),
        search_index=links.versioned(f"{links.root}/{INDEX_NAME}"))


def feed(forums: Sequence[PublishedForum], folder: str) -> feed_page.Feed:
    entries = []
    for published in forums:
        forum, links = published.manifest.forum, _Links(folder, published.manifest)
        for session in published.manifest.sessions:
            href = links.href(session.keys.get("page"))
            if href is None:
                continue
            entries.append(feed_page.FeedEntry(
                id=feed_page.tag_id(forum.id, session.slug),
                title=f"{forum.title} · {session.number}. {session.title}",
                updated=feed_page.day_time(forum.date), href=href,
                summary=session.description or speakers_text(session.speakers),
                author=forum.organiser))
    dates = [published.manifest.forum.date for published in forums]
    organisers = dict.fromkeys(published.manifest.forum.organiser for published in forums)
    return feed_page.Feed(
        id=feed_page.tag_id("feed"), title=home.SITE_TITLE,
        updated=feed_page.day_time(max(dates, default="2021-01-01")),
        authors=tuple(organisers) or (home.SITE_TITLE,), entries=tuple(entries))


def sitemap_urls(forums: Sequence[home.HomeForum], base_url: str) -> list[str]:
    """The home page, then each forum's page, search page and session pages."""
    base = base_url.rstrip("/") + "/"
    hrefs = [home.PAGE_NAME]
    for entry in forums:
        hrefs += [entry.href, *([entry.search_page] if entry.search_page else []),
                  *(session.href for session in entry.sessions)]
    return [base + href for href in hrefs]


def root_objects(forums: Sequence[PublishedForum], folder: str,
                 base_url: str | None) -> list[StoredItem]:
    """index.html, feed.xml and, with a public base URL, sitemap.xml for `forums`."""
    ordered = newest_first(forums)
    entries = [home_forum(published, folder) for published in ordered]
    items = [
        data_item(root_key(folder, home.PAGE_NAME),
                  home.home_page(entries, meta=head_tags(home_meta(entries, base_url)))),
        _typed(data_item(root_key(folder, feed_page.FEED_NAME),
                         feed_page.atom_feed(feed(ordered, folder))), feed_page.FEED_TYPE),
    ]
    if base_url:
        items.append(_typed(data_item(root_key(folder, feed_page.SITEMAP_NAME),
                                      feed_page.sitemap(sitemap_urls(entries, base_url))),
                            feed_page.SITEMAP_TYPE))
    return items


def home_meta(entries: Sequence[home.HomeForum], base_url: str | None) -> PageMeta:
    """The home page's link preview: how much the archive holds, the newest forum and
    its poster."""
    base = base_url.rstrip("/") + "/" if base_url else ""
    sessions = sum(len(entry.sessions) for entry in entries)
    about = f"포럼 {len(entries)}회, 세션 {sessions}개의 영상과 녹취록"
    newest = entries[0] if entries else None
    if newest is not None:
        about += f". 최근: {newest.forum.title} ({newest.forum.date})"
    poster = newest.poster if newest is not None else None
    return PageMeta(title=home.SITE_TITLE, description=describe_text(about),
                    site_name=home.SITE_TITLE,
                    url=f"{base}{home.PAGE_NAME}" if base else None,
                    image=f"{base}{poster}" if poster else None)


def _typed(item: StoredItem, content_type: str) -> StoredItem:
    return replace(item, content_type=content_type)


def _write(backend: Backend, items: Sequence[StoredItem]) -> set[str]:
    written = set()
    for item in items:
        if not backend.is_current(item):
            checkpoint("publish.root")
            backend.put(item, lambda amount: None)  # a few kilobytes: no progress bar
            written.add(item.key)
    return written


def update_root(backend: Backend, folder: str, base_url: str | None, progress: Progress,
                who: str = "publish") -> RootUpdate:
    """Write the root pages from the forum.json files in storage, again while those
    change under it (see the module's docstring); `who` starts each note."""
    noted: set[str] = set()
    snapshot = read_snapshot(backend, folder)
    written: set[str] = set()
    for rounds in range(1, MAX_ROUNDS + 1):
        for key, why in snapshot.problems:
            if key not in noted:
                noted.add(key)
                progress.note(f"{who}: {key} is left off the archive's home page: {why}")
        written |= _write(backend, root_objects(snapshot.forums, folder, base_url))
        again = read_snapshot(backend, folder)
        if again.seen == snapshot.seen:
            return _done(snapshot, written, rounds, True, base_url, progress, who)
        snapshot = again
    progress.note(f"{who}: forum.json files kept changing while the archive's home page "
                  f"was written ({MAX_ROUNDS} rounds); run `sort-archive index --rebuild` "
                  "once the other publishes are done")
    return _done(snapshot, written, MAX_ROUNDS, False, base_url, progress, who)


def _done(snapshot: Snapshot, written: set[str], rounds: int, settled: bool,
          base_url: str | None, progress: Progress, who: str) -> RootUpdate:
    ids = tuple(published.manifest.forum.id for published in newest_first(snapshot.forums))
    if written:
        progress.note(f"{who}: the archive's home page and feed list {len(ids)} forum(s)"
                      + ("" if base_url else "; no sitemap.xml: it needs the archive's "
                         "public URL (storage.public_base_url, or storage.s3.public_base_url)"))
    return RootUpdate(ids, tuple(sorted(written)), rounds, settled)
