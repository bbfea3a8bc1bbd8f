"""Fixtures for the catalogue tests: a catalogue holding the 2024 forum."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.catalogue import write_forum
from tests.catalogue.builders import forum_2024


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "catalogue.sqlite"
    write_forum(path, forum_2024())
    return path
