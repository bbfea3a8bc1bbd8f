"""Check the Korean speech corpus the demo and the tests read (never copied into the repo).

Looks where the pipeline looks ($SORT_ARCHIVE_SPEECH_DIR, else ../shared/korean-speech next
to the repository) and verifies every file against config/korean-speech.SHA256SUMS, the
project's own copy of the corpus' checksum list. On a machine without it, says how to get it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMS = ROOT / "config" / "korean-speech.SHA256SUMS"
HOW_TO_GET = (
    "get the Pansori TEDxKR corpus (Yoona Choi and Bowon Lee, 2018; CC BY-NC-ND 4.0) from the "
    "public repository yc9701/pansori-tedxkr-corpus at commit "
    "b24c3933cb44192e8f1e0ca76ccfe01526e5d09c, lay it out as described in README.md "
    "(data/<talk folders>), and set SORT_ARCHIVE_SPEECH_DIR to that folder"
)


def speech_dir() -> Path:
    from pipeline.settings import Settings

    return Settings.from_environ().speech_dir or ROOT.parent / "shared" / "korean-speech"


def main() -> int:
    folder = speech_dir()
    if not (folder / "data").is_dir():
        print(f"Korean speech corpus not found at {folder}: {HOW_TO_GET}", file=sys.stderr)
        return 1
    bad = []
    checked = 0
    for line in SUMS.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if not name.startswith("data/"):
            continue  # the corpus' own README/LICENSE may differ between copies
        path = folder / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad.append(name)
        checked += 1
    if bad:
        print(f"Korean speech corpus at {folder} has {len(bad)} missing or changed file(s), "
              f"e.g. {bad[0]}: {HOW_TO_GET}", file=sys.stderr)
        return 1
    print(f"Korean speech corpus ok: {checked} files at {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
