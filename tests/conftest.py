"""Shared fixtures: real servers on 127.0.0.1, isolated caches, the small demo forum."""

from __future__ import annotations

import functools
import http.server
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.archive_fixtures"]  # publish and verify: inputs, S3 buckets


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes the user's catalogue or work folder; no test may reach a model hub."""
    monkeypatch.setenv("SORT_ARCHIVE_CATALOGUE", str(tmp_path / "catalogue.sqlite"))
    monkeypatch.setenv("SORT_ARCHIVE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on 127.0.0.1 serving a temporary folder: (folder, base URL)."""
    folder = tmp_path_factory.mktemp("www")
    handler = functools.partial(RangeHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with single byte-range support, as S3 and every CDN do: browsers
    need ranges to seek in a video."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".vtt": "text/vtt; charset=utf-8", ".mp4": "video/mp4",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass

    ranges_seen: ClassVar[list[str]] = []  # lets a test prove a download was resumed

    def send_head(self):  # type: ignore[no-untyped-def]
        ranged = self.headers.get("Range", "")
        if ranged:
            self.ranges_seen.append(f"{self.path} {ranged}")
        path = Path(self.translate_path(self.path))
        if not ranged.startswith("bytes=") or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first_text, _, last_text = ranged[6:].partition("-")
        first = int(first_text or 0)
        last = min(int(last_text) if last_text else size - 1, size - 1)
        handle = path.open("rb")
        handle.seek(first)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return _Limited(handle, last - first + 1)


class _Limited(io.RawIOBase):
    """A file object that stops after `remaining` bytes (the end of a range)."""

    def __init__(self, handle: io.BufferedReader, remaining: int) -> None:
        self.handle, self.remaining = handle, remaining

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self.handle.read(size)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()
        super().close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, reached by boto3 over real HTTP."""
    from moto.server import ThreadedMotoServer

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The 54-second demo forum (3 sessions of real Korean speech), built once."""
    from pipeline.demo import SMALL_LAYOUT, build_demo_forum
    from pipeline.progress import LogProgress

    return build_demo_forum(tmp_path_factory.mktemp("demo"), SMALL_LAYOUT,
                            progress=LogProgress())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, one per test module (tests.web_archive)."""
    from tests.web_archive import launch_chromium

    yield from launch_chromium()
