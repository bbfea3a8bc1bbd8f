"""Is a published archive whole? Check storage against the forum's manifest, forum.json.

Every object the manifest lists must be there, with the listed size and
sha256 (and content type, which browsers need to play it). By default the
sha256 is the one storage keeps with an S3 object (metadata written by publish
from the local file); `deep` reads every object back and hashes its bytes,
which also catches bytes changed behind the metadata's back. A local folder
keeps no metadata, so there every file is always read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pipeline.archive.forum_json import MANIFEST_NAME, ListedObject, parse_manifest
from pipeline.config.forum import Storage
from pipeline.errors import PublishError
from pipeline.progress import Progress
from pipeline.storage import keys
from pipeline.storage.backend import Backend
from pipeline.storage.forum import forum_root, open_backend

ProblemKind = Literal["manifest", "missing", "size", "sha256", "content-type"]


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    key: str
    detail: str

    def line(self) -> str:
        return f"{self.kind}: {self.key}: {self.detail}"


@dataclass(frozen=True)
class VerifyReport:
    forum_id: str
    where: str  # the storage, for people: s3://bucket at endpoint, or a folder
    manifest_key: str
    listed: int  # objects the manifest lists
    deep: bool
    problems: tuple[Problem, ...]

    @property
    def whole(self) -> bool:
        return not self.problems


def _check(backend: Backend, root: str, listed: ListedObject, deep: bool,
           advance: Callable[[int], None]) -> Problem | None:
    try:
        inside = keys.check_key(listed.key).startswith(f"{root}/")
    except PublishError:
        inside = False
    if not inside:  # a manifest is data from storage: never let it steer reads elsewhere
        return Problem("manifest", listed.key, f"is not a key under {root}/; not read")
    info = backend.head(listed.key)
    if info is None:
        return Problem("missing", listed.key, "listed in the manifest but not in storage")
    if info.size != listed.size:
        return Problem("size", listed.key,
                       f"{info.size} bytes in storage, {listed.size} in the manifest")
    if info.content_type is not None and info.content_type != listed.content_type:
        return Problem("content-type", listed.key,
                       f"'{info.content_type}' in storage, '{listed.content_type}' in the "
                       "manifest")
    if deep or info.sha256 is None:
        stored, how = backend.digest(listed.key, advance), "read back"
        if stored is None:
            return Problem("missing", listed.key, "vanished while it was being read")
    else:
        stored, how = info.sha256, "in the object's metadata"
        advance(listed.size)
    if stored != listed.sha256:
        return Problem("sha256", listed.key, f"sha256 {stored[:12]}… {how}, "
                                             f"{listed.sha256[:12]}… in the manifest")
    return None


def verify_archive(storage: Storage, forum_id: str, progress: Progress, *,
                   deep: bool = False) -> VerifyReport:
    """Check every object forum.json lists. Raises `PublishError` only when storage
    cannot be reached or read at all; everything else is a `Problem` in the report."""
    backend = open_backend(storage)  # no check(): it would create a missing local folder
    root = forum_root(storage, forum_id)
    manifest_key = keys.join(root, MANIFEST_NAME)

    def report(listed: int, problems: list[Problem]) -> VerifyReport:
        return VerifyReport(forum_id, backend.where, manifest_key, listed, deep,
                            tuple(problems))

    data = backend.read(manifest_key)
    if data is None:
        return report(0, [Problem("missing", manifest_key,
                                  "no manifest: the forum was never published here, or "
                                  "publishing stopped before it; run the pipeline again")])
    try:
        manifest = parse_manifest(data)
    except ValueError as exc:
        return report(0, [Problem("manifest", manifest_key, str(exc))])
    problems: list[Problem] = []
    with progress.task("verify", total=sum(o.size for o in manifest.objects)) as task:
        for listed in manifest.objects:
            problem = _check(backend, root, listed, deep, lambda amount: task.advance(amount))
            if problem is not None:
                problems.append(problem)
    return report(len(manifest.objects), problems)
