"""``obflow venue-sim``: a local exchange on 127.0.0.1 that serves a recording (or synthetic
flow) in a venue's own websocket and REST formats, with fault injection.

One port serves both: websocket upgrades get the stream, plain GETs the venue's public REST
endpoints (through websockets' ``process_request``). The venue adapters (``sim_binance``,
``sim_coinbase``) own the wire format and a book of what has been sent, so a snapshot
request is answered with the book as of the last frame sent, as an exchange would.
With TLS (``tls_setup``: a given certificate and key, or a self-signed pair made on start) the
same port serves wss:// and https://.

Faults are numbered by book frames (Binance depthUpdate, Coinbase l2_data updates) in the
order they are played, 1-based: drop (a gap), duplicate, reorder (swap with the next),
disconnect (close every client after it), stall (pause before it), a stale snapshot (the next
snapshot of that frame's symbol is its book from before the frame, so it cannot bridge the
stream) and a malformed frame sent before one. Every fault is tied to a frame of the data,
never to a count of requests or connections, so what a client sees does not depend on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve
from websockets.http11 import Request
from websockets.http11 import Response

from engine.errors import ConfigError
from replay.recorder import FeedLine


@dataclass
class Faults:
    """Fault injection, by 1-based book-frame number."""

    drop: frozenset[int] = frozenset()
    duplicate: frozenset[int] = frozenset()
    reorder: frozenset[int] = frozenset()
    disconnect: frozenset[int] = frozenset()
    stall: dict[int, float] = field(default_factory=dict)  #: frame -> seconds of silence
    stale_snapshot: frozenset[int] = frozenset()  #: the next snapshot predates these frames
    malformed: frozenset[int] = frozenset()  #: a garbage frame goes out before these


@dataclass
class SimFrame:
    """One frame to play: ``book`` frames are numbered for faults."""

    ts_recv: int
    book: bool
    data: object  #: adapter-specific
    symbol: str = ""  #: a reordered frame is held until the next book frame of its symbol
    derived: bool = False  #: made by the adapter from recorded frames, not in the capture


class SimClient:
    """One websocket client, what it subscribed to, and its outgoing queue.

    Every text goes through ``push`` (synchronous) and one writer task sends them in order,
    so per-connection numbering (Coinbase ``sequence_num``) matches the order on the wire
    even when subscription replies and played frames interleave.
    """

    CLOSE = object()

    def __init__(self, ws: ServerConnection, path: str) -> None:
        self.ws = ws
        self.path = path
        self.subs: set[str] = set()
        self.props: dict[str, object] = {}  #: per-connection settings (Binance ``combined``)
        self.seq = -1  #: Coinbase: last sequence_num sent on this connection
        self.held: dict[str, list[str]] = {}  #: per symbol, a frame held by a reorder fault
        self.sent = 0
        self.queue: asyncio.Queue = asyncio.Queue()
        self.writer = asyncio.ensure_future(self._write())

    def push(self, texts: list) -> None:
        for text in texts:
            self.queue.put_nowait(text)

    async def _write(self) -> None:
        try:
            while True:
                text = await self.queue.get()
                if text is SimClient.CLOSE:
                    await self.ws.close()
                    return
                await self.ws.send(text)
                self.sent += 1
        except websockets.ConnectionClosed:
            return


class VenueAdapter(Protocol):
    """What a venue's simulator provides to the server."""

    venue: str

    def frames(self, lines: Iterator[FeedLine]) -> Iterator[SimFrame]: ...

    def advance(self, frame: SimFrame) -> None:
        """Update the venue state (books) as the frame is played."""

    def render(self, client: SimClient, frame: SimFrame) -> list[str]:
        """The texts this client gets for the frame (none if not subscribed)."""

    def skip(self, client: SimClient, frame: SimFrame) -> None:
        """A dropped frame: keep per-connection numbering as if it had been sent."""

    def hold_stale(self, frame: SimFrame) -> None:
        """Keep the frame's symbol's book as it is before the frame: its next snapshot."""

    def on_connect(self, client: SimClient) -> list[str]: ...

    def on_message(self, client: SimClient, text: str) -> list[str]: ...

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes] | None: ...

    not_found: bytes  #: the venue's body for an unknown path
    internal_error: bytes  #: the venue's body for a request it failed on


class VenueSimulator:
    """Serves an adapter's frames to every client, paced by ``speed`` (0: as fast as possible)."""

    def __init__(self, adapter: VenueAdapter, lines: Iterator[FeedLine], *, host: str = "127.0.0.1",
                 port: int = 0, speed: float = 1.0, faults: Faults | None = None,
                 start_delay_s: float = 0.0, tls: TlsSetup | None = None) -> None:
        self.adapter = adapter
        self.tls = tls
        self.lines = lines
        self.host = host
        self.port = port
        self.speed = speed
        self.faults = faults or Faults()
        self.start_delay_s = start_delay_s
        self.clients: set[SimClient] = set()
        self.connected = asyncio.Event()  #: set while at least one client is connected
        self.done = asyncio.Event()
        self.book_frames = 0
        self.frames_played = 0
        self.max_queue = 64  #: frames queued per client before the player waits
        self.server = None
        self._player: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    async def start(self) -> VenueSimulator:
        self.server = await serve(self._handler, self.host, self.port,
                                  process_request=self._process_request, max_size=None,
                                  compression=None, ping_interval=20, ping_timeout=20,
                                  ssl=self.tls.context if self.tls else None)
        self.port = self.server.sockets[0].getsockname()[1]
        self._player = asyncio.ensure_future(self._play())
        return self

    async def stop(self) -> None:
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def __aenter__(self) -> VenueSimulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- REST -----------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request,
                         ) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        parts = urlsplit(request.path)
        try:
            answer = self.adapter.rest(parts.path, parse_qs(parts.query, keep_blank_values=True))
        except Exception:  # a client gets the venue's error body, never a trace
            answer = (500, self.adapter.internal_error)
        if answer is None:
            answer = (404, self.adapter.not_found)
        status, body = answer
        response = connection.respond(status, body.decode())
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    # -- websocket ------------------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        client = SimClient(ws, ws.request.path if ws.request else "/")
        client.push(self.adapter.on_connect(client))
        self.clients.add(client)
        self.connected.set()
        try:
            async for message in ws:
                text = message.decode(errors="replace") if isinstance(message, bytes) \
                    else message
                client.push(self.adapter.on_message(client, text))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            client.writer.cancel()
            if not self.clients:
                self.connected.clear()

    async def _play(self) -> None:
        await self.connected.wait()
        await asyncio.sleep(self.start_delay_s)
        t0 = time.monotonic()
        first_ts = None
        for frame in self.adapter.frames(self.lines):
            if not self.connected.is_set():
                # Nobody to play to (between a disconnect and the reconnect): wait rather
                # than lose frames to an empty room, so what a client sees does not depend
                # on how fast it reconnects. The recorded pacing resumes from here.
                paused = time.monotonic()
                await self.connected.wait()
                t0 += time.monotonic() - paused
            if self.speed > 0:
                first_ts = frame.ts_recv if first_ts is None else first_ts
                due = (frame.ts_recv - first_ts) / 1e9 / self.speed
                wait = due - (time.monotonic() - t0)
                if wait > 0:
                    await asyncio.sleep(wait)
            number = 0
            if frame.book:
                self.book_frames += 1
                number = self.book_frames
                if number in self.faults.stall:
                    await asyncio.sleep(self.faults.stall[number])
                if number in self.faults.stale_snapshot:
                    self.adapter.hold_stale(frame)
            self.adapter.advance(frame)
            self.frames_played += not frame.derived  # the capture's frames, as recorded
            await self._broadcast(frame, number)
            if number in self.faults.disconnect:
                for client in list(self.clients):
                    client.push([SimClient.CLOSE])
            if frame.derived:
                continue  # it goes out with the recorded frame it follows
            await asyncio.sleep(0)  # let REST requests and clients in between frames
            for client in list(self.clients):
                while client.queue.qsize() > self.max_queue and not client.writer.done():
                    await asyncio.sleep(0.001)  # the slowest client sets the pace
        self.done.set()

    async def _broadcast(self, frame: SimFrame, number: int) -> None:
        faults = self.faults
        for client in list(self.clients):
            if number in faults.drop:
                self.adapter.skip(client, frame)
                continue
            texts = self.adapter.render(client, frame)
            if not texts:
                continue
            if number in faults.malformed:
                texts = ['{"stream": "garbage", "data": {"e": "depthUpdate"', *texts]
            if number in faults.duplicate:
                texts = texts + texts
            if number in faults.reorder:
                client.held[frame.symbol] = texts  # sent after its symbol's next book frame
                continue
            if frame.book and frame.symbol in client.held:
                texts = texts + client.held.pop(frame.symbol)
            client.push(texts)


def parse_faults(*, drop: str = "", duplicate: str = "", reorder: str = "",
                 disconnect: str = "", stall: str = "", stale_snapshot: str = "",
                 malformed: str = "") -> Faults:
    """Faults from comma lists, e.g. ``drop="200,900"``, ``stall="300:5"`` (frame:seconds)."""
    def numbers(text: str) -> frozenset[int]:
        return frozenset(int(x) for x in text.split(",") if x.strip())

    stalls = {}
    for item in filter(None, (s.strip() for s in stall.split(","))):
        frame, _, seconds = item.partition(":")
        stalls[int(frame)] = float(seconds or 5)
    return Faults(numbers(drop), numbers(duplicate), numbers(reorder), numbers(disconnect),
                  stalls, numbers(stale_snapshot), numbers(malformed))


def make_adapter(venue: str, source_symbols: list[str], instruments: dict, *,
                 prescan: Iterator[FeedLine] | None = None,
                 products: dict | None = None) -> VenueAdapter:
    if venue == "binance":
        from replay.sim_binance import BinanceVenue

        return BinanceVenue(source_symbols, instruments, prescan=prescan)
    if venue == "coinbase":
        from replay.sim_coinbase import CoinbaseVenue

        return CoinbaseVenue(source_symbols, instruments, products=products)
    raise ValueError(f"no simulator for venue {venue!r} (binance or coinbase)")


def simulator_for(venue: str, data: list[str] | None, *, port: int = 0, speed: float = 1.0,
                  faults: Faults | None = None, symbols: list[str] | None = None,
                  start_delay_s: float = 0.0, tls: TlsSetup | None = None) -> VenueSimulator:
    """A simulator serving ``data`` (files of that venue) or synthetic flow when None."""
    if faults is not None and faults.stale_snapshot and venue != "binance":
        raise ConfigError("--stale-snapshot", f"{venue} sends its snapshot in-band after a "
                          "subscription; the stale REST snapshot fault is Binance's")
    if data:
        from replay.sources import open_venue_source

        source = open_venue_source(data)
        if source.venue != venue:
            raise ValueError(f"{source.name} holds {source.venue} data, not {venue}")
        products = None
        if source.format == "cryptofeed-jsonl":  # the venue's own products reply
            from replay.sim_coinbase import recorded_products

            products = recorded_products(source.paths[0])
        adapter = make_adapter(venue, source.symbols, source.instruments,
                               prescan=source.lines(), products=products)
        lines = source.lines()
    else:
        from replay.sim_flow import synthetic_lines

        symbol = (symbols or ["BTCUSDT" if venue == "binance" else "BTC-USD"])[0]
        lines, instruments = synthetic_lines(venue, symbol)
        adapter = make_adapter(venue, [symbol], instruments)
    return VenueSimulator(adapter, lines, port=port, speed=speed, faults=faults,
                          start_delay_s=start_delay_s, tls=tls)


@dataclass
class TlsSetup:
    """The server's TLS context and the certificate a client trusts (``cafile``)."""

    context: ssl.SSLContext
    cert: Path
    key: Path


def tls_setup(cert: str | Path | None = None, key: str | Path | None = None) -> TlsSetup:
    """TLS from a certificate and key (PEM), or a self-signed pair for 127.0.0.1/localhost
    made now in a fresh temporary folder."""
    if (cert is None) != (key is None):
        raise ConfigError("--cert/--key", "give both the certificate and its key, or neither")
    if cert is None:
        folder = Path(tempfile.mkdtemp(prefix="obflow-venue-sim-"))
        cert, key = folder / "cert.pem", folder / "key.pem"
        _self_signed(cert, key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("--cert/--key", f"cannot load {cert} with {key}: {exc}") from None
    return TlsSetup(context, Path(cert), Path(key))


def _self_signed(cert: Path, key: Path) -> None:
    """An EC P-256 certificate for ``localhost`` and ``127.0.0.1``, its own CA, so a client
    can pass it as ``cafile``: with ``cryptography`` when installed, else ``openssl``."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID
        from cryptography.x509.oid import NameOID
    except ImportError:
        _self_signed_openssl(cert, key)
        return
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "obflow venue-sim")])
    now = datetime.datetime.now(datetime.UTC)
    public = private.public_key()
    built = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        # Strict verifiers (Python 3.13's default) want these on a self-signed server cert.
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(private, hashes.SHA256()))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key.chmod(0o600)
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))


def _self_signed_openssl(cert: Path, key: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ConfigError("--tls", "making a certificate needs the cryptography package or "
                          "the openssl command; or pass --cert FILE --key FILE")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=obflow venue-sim", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,digitalSignature,keyCertSign", "-addext",
                    "extendedKeyUsage=serverAuth"],
                   check=True, capture_output=True)


async def serve_forever(sim: VenueSimulator, *, quiet: bool = False) -> None:
    await sim.start()
    if not quiet:
        cert = f", certificate {sim.tls.cert}" if sim.tls else ""
        print(f"obflow venue-sim: {sim.adapter.venue} on {sim.url} (REST {sim.http_url}{cert}); "
              f"waiting for a client", flush=True)
    await sim.done.wait()
    if not quiet:
        print(f"obflow venue-sim: end of data after {sim.frames_played:,} frames; still "
              f"serving REST and connections (Ctrl-C to stop)", flush=True)
    await asyncio.Event().wait()


__all__ = ["Faults", "SimClient", "SimFrame", "TlsSetup", "VenueAdapter", "VenueSimulator",
           "parse_faults", "serve_forever", "simulator_for", "tls_setup"]
