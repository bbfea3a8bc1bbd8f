"""A forum's materials: the files its config gives by path, then those fetch downloaded.

Publish publishes them and the index stage indexes their text: both take the list
from here, so they always agree on what the forum's materials are.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.config.forum import ForumConfig
from pipeline.errors import ConfigError
from pipeline.results import MaterialFile


def forum_materials(config: ForumConfig, fetched: Sequence[MaterialFile] = (), *,
                    require: bool) -> list[MaterialFile]:
    """The materials the config gives by path (resolved against it), then `fetched`.

    With `require` (publish), a file that is not there is a config error; without it
    (the index stage), it is listed anyway and noted when its text is read.
    """
    files = []
    for number, material in enumerate(config.forum.materials):
        if material.path is None:
            continue  # given by URL: fetch downloads it
        path = config.resolve(material.path)
        if require and not path.is_file():
            raise ConfigError(config.path, f"materials[{number}].path",
                              f"file {path} not found; fix the path or remove the entry")
        files.append(MaterialFile(path=path, kind=material.kind, title=material.title))
    return [*files, *fetched]
