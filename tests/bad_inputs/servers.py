"""Servers on 127.0.0.1 that misbehave on purpose, for the bad-input corpus.

`Misbehaving` serves one folder, and what it does depends on the first part of the path:

- `/files/NAME`: the file, as any web server would;
- `/forbidden/NAME`: 403 Forbidden (a link that needs a login, or a private bucket);
- `/to-file/NAME`: 302 to `file:///NAME` (a link that redirects to this machine's files);
- `/cut/NAME`: the headers promise the whole file, then the connection is closed half-way;
- `/stall/NAME`: the headers and the first bytes, then nothing (a hung server); the
  connection stays open until the client gives up or the server stops.

`moto_with_auth` is a real moto S3 server in its own process with authentication on, so a
wrong key is refused as AWS refuses it (the shared `s3_endpoint` accepts any key).
"""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    stop: threading.Event  # set by the server's owner to end every stalled connection

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        behaviour, _, name = self.path.lstrip("/").partition("/")
        path = Path(self.directory) / name.split("?")[0]
        if behaviour == "forbidden":
            self.send_error(403, "Forbidden")
            return
        if behaviour == "to-file":
            self.send_response(302)
            self.send_header("Location", f"file:///{name}")
            self.end_headers()
            return
        if behaviour not in ("files", "cut", "stall") or not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4" if name.endswith(".mp4")
                         else "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not body:
            return
        if behaviour == "files":
            self.wfile.write(data)
        elif behaviour == "cut":
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        else:  # stall: a little, then silence until the client hangs up or we stop
            self.wfile.write(data[:1024])
            self.wfile.flush()
            self.stop.wait(60)


@contextmanager
def misbehaving(folder: Path) -> Iterator[str]:
    """Run the server on 127.0.0.1 serving `folder`; yields its base URL."""
    stop = threading.Event()
    handler = type("Handler", (_Handler,), {"stop": stop})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A port nothing listens on (bound and released at once): connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_with_auth() -> Iterator[str]:
    """moto's S3 server in a child process that checks every request's access key."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("moto server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
