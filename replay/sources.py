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
import zlib
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
_PLAIN = re.compile(r"^[0-9]+(\.[0-9]+)?$")
BINANCE_LOT = Decimal("0.00000001")  #: Binance prints every size with 8 decimals


def _open(path: Path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _numbered(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw line)``; a gzip stream cut short or damaged becomes a DataError
    naming the line that could not be read."""
    n = 0
    try:
        with _open(path) as f:
            for n, raw in enumerate(f, start=1):
                yield n, raw
    except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(str(path), n + 1, f"the gzip stream is cut short or damaged ({exc}); "
                        f"the {n} lines before it were read") from None


def _json(payload: bytes, path: Path | str, line: int, what: str) -> dict:
    """A JSON object, or a DataError naming file and line (a line cut short, garbage)."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DataError(str(path), line, f"{what} is not valid JSON ({exc}; "
                        f"starts {payload[:40]!r})") from None
    if not isinstance(value, dict):
        raise DataError(str(path), line, f"{what} is not a JSON object (starts "
                        f"{payload[:40]!r})")
    return value


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
    try:
        with _open(path) as f:
            first = f.readline(1 << 20)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(str(path), 1, f"the gzip stream is cut short or damaged ({exc})") \
            from None
    if not first.strip():
        raise DataError(str(path), 0, "empty file (expected market data)")
    if first.startswith(b"exchange,symbol,timestamp,local_timestamp,"):
        return "tardis"
    if first.startswith(b"Date,") and b"Ticker" in first:
        return "algoseek"
    if first.startswith(b"configuration: "):
        return "cryptofeed-raw"
    if first.startswith(b"{"):
        head = _json(first, path, 1, "the first line")
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
        lines = _numbered(paths[0])
        head = {}
        for n, raw in islice(lines, 51):
            rec = _json(raw, paths[0], n, "a cryptofeed JSONL record")
            if n == 1:
                head = rec
            elif rec.get("t") == "http" and "products" in str(rec.get("url", "")):
                try:
                    source.instruments = parse_products(rec["data"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise DataError(str(paths[0]), n, f"the products reply cannot be read "
                                    f"({type(exc).__name__}: {exc})") from None
        lines.close()
        config = head.get("config", {})
        if not isinstance(head.get("exchange"), str) or not isinstance(config, dict):
            raise DataError(str(paths[0]), 1, "the header has no exchange or config (expected "
                            "cryptofeed's {\"t\": \"header\", \"exchange\": ..})")
        source.venue = head["exchange"].lower()
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
    for path in source.paths:
        for line in _READERS[source.format](path, source):
            try:
                if line.tag.startswith("depth:"):
                    msg = _json(line.payload, path, line.line, "the depth snapshot")
                    symbol = line.tag[6:]
                    prices.setdefault(symbol, []).extend(
                        str(p) for p, _ in msg["bids"] + msg["asks"])
                elif line.tag == "ws" and b"depthUpdate" in line.payload and \
                        seen < depth_frames:
                    msg = _json(line.payload, path, line.line, "the frame")
                    data = msg.get("data", msg)
                    prices.setdefault(str(data["s"]), []).extend(
                        str(p) for p, _ in data["b"] + data["a"])
                    seen += 1
            except (KeyError, TypeError, ValueError) as exc:
                if isinstance(exc, DataError):
                    raise
                raise DataError(str(path), line.line, f"a depth message without its fields "
                                f"({type(exc).__name__}: {exc})") from None
    for symbol, values in prices.items():
        bad = next((v for v in values if not _PLAIN.match(v)), None)
        if bad is not None:  # the grid is inferred from these: a bad one would skew it
            raise DataError(source.name, 0, f"{symbol}: depth price {bad!r} is not a plain "
                            "decimal (expected digits with an optional point)")
    return sorted(prices), {s: InstrumentSpec(s, infer_grid(v, ["1"], s).tick_size, BINANCE_LOT)
                            for s, v in prices.items()}


def _read_hftbacktest(path: Path, source: VenueSource) -> Iterator[FeedLine]:
    symbol = ""
    for n, raw in _numbered(path):
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
                symbol = stream.decode("utf-8", "replace").upper()
            yield FeedLine(int(ts), "ws", payload, n)


def _only_symbol(source: VenueSource, path: Path, line: int) -> str:
    if len(source.symbols) != 1:
        raise DataError(str(path), line, "a depth snapshot that names no symbol in a capture of "
                        f"{len(source.symbols)} symbols")
    return source.symbols[0]


def _read_cryptofeed_raw(path: Path, source: VenueSource) -> Iterator[FeedLine]:
    for n, raw in _numbered(path):
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
    for n, raw in _numbered(path):
        try:
            rec = orjson.loads(raw)
            kind = rec["t"]
            if kind == "recv":
                yield FeedLine(seconds_to_ns(repr(rec["ts"])), "ws", rec["data"].encode(), n)
            elif kind == "connect":
                yield FeedLine(seconds_to_ns(repr(rec["ts"])), "connect",
                               rec.get("addr", "").encode(), n)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(str(path), n, f"not a cryptofeed JSONL record: {exc}") from None


def _read_obflow(path: Path, source: VenueSource) -> Iterator[FeedLine]:
    _, lines = read_recording(path)
    yield from lines


_READERS = {"hftbacktest": _read_hftbacktest, "cryptofeed-raw": _read_cryptofeed_raw,
            "cryptofeed-jsonl": _read_cryptofeed_jsonl, "obflow": _read_obflow}

__all__ = ["FeedLine", "VenueSource", "detect_format", "open_venue_source", "seconds_to_ns"]
