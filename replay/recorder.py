"""Recordings of live sessions: every raw frame with its receive time, gzip line-delimited.

A line is ``<ts_recv_ns> <tag> <payload>``. Tags: ``meta`` (first line, a JSON object with
``format``, ``venue``, ``symbols`` and ``instruments``), ``connect`` (payload: the URL),
``ws`` (a websocket frame), ``depth:<SYMBOL>`` and ``audit:<SYMBOL>`` (REST depth replies)
``invalidate:<SYMBOL>`` (payload: the reason a resync was asked for by the engine side)
and ``stop`` (last line: the session stopped trading and flattened after the lines before).
Replaying the lines through the same feed reproduces the session's books and decisions.
"""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from engine.errors import DataError
from engine.instrument import InstrumentSpec

FORMAT = "obflow-recording"
VERSION = 1


@dataclass(frozen=True, slots=True)
class FeedLine:
    """One recorded input of a feed."""

    ts_recv: int
    tag: str
    payload: bytes
    line: int  #: 1-based line in the file, for error messages


def instruments_json(instruments: dict[str, InstrumentSpec]) -> dict:
    return {s: {"tick_size": str(spec.tick_size), "lot_size": str(spec.lot_size)}
            for s, spec in instruments.items()}


class Recorder:
    """Writes a recording; flushes about once a second so a crash loses little."""

    def __init__(self, path: str | Path, *, venue: str,
                 instruments: dict[str, InstrumentSpec], flush_every_s: float = 1.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = gzip.open(self.path, "wb", compresslevel=5)  # noqa: SIM115 (closed by close)
        self.flush_every_s = flush_every_s
        self._flushed = time.monotonic()
        self.lines = 0
        meta = {"format": FORMAT, "version": VERSION, "venue": venue,
                "symbols": list(instruments), "instruments": instruments_json(instruments)}
        self.write(time.time_ns(), "meta", orjson.dumps(meta))

    def write(self, ts_recv: int, tag: str, payload: bytes | str) -> None:
        if isinstance(payload, str):
            payload = payload.encode()
        if b"\n" in payload:  # raw newlines in JSON can only be whitespace
            payload = payload.replace(b"\r\n", b" ").replace(b"\n", b" ")
        self._file.write(b"%d %s %s\n" % (ts_recv, tag.encode(), payload))
        self.lines += 1
        now = time.monotonic()
        if now - self._flushed > self.flush_every_s:
            self._file.flush()
            self._flushed = now

    def close(self) -> None:
        self._file.close()


def read_recording(path: str | Path) -> tuple[dict, Iterator[FeedLine]]:
    """The meta object and an iterator over the other lines.

    A recording cut short (the process was killed) ends at its last complete line.
    """
    path = Path(path)
    lines = _lines(path)
    try:
        first = next(lines)
        meta = orjson.loads(first.payload)
    except (StopIteration, orjson.JSONDecodeError):
        raise DataError(str(path), 1, "not an obflow recording (no meta line)") from None
    if first.tag != "meta" or meta.get("format") != FORMAT:
        raise DataError(str(path), 1, "not an obflow recording (no meta line)")
    return meta, lines


def _lines(path: Path) -> Iterator[FeedLine]:
    with gzip.open(path, "rb") as f:
        n = 0
        try:
            for raw in f:
                n += 1
                if not raw.endswith(b"\n"):
                    return  # a partial last line
                ts, tag, payload = raw.rstrip(b"\n").split(b" ", 2)
                yield FeedLine(int(ts), tag.decode(), payload, n)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            return  # truncated stream: stop at the last complete line
        except ValueError:
            raise DataError(str(path), n, "expected '<ts_ns> <tag> <payload>'") from None


__all__ = ["FORMAT", "FeedLine", "Recorder", "instruments_json", "read_recording"]
