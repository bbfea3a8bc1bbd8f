"""`forum.json`: a forum's machine-readable manifest, and the proof that its archive is whole.

`ForumManifest` is the whole file, and the one way it is written (publish) and read
(verify, and a catalogue rebuild). Besides the forum, its sessions (with the key of
each of their objects) and materials, it lists every object of the forum's archive
(key, size, sha256, content type), pages included. Publish writes it last, after
everything it lists, with one atomic write (an S3 PUT, or a temporary file and a
rename in a local folder): a reader sees the old manifest or the new one, and every
object the manifest names is already there. `pipeline.archive.verify` checks storage
against it.

Versions: 1 had no `objects` (and no `bundle`); 2 lists them. The fields are written
in the order they are declared here, so the same forum always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.results import ForumSummary, SpeakerRef
from pipeline.storage.backend import StoredItem

MANIFEST_NAME = "forum.json"
MANIFEST_VERSION = 2  # 2: the `objects` list


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")  # newer manifests may say more


class ListedObject(_Entry):
    key: str
    size: int
    sha256: str
    content_type: str


class ReviewEntry(_Entry):
    """How much of a session's transcript staff have reviewed (`pipeline.review`)."""

    reviewed: int  # cues reviewed
    total: int  # cues in all
    complete: bool  # every cue reviewed: the pages show "검수 완료"


class SessionEntry(_Entry):
    """A session as planned (number to speakers), then what publish made of it."""

    number: int
    id: str
    title: str
    start: float
    end: float
    speakers: tuple[SpeakerRef, ...] = ()
    slug: str  # `{nn}-{id}`
    duration: float  # of the clip
    keys: dict[str, str]  # role (video, poster, a transcript format, page) -> key
    language: str | None  # of the transcript; None without one
    # The transcript's opening lines (`pages.meta.describe`): feeds and link previews.
    description: str = ""
    review: ReviewEntry | None = None  # None: no review started (and not written)


class MaterialEntry(_Entry):
    kind: str
    title: str | None = None
    file_name: str  # NFC, as published: materials/{file_name}
    key: str
    size: int
    sha256: str


class BundleEntry(_Entry):
    key: str
    size: int
    sha256: str


class ForumManifest(_Entry):
    version: int
    forum: ForumSummary
    sessions: tuple[SessionEntry, ...]
    materials: tuple[MaterialEntry, ...] = ()
    bundle: BundleEntry | None = None  # materials.zip; None without materials
    objects: tuple[ListedObject, ...] = ()  # version 2: every other object of the archive

    def listing(self, objects: Sequence[StoredItem]) -> ForumManifest:
        """This manifest listing `objects`, in key order."""
        listed = tuple(ListedObject(key=item.key, size=item.size, sha256=item.sha256,
                                    content_type=item.content_type)
                       for item in sorted(objects, key=lambda item: item.key))
        return self.model_copy(update={"objects": listed})

    def text(self) -> str:
        """The file's text: the same forum gives the same bytes."""
        data = self.model_dump(mode="json")
        for session in data["sessions"]:  # a forum without reviews keeps its bytes
            if session.get("review") is None:
                session.pop("review", None)
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def parse_manifest(data: bytes, *, listing: bool = True) -> ForumManifest:
    """The manifest in `data`; `ValueError` saying why it is not one. With `listing` (what
    verify needs), a manifest must list its objects: version 1 did not."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if (listing and isinstance(raw, dict) and isinstance(raw.get("version"), int)
            and "objects" not in raw):
        raise ValueError(f"version {raw['version']} lists no objects; publish again to "
                         f"write version {MANIFEST_VERSION}")
    try:
        return ForumManifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ValueError(f"{where}: {first['msg']}") from None
