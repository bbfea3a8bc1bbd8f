"""Settings: SORT_ARCHIVE_* are read in one place, and nowhere else below the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.errors import UsageError
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_from_environ_reads_every_variable(tmp_path: Path) -> None:
    settings = Settings.from_environ({
        "HOME": str(tmp_path), "SORT_ARCHIVE_WORK_DIR": "/srv/work",
        "SORT_ARCHIVE_CATALOGUE": "~/cat.sqlite", "SORT_ARCHIVE_MODEL_DIR": "/models",
        "SORT_ARCHIVE_SPEECH_DIR": "/corpus"})
    assert settings.work_root == Path("/srv/work")
    assert settings.catalogue == Path("~/cat.sqlite").expanduser()
    assert settings.model_dir == Path("/models") and settings.speech_dir == Path("/corpus")


def test_defaults_follow_home(tmp_path: Path) -> None:
    settings = Settings.from_environ({"HOME": str(tmp_path)})
    assert settings.work_root == Path("work") and settings.speech_dir is None
    assert settings.catalogue == tmp_path / ".local/share/sort-archive/catalogue.sqlite"
    assert settings.model_dir == tmp_path / ".cache/sort-archive/models"


def test_nothing_below_the_cli_reads_the_environment() -> None:
    readers = []
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        if path.name == "settings.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            writes = re.fullmatch(r"\s*os\.environ\[[^]]+\]\s*=[^=].*", line)
            if ("os.environ" in line or "os.getenv" in line) and not writes:
                readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not readers, readers


def test_fetch_timeout_is_seconds_or_a_one_line_error() -> None:
    assert Settings.from_environ({"HOME": "/h"}).fetch_timeout == 20.0
    assert Settings.from_environ({"HOME": "/h", "SORT_ARCHIVE_FETCH_TIMEOUT": "2.5"}
                                 ).fetch_timeout == 2.5
    for bad in ("soon", "0", "-1", "inf", "nan"):
        with pytest.raises(UsageError, match="SORT_ARCHIVE_FETCH_TIMEOUT"):
            Settings.from_environ({"HOME": "/h", "SORT_ARCHIVE_FETCH_TIMEOUT": bad})
