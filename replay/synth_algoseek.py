"""The synthetic order flow written as an Algoseek Full Depth (market-by-order) file.

Why: the Algoseek decoder needs a full-size, self-consistent order-level file to be checked
against, and no public one exists. The simulator's order log (``simulate(order_log=True)``)
is the same flow that ``write_lobster`` writes as a level-L extract, so the L2 book decoded
from this file must equal the LOBSTER book after every LOBSTER message (``tests``).

Rows follow ../shared/data/FORMATS.md: the book at the open as ADD rows, then ADD, CANCEL,
DELETE, EXECUTE, FILL (the execution that completes an order) and TRADE (hidden executions)
with nanosecond US/Eastern timestamps, all on one exchange.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from replay.synth import SynthDay
from replay.synth import _int_len
from replay.synth import put_int

#: Event type text by log type and side (0: bid, 1: ask); price and quantity written or not.
_NAMES = {1: "ADD", 2: "CANCEL", 3: "DELETE", 4: "EXECUTE", 5: "TRADE", 9: "FILL"}
_CHUNK = 1 << 16


def _name_table() -> tuple[np.ndarray, np.ndarray]:
    """Event type names, concatenated, and their offsets; index ``2 * type + (ask)``."""
    names = [b""] * 20
    for typ, name in _NAMES.items():
        names[2 * typ] = f"{name} BID".encode()
        names[2 * typ + 1] = f"{name} ASK".encode()
    offsets = np.cumsum([0] + [len(n) for n in names]).astype(np.int64)
    return np.frombuffer(b"".join(names), dtype=np.uint8), offsets


@njit(cache=True)
def _put_bytes(buf, pos, src, a, b):
    for j in range(a, b):
        buf[pos] = src[j]
        pos += 1
    return pos


@njit(cache=True)
def _format_rows(log, start, end, prefix, ticker, suffix, names, name_off, buf):
    """CSV bytes of log rows [start, end) into ``buf``; returns the length written."""
    pos = 0
    for r in range(start, end):
        t = log[r, 0]
        typ = log[r, 1]
        oid = log[r, 2]
        size = log[r, 3]
        price = log[r, 4]
        direction = log[r, 5]
        pos = _put_bytes(buf, pos, prefix, 0, prefix.shape[0])
        sec = t // 1_000_000_000
        frac = t - sec * 1_000_000_000
        for v, sep in ((sec // 3600, 58), ((sec // 60) % 60, 58), (sec % 60, 46)):
            buf[pos] = 48 + v // 10
            buf[pos + 1] = 48 + v % 10
            buf[pos + 2] = sep
            pos += 3
        for i in range(8, -1, -1):
            buf[pos + i] = 48 + frac % 10
            frac //= 10
        pos += 9
        buf[pos] = 44
        pos = put_int(buf, pos + 1, oid)
        buf[pos] = 44
        k = 2 * typ + (1 if direction == -1 else 0)
        pos = _put_bytes(buf, pos + 1, names, name_off[k], name_off[k + 1])
        pos = _put_bytes(buf, pos, ticker, 0, ticker.shape[0])
        shown = typ == 1 or typ == 5  # ADD and TRADE carry price; others 0.00
        p = price if shown else 0
        pos = put_int(buf, pos, p // 10_000)
        buf[pos] = 46
        cents = p % 10_000
        digits = 4
        while digits > 2 and cents % 10 == 0:
            cents //= 10
            digits -= 1
        for i in range(digits - 1, -1, -1):
            buf[pos + 1 + i] = 48 + cents % 10
            cents //= 10
        pos += 1 + digits
        buf[pos] = 44
        q = size if (typ == 1 or typ == 2 or typ == 4 or typ == 5) else 0
        pos = put_int(buf, pos + 1, q)
        pos = _put_bytes(buf, pos, suffix, 0, suffix.shape[0])
    return pos


def write_algoseek(day: SynthDay, out_dir: str | Path, *, ticker: str = "SYNTH",
                   date: str = "2024-01-02", exchange: str = "NASDAQ") -> Path:
    """Write ``<ticker>.FullDepth.<yyyymmdd>.csv``; ``day`` must carry its order log."""
    if day.order_log is None:
        raise ValueError("simulate(config, order_log=True) keeps the order log this needs")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ymd = date.replace("-", "")
    path = out / f"{ticker}.FullDepth.{ymd}.csv"
    log = np.ascontiguousarray(day.order_log, dtype=np.int64)
    names, name_off = _name_table()
    prefix = np.frombuffer(f"{ymd},".encode(), dtype=np.uint8)
    ticker_b = np.frombuffer(f",{ticker},".encode(), dtype=np.uint8)
    suffix = np.frombuffer(f",,{exchange}\n".encode(), dtype=np.uint8)
    widest = max(_int_len(int(log[:, c].max(initial=0))) for c in (2, 3, 4)) + 1
    row_bytes = len(prefix) + 19 + 3 * widest + 12 + len(ticker_b) + len(suffix) + 8
    buf = np.empty(_CHUNK * row_bytes, dtype=np.uint8)
    with open(path, "wb") as fh:
        fh.write(b"Date,Timestamp,OrderNumber,EventType,Ticker,Price,Quantity,MPID,Exchange\n")
        for start in range(0, len(log), _CHUNK):
            end = min(start + _CHUNK, len(log))
            n = _format_rows(log, start, end, prefix, ticker_b, suffix, names, name_off, buf)
            fh.write(buf[:n].tobytes())
    return path


__all__ = ["write_algoseek"]
