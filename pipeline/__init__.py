"""sort-archive: the archive pipeline for the public sector's Social Value Forum (SORT)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sort-archive")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
