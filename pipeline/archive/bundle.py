"""`materials.zip`: every material of a forum in one download, Korean names intact.

The zip is deterministic (fixed order, dates and permissions, no compression),
so a re-run builds the same bytes and publish finds it up to date. Materials are
PDFs, slides and HWP files, all compressed already: deflating them again would
cost time for a few percent. Entry names are NFC and non-ASCII, so Python's
zipfile sets the UTF-8 flag (general purpose bit 11) on each of them, which is
what Windows Explorer, macOS Archive Utility and unzip need to show 자료집.pdf
rather than mojibake.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

BUNDLE_NAME = "materials.zip"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
_UNIX = 3


def write_bundle(members: Sequence[tuple[str, Path]], target: Path) -> None:
    """Write `members` (entry name, file) into the zip `target`, in the order given."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in members:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = _UNIX  # the default depends on the platform
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.file_size = path.stat().st_size  # lets zipfile pick zip64 for huge files
            with path.open("rb") as source, archive.open(info, "w") as entry:
                shutil.copyfileobj(source, entry, 1024 * 1024)
