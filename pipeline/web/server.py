"""How `sort-archive serve` runs the app under uvicorn: its timeouts and limits.

uvicorn alone keeps a connection open for as long as a client takes to send its
request: its keep-alive timeout starts only after a response, and neither h11
nor uvicorn times the reading of a request line and headers. So 20 clients that
send their headers a byte at a time, or sockets that send nothing at all, stayed
open for as long as they liked (slowloris). `GuardedH11Protocol` gives each
request a deadline from its first byte (from the connection, for the first
request) to its last; a client that misses it is disconnected without an answer.
uvicorn runs this h11 protocol always, never httptools, or the guard would not apply.

These limits keep one process usable by a few staff on a local network; at scale,
and on the internet, a reverse proxy in front does this work (README, "The web app").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# A whole request (line, headers and any body: the app takes none) must arrive this
# soon after its first byte. A browser sends one in a single packet; 10 s is room for a
# slow mobile link, and nginx's client_header_timeout is 60 s in front of it anyway.
REQUEST_TIMEOUT_S = 10.0
# An idle keep-alive connection is closed this long after its last response (uvicorn's
# own default, pinned): browsers reuse a connection within a page's loads.
KEEP_ALIVE_S = 5
# Connections open at once before further requests are answered 503 at once (by
# uvicorn, without running the app): searches run a few at a time (one a core, see
# `app.SEARCHES_AT_ONCE`), so more would only queue, and each open connection holds a
# file descriptor.
MAX_CONNECTIONS = 64
# The longest request line plus headers h11 buffers (its own default, pinned): a
# search's query string is at most a few KB; beyond it the answer is 400.
MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True)
class Limits:
    """The server's limits; the tests shorten the timeouts, production uses these."""

    request_timeout_s: float = REQUEST_TIMEOUT_S
    keep_alive_s: int = KEEP_ALIVE_S
    max_connections: int = MAX_CONNECTIONS
    max_header_bytes: int = MAX_HEADER_BYTES


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on receiving each request."""

    request_timeout_s = REQUEST_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a socket that never sends a byte is closed too

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # parses, and may hand a whole request to the app
        if self._receiving():
            if self._deadline is None:  # the first byte of the next request on this
                self._arm()             # keep-alive connection (uvicorn's timer stopped)
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _receiving(self) -> bool:
        """Whether a request has begun, or may begin, and has not all arrived."""
        return (self.conn.their_state in (h11.IDLE, h11.SEND_BODY)
                and not self.transport.is_closing())

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.request_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self._receiving():
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
            log.info("closed the connection from %s: no whole request within %g s", client,
                     self.request_timeout_s)
            self.transport.close()


def guarded_protocol(request_timeout_s: float) -> type[GuardedH11Protocol]:
    """`GuardedH11Protocol` with this deadline (uvicorn makes one per connection)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,),
                {"request_timeout_s": request_timeout_s})


def server_config(app: Any, *, log_level: str, forwarded_allow_ips: str | None,
                  limits: Limits | None = None) -> uvicorn.Config:
    """uvicorn's configuration for `app`, as `sort-archive serve` runs it."""
    limits = limits or Limits()
    return uvicorn.Config(
        app, log_level=log_level, proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        http=guarded_protocol(limits.request_timeout_s),
        ws="none",  # the app has no WebSocket route: no upgrade is taken
        timeout_keep_alive=limits.keep_alive_s,
        limit_concurrency=limits.max_connections,
        h11_max_incomplete_event_size=limits.max_header_bytes,
    )
