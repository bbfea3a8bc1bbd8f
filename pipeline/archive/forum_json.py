"""`forum.json`: a forum's machine-readable manifest, and the proof that its archive is whole.

Besides the forum, its sessions and materials, it lists every object of the
forum's archive (key, size, sha256, content type), pages included. Publish
writes it last, after everything it lists, with one atomic write (an S3 PUT,
or a temporary file and a rename in a local folder): a reader sees the old
manifest or the new one, and every object the manifest names is already there.
`pipeline.archive.verify` checks storage against it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.storage.backend import StoredItem

MANIFEST_NAME = "forum.json"
MANIFEST_VERSION = 2  # 2: the `objects` list


class ListedObject(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    size: int
    sha256: str
    content_type: str


class ForumManifest(BaseModel):
    """The part of forum.json that verify needs; the rest is kept as it is."""

    model_config = ConfigDict(frozen=True, extra="allow")

    version: int
    forum: dict[str, Any]
    objects: tuple[ListedObject, ...]


def manifest_text(body: dict[str, Any], objects: Sequence[StoredItem]) -> str:
    """forum.json for `body` (forum, sessions, materials) listing `objects`."""
    listed = [ListedObject(key=item.key, size=item.size, sha256=item.sha256,
                           content_type=item.content_type).model_dump()
              for item in sorted(objects, key=lambda item: item.key)]
    manifest = {"version": MANIFEST_VERSION, **body, "objects": listed}
    return json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"


def parse_manifest(data: bytes) -> ForumManifest:
    """Raise `ValueError` saying why `data` is not a manifest that lists objects."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if isinstance(raw, dict) and isinstance(raw.get("version"), int) and "objects" not in raw:
        raise ValueError(f"version {raw['version']} lists no objects; publish again to "
                         f"write version {MANIFEST_VERSION}")
    try:
        return ForumManifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ValueError(f"{where}: {first['msg']}") from None
