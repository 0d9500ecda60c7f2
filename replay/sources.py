"""What kind of data a path holds, and venue captures as a stream of feed inputs.

Formats (detected from the first line, gzip or plain):

* ``lobster``: a LOBSTER message file or a folder of pairs (``connectors.lobster``);
* ``obflow``: an ``obflow live --record`` recording (``replay.recorder``);
* ``hftbacktest``: ``<recv_ns> <json>`` lines of a Binance combined stream, with the REST
  depth snapshot as a bare ``{"lastUpdateId": ...}`` line;
* ``cryptofeed-raw``: cryptofeed's v1 raw text (``<ts>: <json>``, ``wss://... <-> <ts>``,
  ``https://.../depth?symbol=X... -> <ts>: <json>``);
* ``cryptofeed-jsonl``: cryptofeed's JSONL recording (``{"t": "recv", "ts": .., "data": ..}``);
* ``tardis``: a Tardis.dev normalised CSV (``exchange,symbol,timestamp,local_timestamp,...``);
* ``algoseek``: an Algoseek CSV (``Date,Timestamp,...``: Full Depth, TAQ or minute bars);
* ``parquet``: normalised events written by ``obflow convert``.

The last three and LOBSTER are historical files (``replay.historical``). Every venue format
becomes the same ``FeedLine`` stream that a recording holds, so replay feeds captures through
exactly the code that runs live.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from itertools import islice
from pathlib import Path

import orjson

from connectors.coinbase import parse_products
from connectors.grid import infer_grid
from engine.errors import DataError
from engine.instrument import InstrumentSpec
from replay.recorder import FORMAT
from replay.recorder import FeedLine
from replay.recorder import read_recording

LOBSTER_NAME = re.compile(r"_message_\d+\.csv(\.gz)?$")
_RAW_REST = re.compile(rb"^(https?://\S+) -> ([0-9.]+): (.*)$")
_RAW_WS = re.compile(rb"^(wss?://\S+) <-> ([0-9.]+)$")
_RAW_RECV = re.compile(rb"^([0-9.]+): (.*)$")
BINANCE_LOT = Decimal("0.00000001")  #: Binance prints every size with 8 decimals


def _open(path: Path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def seconds_to_ns(text: str | bytes) -> int:
    """Decimal seconds as text to ns, exactly (no float rounding)."""
    if isinstance(text, bytes):
        text = text.decode()
    whole, _, frac = text.partition(".")
    return int(whole) * 1_000_000_000 + int(frac[:9].ljust(9, "0"))


def detect_format(path: str | Path) -> str:
    path = Path(path)
    if path.is_dir() or LOBSTER_NAME.search(path.name):
        return "lobster"
    if not path.exists():
        raise DataError(str(path), 0, "no such file")
    with open(path, "rb") as f:
        if f.read(4) == b"PAR1":
            return "parquet"
    with _open(path) as f:
        first = f.readline(1 << 20)
    if first.startswith(b"exchange,symbol,timestamp,local_timestamp,"):
        return "tardis"
    if first.startswith(b"Date,") and b"Ticker" in first:
        return "algoseek"
    if first.startswith(b"configuration: "):
        return "cryptofeed-raw"
    if first.startswith(b"{"):
        head = orjson.loads(first)
        if head.get("t") == "header":
            return "cryptofeed-jsonl"
    parts = first.split(b" ", 2)
    if len(parts) >= 2 and parts[0].isdigit():
        if len(parts) == 3 and parts[1] == b"meta" and FORMAT.encode() in parts[2]:
            return "obflow"
        if parts[1].startswith(b"{"):
            return "hftbacktest"
    raise DataError(str(path), 1, "unknown data format (expected LOBSTER, Tardis.dev or Algoseek "
                    "CSV, obflow event Parquet, an obflow recording, an hftbacktest "
                    "'<recv_ns> <json>' capture or a cryptofeed recording)")


@dataclass
class VenueSource:
    """One or more capture files of one venue, read in the given order."""

    paths: list[Path]
    format: str
    venue: str
    symbols: list[str]
    instruments: dict[str, InstrumentSpec] = field(default_factory=dict)  #: venue metadata

    def lines(self) -> Iterator[FeedLine]:
        for path in self.paths:
            yield from _READERS[self.format](path, self)

    @property
    def name(self) -> str:
        return ",".join(p.name for p in self.paths)


def open_venue_source(paths: list[str | Path]) -> VenueSource:
    """Detect the format of each file (all must agree) and find venue, symbols, metadata."""
    paths = [Path(p) for p in paths]
    formats = {detect_format(p) for p in paths}
    if len(formats) != 1 or formats & {"lobster", "tardis", "algoseek", "parquet"}:
        raise DataError(",".join(map(str, paths)), 0, f"not one kind of venue capture or "
                        f"recording (formats {', '.join(sorted(formats))})")
    fmt = formats.pop()
    source = VenueSource(paths, fmt, "", [])
    if fmt == "obflow":
        meta, _ = read_recording(paths[0])
        source.venue = meta["venue"]
        source.symbols = list(meta["symbols"])
        source.instruments = {s: InstrumentSpec(s, Decimal(v["tick_size"]), Decimal(v["lot_size"]))
                              for s, v in meta["instruments"].items()}
    elif fmt == "cryptofeed-jsonl":
        with _open(paths[0]) as f:
            head = orjson.loads(f.readline())
            for raw in islice(f, 50):
                rec = orjson.loads(raw)
                if rec.get("t") == "http" and "products" in rec.get("url", ""):
                    source.instruments = parse_products(rec["data"])
        source.venue = head["exchange"].lower()
        config = head.get("config", {})
        source.symbols = sorted({s for syms in config.values() for s in syms})
    else:
        source.venue = "binance"
        source.symbols, source.instruments = _scan_binance(source)
    return source


def _scan_binance(source: VenueSource, depth_frames: int = 2000,
                  ) -> tuple[list[str], dict[str, InstrumentSpec]]:
    """Symbols from the stream names; tick sizes inferred from snapshot and depth prices
    (these captures carry no exchangeInfo)."""
    prices: dict[str, list[str]] = {}
    seen = 0
    for line in source.lines():
        if line.tag.startswith("depth:"):
            msg = orjson.loads(line.payload)
            symbol = line.tag[6:]
            prices.setdefault(symbol, []).extend(p for p, _ in msg["bids"] + msg["asks"])
        elif line.tag == "ws" and b"depthUpdate" in line.payload and seen < depth_frames:
            msg = orjson.loads(line.payload)
            data = msg.get("data", msg)
            prices.setdefault(data["s"], []).extend(p for p, _ in data["b"] + data["a"])
            seen += 1
    return sorted(prices), {s: InstrumentSpec(s, infer_grid(v, ["1"], s).tick_size, BINANCE_LOT)
                            for s, v in prices.items()}


def _read_hftbacktest(path: Path, source: VenueSource) -> Iterator[FeedLine]:
    symbol = ""
    with _open(path) as f:
        for n, raw in enumerate(f, start=1):
            ts, _, payload = raw.rstrip(b"\r\n").partition(b" ")
            if not ts and not payload:
                continue
            if not ts.isdigit():
                raise DataError(str(path), n, "expected '<recv_ns> <json>'")
            if payload.startswith(b'{"lastUpdateId"'):
                if not symbol:
                    symbol = _only_symbol(source, path, n)
                yield FeedLine(int(ts), f"depth:{symbol}", payload, n)
            else:
                if not symbol and b'"stream":"' in payload:
                    stream = payload.split(b'"stream":"', 1)[1].split(b"@", 1)[0]
                    symbol = stream.decode().upper()
                yield FeedLine(int(ts), "ws", payload, n)


def _only_symbol(source: VenueSource, path: Path, line: int) -> str:
    if len(source.symbols) != 1:
        raise DataError(str(path), line, "a depth snapshot that names no symbol in a capture of "
                        f"{len(source.symbols)} symbols")
    return source.symbols[0]


def _read_cryptofeed_raw(path: Path, source: VenueSource) -> Iterator[FeedLine]:
    with _open(path) as f:
        for n, raw in enumerate(f, start=1):
            raw = raw.rstrip(b"\r\n")
            if not raw or (n == 1 and raw.startswith(b"configuration: ")):
                continue
            m = _RAW_RECV.match(raw)
            if m:
                yield FeedLine(seconds_to_ns(m[1]), "ws", m[2], n)
                continue
            m = _RAW_REST.match(raw)
            if m:
                symbol = re.search(rb"symbol=([A-Za-z0-9]+)", m[1])
                if symbol is None:
                    raise DataError(str(path), n, "REST reply without a symbol in its URL")
                yield FeedLine(seconds_to_ns(m[2]), f"depth:{symbol[1].decode()}", m[3], n)
                continue
            m = _RAW_WS.match(raw)
            if m:
                yield FeedLine(seconds_to_ns(m[2]), "connect", m[1], n)
                continue
            raise DataError(str(path), n, "not a cryptofeed raw line")


def _read_cryptofeed_jsonl(path: Path, source: VenueSource) -> Iterator[FeedLine]:
    with _open(path) as f:
        for n, raw in enumerate(f, start=1):
            try:
                rec = orjson.loads(raw)
                kind = rec["t"]
                if kind == "recv":
                    yield FeedLine(seconds_to_ns(repr(rec["ts"])), "ws", rec["data"].encode(), n)
                elif kind == "connect":
                    yield FeedLine(seconds_to_ns(repr(rec["ts"])), "connect",
                                   rec.get("addr", "").encode(), n)
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(str(path), n, f"not a cryptofeed JSONL record: {exc}") from None


def _read_obflow(path: Path, source: VenueSource) -> Iterator[FeedLine]:
    _, lines = read_recording(path)
    yield from lines


_READERS = {"hftbacktest": _read_hftbacktest, "cryptofeed-raw": _read_cryptofeed_raw,
            "cryptofeed-jsonl": _read_cryptofeed_jsonl, "obflow": _read_obflow}

__all__ = ["FeedLine", "VenueSource", "detect_format", "open_venue_source", "seconds_to_ns"]
