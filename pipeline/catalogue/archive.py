"""Reading a published archive back: each forum's `forum.json` and the files it lists.

Reads and links go through the publishing backend (`pipeline.storage.backend`), so a
rebuilt catalogue links exactly where the index stage's catalogue did
(versioned `?v=` links, or presigned ones for a bucket without
`public_base_url`). Only finding the forums is done here: the folders under
the archive root (or the bucket prefix) that hold a `forum.json`.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.archive.forum_json import MANIFEST_NAME
from pipeline.config.forum import ForumConfig, Storage
from pipeline.errors import PublishError
from pipeline.storage import keys
from pipeline.storage.backend import Backend, LocalBackend, open_backend


class Archive:
    """One storage's published forums."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.backend: Backend = open_backend(storage)
        self.prefix = storage.s3.prefix if storage.s3 is not None else ""
        self.where = self.backend.where + (f" (prefix {self.prefix})" if self.prefix.strip("/")
                                           else "")

    def root(self, forum_id: str) -> str:
        """`[prefix/]{forum}`: the key folder of one forum."""
        return keys.forum_root(self.prefix, forum_id)

    def manifests(self) -> list[str]:
        """The keys of every forum's `forum.json`, in key order."""
        if isinstance(self.backend, LocalBackend):
            if not self.backend.root.is_dir():  # check() would create it
                raise PublishError(f"archive folder {self.backend.root} does not exist",
                                   "give the folder publish wrote to (storage.local)")
        else:
            self.backend.check()  # a missing bucket or credentials: publish's clear message
        found = []
        for forum_id in self._folders():
            try:
                key = keys.join(self.root(forum_id), MANIFEST_NAME)
            except PublishError:
                continue  # not a forum id publish could have written
            if isinstance(self.backend, LocalBackend):
                if self.backend.root.joinpath(*key.split("/")).is_file():
                    found.append(key)
            elif self.backend.head(key) is not None:
                found.append(key)
        return sorted(found)

    def _folders(self) -> list[str]:
        backend = self.backend
        if isinstance(backend, LocalBackend):
            return [path.name for path in backend.root.iterdir() if path.is_dir()]
        from pipeline.storage.s3 import S3Backend

        assert isinstance(backend, S3Backend)
        prefix = "/".join(part for part in self.prefix.split("/") if part)
        prefix = f"{prefix}/" if prefix else ""
        folders: list[str] = []
        try:
            for page in backend.client.get_paginator("list_objects_v2").paginate(
                    Bucket=backend.cfg.bucket, Prefix=prefix, Delimiter="/"):
                folders += [entry["Prefix"][len(prefix):].rstrip("/")
                            for entry in page.get("CommonPrefixes", []) if "Prefix" in entry]
        except (ClientError, BotoCoreError) as exc:
            raise PublishError(f"cannot list {self.where}: {' '.join(str(exc).split())}",
                               "check that the credentials allow s3:ListBucket") from exc
        return folders

    def read(self, key: str) -> bytes:
        data = self.backend.read(key)
        if data is None:
            raise PublishError(f"{key} is listed in a forum.json but missing in {self.where}",
                               "publish the forum again with `sort-archive run CONFIG`")
        return data

    def link(self, key: str, sha256: str | None = None) -> str:
        return self.backend.link(key, sha256)


def config_storage(config: ForumConfig) -> Storage:
    """The storage a forum config publishes to, a local folder resolved against the config."""
    storage = config.forum.storage
    if storage.local is not None:
        return storage.model_copy(update={"local": config.resolve(storage.local)})
    return storage
