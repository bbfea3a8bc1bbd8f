"""A forum's materials: the files its config gives by path, then those fetch downloaded.

Publish publishes them and the index stage indexes their text: both take the list
from here, so they always agree on what the forum's materials are.

A config is hostile input, and a material is published to the world: so a material path
is found only inside a *root*, the config's own folder or the operator's materials root
(`SORT_ARCHIVE_MATERIALS_DIR`, `ForumConfig.materials_root`), tried in that order. The
config's schema already refuses absolute paths and `..` (`pipeline.config.forum.Material`);
here the file itself must be a regular file whose real path, symlinks followed, is still
inside the root it was found in. A symlink to `/etc/shadow` or to a file in another
forum's folder is refused, by `validate`, before a run starts, and again when publish
reads the file (which may have changed since).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from pipeline.config.forum import ForumConfig
from pipeline.errors import ConfigError
from pipeline.results import MaterialFile

MATERIALS_ROOT_HINT = "SORT_ARCHIVE_MATERIALS_DIR"


def material_roots(config: ForumConfig) -> list[Path]:
    """Where material paths are looked up, in order: the config's folder, then the
    operator's materials root."""
    roots = [config.base_dir]
    if config.materials_root is not None:
        roots.append(config.materials_root)
    return roots


def locate_material(config: ForumConfig, number: int, given: Path) -> Path | None:
    """The real path of `materials[number].path`, checked; None if it is in no root."""
    field = f"materials[{number}].path"
    for root in material_roots(config):
        candidate = root / given
        if not os.path.lexists(candidate):
            continue
        real_root, real = root.resolve(), candidate.resolve()
        if not real.is_relative_to(real_root):
            raise ConfigError(config.path, field,
                              f"{given} leads outside {root} (a symlink to {real}); copy "
                              "the file itself into the folder")
        try:
            mode = real.stat().st_mode
        except OSError as exc:
            raise ConfigError(config.path, field, f"cannot read {given} "
                              f"({exc.strerror or exc}); fix the path or the link") from None
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise ConfigError(config.path, field,
                              f"{given} is {kind}; name one file (a PDF, slides)")
        return real
    return None


def forum_materials(config: ForumConfig, fetched: Sequence[MaterialFile] = (), *,
                    require: bool) -> list[MaterialFile]:
    """The materials the config gives by path (checked as above), then `fetched`.

    With `require` (validate, publish), a file that is not there is a config error;
    without it (the index stage), it is listed anyway and noted when its text is read.
    A file that is there but leads outside its root is an error either way.
    """
    files = []
    for number, material in enumerate(config.forum.materials):
        if material.path is None:
            continue  # given by URL: fetch downloads it
        path = locate_material(config, number, material.path)
        if path is None:
            if require:
                where = " or ".join(str(root) for root in material_roots(config))
                hint = ("" if config.materials_root is not None else
                        f", or name a materials root with {MATERIALS_ROOT_HINT}")
                raise ConfigError(config.path, f"materials[{number}].path",
                                  f"file {material.path} not found in {where}; fix the "
                                  f"path{hint}, or remove the entry")
            path = config.base_dir / material.path
        files.append(MaterialFile(path=path, kind=material.kind, title=material.title))
    return [*files, *fetched]
