"""``obflow venue-sim`` in a subprocess (its own core), for benchmarks and tests."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class SimProcess:
    """``async with SimProcess("binance", files, speed="10") as sim``: ``sim.port`` serves
    websocket and REST; ``sim.done`` is set when it has sent all its data. With ``tls`` it
    serves wss:// and https:// with the certificate it made (``sim.cert``, trusted by
    ``sim.ssl_context()``)."""

    def __init__(self, venue: str, data: list[Path], *extra: str, speed: str = "0",
                 tls: bool = False) -> None:
        self.args = [sys.executable, "-m", "engine.app.cli", "venue-sim", "--venue", venue,
                     "--port", "0", "--speed", speed, *(["--tls"] if tls else []), *extra]
        self.tls = tls
        self.cert: Path | None = None
        if data:
            self.args += ["--data", *map(str, data)]
        self.done = asyncio.Event()
        self.port = 0
        self.frames = 0

    async def __aenter__(self) -> SimProcess:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 60)).decode()
        found = re.search(r"127\.0\.0\.1:(\d+)", line)
        if found is None:
            self.proc.kill()
            await self.proc.wait()
            raise RuntimeError(f"venue-sim did not start: {line!r}")
        self.port = int(found[1])
        cert = re.search(r"certificate (.+?)\)", line)
        self.cert = Path(cert[1]) if cert else None
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        async for line in self.proc.stdout:
            m = re.search(rb"end of data after ([\d,]+) frames", line)
            if m:
                self.frames = int(m[1].replace(b",", b""))
                self.done.set()

    async def __aexit__(self, *exc: object) -> None:
        self.proc.terminate()
        await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context that trusts the simulator's certificate (None without TLS)."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=str(self.cert))

    def venue_table(self, venue: str, symbols: list[str], **extra) -> dict:
        """A ``[venue]`` table pointing at this simulator."""
        return {"name": venue, "symbols": symbols, "ws_url": self.ws_url,
                "rest_url": self.rest_url, "summary_interval_s": 0,
                "backoff_initial_s": 0.05, "backoff_max_s": 0.2, **extra}


__all__ = ["ROOT", "SimProcess"]
