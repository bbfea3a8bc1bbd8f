"""A forum's storage: the config's `storage:` resolved, its backend opened, the forum's folder.

Publish, verify and a catalogue rebuild all start here, so they read and write
the same place with the same keys.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from pipeline.config.forum import ForumConfig, Storage
from pipeline.storage import keys
from pipeline.storage.backend import Backend
from pipeline.storage.local import LocalBackend


def resolved_storage(config: ForumConfig) -> Storage:
    """The storage a forum config publishes to, a local folder resolved against the config."""
    storage = config.forum.storage
    if storage.local is not None:
        return storage.model_copy(update={"local": config.resolve(storage.local)})
    return storage


def storage_prefix(storage: Storage) -> str:
    """The bucket prefix every forum's folder sits under ("" for a local folder)."""
    return storage.s3.prefix if storage.s3 is not None else ""


def root_folder(storage: Storage) -> str:
    """The key folder of the archive root, which holds every forum's folder and the
    series home pages: the bucket prefix, NFC, without outer `/` ("" for none)."""
    parts = [unicodedata.normalize("NFC", part) for part in storage_prefix(storage).split("/")
             if part]
    return keys.join(*parts) if parts else ""


def public_base(storage: Storage) -> str | None:
    """The public, absolute URL of the archive root (the bucket prefix's folder, or the
    local folder as a web server serves it), ending in `/`; None when the config gives
    none (`storage.s3.public_base_url`, `storage.public_base_url`)."""
    base = storage.s3.public_base_url if storage.s3 is not None else storage.public_base_url
    if not base:
        return None
    folder = root_folder(storage)
    return base.rstrip("/") + "/" + (f"{quote(folder, safe='/')}/" if folder else "")


def forum_root(storage: Storage, forum_id: str) -> str:
    """The key folder of one forum's archive: `[prefix/]{forum}`."""
    return keys.forum_root(storage_prefix(storage), forum_id)


def open_backend(storage: Storage) -> Backend:
    """The backend of `storage` (an S3 bucket's is imported only then: it needs boto3)."""
    if storage.s3 is not None:
        from pipeline.storage.s3 import S3Backend

        return S3Backend(storage.s3)
    assert storage.local is not None  # Storage's validator demands exactly one
    return LocalBackend(storage.local)
