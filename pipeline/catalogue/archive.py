"""Reading a published archive back: each forum's `forum.json` and the files it lists.

Reads, links and listings go through the publishing backend (`pipeline.storage`), so
a rebuilt catalogue links exactly where the index stage's catalogue did (versioned
`?v=` links, or presigned ones for a bucket without `public_base_url`). Only finding
the forums is done here: the `{forum}/forum.json` keys under the archive root (or the
bucket prefix).
"""

from __future__ import annotations

from pipeline.archive.forum_json import MANIFEST_NAME
from pipeline.config.forum import Storage
from pipeline.errors import PublishError
from pipeline.storage.backend import Backend
from pipeline.storage.forum import forum_root, open_backend, storage_prefix


class Archive:
    """One storage's published forums."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.backend: Backend = open_backend(storage)
        self.prefix = storage_prefix(storage)
        self.where = self.backend.where + (f" (prefix {self.prefix})" if self.prefix.strip("/")
                                           else "")

    def root(self, forum_id: str) -> str:
        """`[prefix/]{forum}`: the key folder of one forum."""
        return forum_root(self.storage, forum_id)

    def manifests(self) -> list[str]:
        """The keys of every forum's `forum.json`, in key order. A missing archive
        folder or bucket, or credentials that may not list it, raise `PublishError`."""
        folder = "/".join(part for part in self.prefix.split("/") if part)
        folder = f"{folder}/" if folder else ""
        found = []
        for key in self.backend.list(folder):
            forum_id, _, name = key[len(folder):].partition("/")
            if name != MANIFEST_NAME:
                continue
            try:
                expected = f"{self.root(forum_id)}/{MANIFEST_NAME}"
            except PublishError:
                continue  # not a forum id publish could have written
            if key == expected:
                found.append(key)
        return sorted(found)

    def read(self, key: str) -> bytes:
        data = self.backend.read(key)
        if data is None:
            raise PublishError(f"{key} is listed in a forum.json but missing in {self.where}",
                               "publish the forum again with `sort-archive run CONFIG`")
        return data

    def link(self, key: str, sha256: str | None = None) -> str:
        return self.backend.link(key, sha256)
