"""The venue-neutral connector: transport seam, reconnect with backoff, staleness, shutdown.

It never names a venue. A venue subclass gives the websocket URL, what to send once
connected, and how to resync symbols; the feed (``connectors.feed``) parses frames. Frames come
from a ``Transport`` (the seam): ``WebsocketTransport`` in production, anything with the same
two methods in tests, the way httpx's ``MockTransport`` stands in for the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
import websockets
from websockets.asyncio.client import connect as ws_connect

from connectors.feed import Output
from connectors.feed import ResyncWanted
from connectors.feed import VenueFeed
from engine.errors import TransportError


class FrameSource(Protocol):
    """One open connection: frames in, text out."""

    async def recv(self) -> bytes | str:
        """The next frame; raises TransportError once the connection is gone."""
        ...

    async def send(self, text: str) -> None: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    async def connect(self, url: str) -> FrameSource: ...

    async def get(self, url: str) -> bytes:
        """A REST GET; raises TransportError on failure or a non-200 answer."""
        ...

    async def aclose(self) -> None: ...


class _WebsocketFrames:
    def __init__(self, ws: websockets.asyncio.client.ClientConnection, venue: str) -> None:
        self.ws = ws
        self.venue = venue

    async def recv(self) -> bytes | str:
        try:
            return await self.ws.recv()
        except websockets.ConnectionClosed as exc:  # translate at the boundary
            raise TransportError(self.venue, f"connection closed: {exc}") from None

    async def send(self, text: str) -> None:
        try:
            await self.ws.send(text)
        except websockets.ConnectionClosed as exc:
            raise TransportError(self.venue, f"send on a closed connection: {exc}") from None

    async def close(self) -> None:
        await self.ws.close()


class WebsocketTransport:
    """websockets for frames (keepalive pings, ping timeout) and httpx for REST."""

    def __init__(self, venue: str, *, ping_interval_s: float = 20.0,
                 ping_timeout_s: float = 20.0, open_timeout_s: float = 10.0,
                 max_frame_bytes: int = 64 << 20, rest_timeout_s: float = 10.0) -> None:
        self.venue = venue
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.open_timeout_s = open_timeout_s
        self.max_frame_bytes = max_frame_bytes
        self.http = httpx.AsyncClient(timeout=rest_timeout_s)

    async def connect(self, url: str) -> FrameSource:
        try:
            ws = await ws_connect(url, ping_interval=self.ping_interval_s,
                                  ping_timeout=self.ping_timeout_s,
                                  open_timeout=self.open_timeout_s,
                                  max_size=self.max_frame_bytes, compression=None)
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI,
                websockets.ConnectionClosed) as exc:
            raise TransportError(self.venue, f"cannot connect to {url}: {exc}") from None
        return _WebsocketFrames(ws, self.venue)

    async def get(self, url: str) -> bytes:
        try:
            reply = await self.http.get(url)
        except httpx.HTTPError as exc:
            raise TransportError(self.venue, f"GET {url}: {type(exc).__name__} {exc}") from None
        if reply.status_code != 200:
            raise TransportError(self.venue, f"GET {url}: HTTP {reply.status_code} "
                                 f"{reply.text[:200]}")
        return reply.content

    async def aclose(self) -> None:
        await self.http.aclose()


class Backoff:
    """Exponential backoff with jitter: delay k is uniform in [c/2, c], c = min(cap, b * 2**k)."""

    def __init__(self, initial_s: float, max_s: float, *, rng: random.Random | None = None,
                 ) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError(f"need 0 < initial_s <= max_s, got {initial_s}, {max_s}")
        self.initial_s = initial_s
        self.max_s = max_s
        self.attempt = 0
        self.rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.initial_s * 2 ** self.attempt)
        self.attempt += 1
        return self.rng.uniform(ceiling / 2, ceiling)  # half jitter keeps a floor

    def reset(self) -> None:
        self.attempt = 0


class Recorder(Protocol):
    def write(self, ts_recv: int, tag: str, payload: bytes | str) -> None: ...


@dataclass(frozen=True)
class ConnectorSettings:
    """Timing of the connection (seconds). ``stale_after_s``: no frame for this long is a
    stale period: every book is invalidated and the connection is made again."""

    stale_after_s: float = 30.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0


Sink = Callable[[Output], Awaitable[None]]


class StreamConnector:
    """Connect, subscribe, read frames into the feed, hand outputs to ``sink``; reconnect."""

    def __init__(self, feed: VenueFeed, transport: Transport, sink: Sink, *,
                 settings: ConnectorSettings | None = None,
                 recorder: Recorder | None = None) -> None:
        self.feed = feed
        self.counters = feed.counters
        self.transport = transport
        self.sink = sink
        self.settings = settings or ConnectorSettings()
        self.recorder = recorder
        self.backoff = Backoff(self.settings.backoff_initial_s, self.settings.backoff_max_s)
        self.connected = asyncio.Event()
        self.last_error = ""
        self._frames: FrameSource | None = None
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._last_frame = time.monotonic()

    # -- venue hooks -------------------------------------------------------------------
    def ws_url(self) -> str:
        raise NotImplementedError

    async def on_connected(self, frames: FrameSource) -> None:
        """Send subscriptions; the feed asks for snapshots through ResyncWanted."""

    async def resync(self, symbols: tuple[str, ...], reason: str) -> None:
        raise NotImplementedError

    # -- running -----------------------------------------------------------------------
    async def run(self) -> None:
        """Until ``stop()``: connect, read, and reconnect with backoff after any failure."""
        first = True
        watchdog = self.spawn(self._watch_staleness())
        try:
            while not self._stopping.is_set():
                try:
                    await self._session(first)
                except TransportError as exc:
                    self.last_error = str(exc)
                first = False
                self.connected.clear()
                if self._stopping.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.backoff.next_delay())
        finally:
            watchdog.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _session(self, first: bool) -> None:
        url = self.ws_url()
        frames = await self.transport.connect(url)
        self._frames = frames
        if not first:
            self.counters.reconnects += 1
        self._record(time.time_ns(), "connect", url)
        self._last_frame = time.monotonic()
        try:
            await self.dispatch(self.feed.on_connect())
            await self.on_connected(frames)
            self.connected.set()
            while True:
                raw = await frames.recv()
                ts_recv = time.time_ns()
                self._last_frame = time.monotonic()
                self.backoff.reset()
                self._record(ts_recv, "ws", raw)
                outputs = self.feed.on_frame(raw, ts_recv)
                if outputs:
                    await self.dispatch(outputs)
        finally:
            self._frames = None
            await frames.close()

    async def _watch_staleness(self) -> None:
        limit = self.settings.stale_after_s
        while True:
            await asyncio.sleep(min(1.0, limit / 4))
            frames = self._frames
            if frames is not None and time.monotonic() - self._last_frame > limit:
                self.counters.stale_periods += 1
                self.last_error = f"{self.feed.venue}: no frame for {limit:g} s"
                self._last_frame = time.monotonic()
                await frames.close()  # recv raises, run() reconnects and resyncs

    def stop(self) -> None:
        """Clean shutdown: close the connection and end ``run``."""
        self._stopping.set()
        if self._frames is not None:
            self.spawn(self._frames.close())

    # -- outputs -------------------------------------------------------------------------
    async def dispatch(self, outputs: list[Output]) -> None:
        for output in outputs:
            if isinstance(output, ResyncWanted):
                self.spawn(self.resync(output.symbols, output.reason))
            else:
                await self.sink(output)

    async def request_resync(self, symbol: str, reason: str) -> None:
        """From the consumer (audit disagreement, crossed book): resync one symbol."""
        self._record(time.time_ns(), f"invalidate:{symbol}", reason)
        await self.dispatch(self.feed.invalidate(symbol, reason))

    def spawn(self, coro: Awaitable) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _record(self, ts_recv: int, tag: str, payload: bytes | str) -> None:
        if self.recorder is not None:
            self.recorder.write(ts_recv, tag, payload)


__all__ = ["Backoff", "ConnectorSettings", "FrameSource", "Sink", "StreamConnector",
           "Transport", "WebsocketTransport"]
