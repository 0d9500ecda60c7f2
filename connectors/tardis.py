"""Tardis.dev normalised CSV files (plain or .gz) decoded into events.

Every kind starts with ``exchange,symbol,timestamp,local_timestamp`` (µs since the epoch,
exchange time and Tardis's receive time), then:

* ``incremental_book_L2``: ``is_snapshot,side,price,amount``, one level per row, ``amount``
  the new absolute size (0 removes). A run of ``is_snapshot=true`` rows is a full book image
  that replaces the book: its levels, then a removal of every older level it does not hold,
  as one message (F_SNAPSHOT). Other rows sharing a ``local_timestamp`` are one message.
  A removal of a level that is not in the book (Binance sends them for levels beyond the
  snapshot's 1,000) is counted as ``deletes_of_absent_levels`` and skipped;
* ``trades``: ``id,side,price,amount``, side the aggressor (buy, sell, unknown);
* ``quotes``: ``ask_amount,ask_price,bid_price,bid_amount``, the top of the book (an empty
  side has empty cells);
* ``book_snapshot_N``: ``asks[i].price,asks[i].amount,bids[i].price,bids[i].amount`` for
  i < N, level 0 the best.

Quotes and snapshots are depth-limited views: each row is diffed against the row before, as
the LOBSTER connector does with its orderbook rows, and levels that only slid into or out of
view are flagged ``F_VIEW``. Events keep file order (Tardis writes by ``local_timestamp``);
``ts_event`` is the exchange time, ``ts_recv`` the local time, ``seq`` the file line.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
from numba import njit

from connectors.lobster import EMPTY_ASK
from connectors.lobster import EMPTY_BID
from connectors.lobster import _level_size
from connectors.lobster import beyond_view
from connectors.vendor_csv import DecimalColumn
from connectors.vendor_csv import codes
from connectors.vendor_csv import emit_delta
from connectors.vendor_csv import header_of
from connectors.vendor_csv import ints
from connectors.vendor_csv import labels
from connectors.vendor_csv import level_slots
from connectors.vendor_csv import line_of
from connectors.vendor_csv import monotone_time
from connectors.vendor_csv import pick_symbol
from connectors.vendor_csv import plain
from connectors.vendor_csv import read_table
from engine.errors import ConfigError
from engine.errors import DataError
from engine.events import ASK
from engine.events import BID
from engine.events import BUY
from engine.events import F_LAST
from engine.events import F_SNAPSHOT
from engine.events import F_VIEW
from engine.events import SELL
from engine.events import TRADE
from engine.events import event_dtype
from engine.instrument import InstrumentSpec

COMMON = ("exchange", "symbol", "timestamp", "local_timestamp")
KIND_COLUMNS = {
    "incremental_book_L2": ("is_snapshot", "side", "price", "amount"),
    "trades": ("id", "side", "price", "amount"),
    "quotes": ("ask_amount", "ask_price", "bid_price", "bid_amount"),
}
US = 1000  #: ns per µs
MAX_US = (2**63 - 1) // US  #: the latest µs time whose ns still fits in int64


def tardis_kind(header: list[str]) -> str | None:
    """The Tardis data type a CSV header belongs to, or None."""
    if tuple(header[:4]) != COMMON:
        return None
    rest = tuple(header[4:])
    for kind, columns in KIND_COLUMNS.items():
        if rest == columns:
            return kind
    if rest and len(rest) % 4 == 0 and list(rest) == snapshot_columns(len(rest) // 4):
        return f"book_snapshot_{len(rest) // 4}"
    return None


def snapshot_columns(levels: int) -> list[str]:
    return [f"{side}[{i}].{what}" for i in range(levels) for side in ("asks", "bids")
            for what in ("price", "amount")]


@dataclass
class TardisFile:
    """One parsed file: the rows of every symbol, prices and sizes still as decimals."""

    path: Path
    kind: str
    exchange: str
    symbols: list[str]
    symbol_idx: np.ndarray  #: per row, index into ``symbols``
    timestamp: np.ndarray  #: µs
    local_timestamp: np.ndarray  #: µs
    prices: list[DecimalColumn]
    amounts: list[DecimalColumn]
    is_snapshot: np.ndarray | None = None
    side: np.ndarray | None = None  #: BID/ASK (book), BUY/SELL/0 (trades)

    def rows_of(self, symbol: str) -> np.ndarray:
        if symbol not in self.symbols:
            raise DataError(str(self.path), 0, f"no {symbol} rows (it has "
                            f"{', '.join(self.symbols)})")
        return np.flatnonzero(self.symbol_idx == self.symbols.index(symbol))


def read_tardis(path: str | Path) -> TardisFile:
    """Parse a Tardis CSV file of any supported kind."""
    path = Path(path)
    header = header_of(path)
    kind = tardis_kind(header)
    if kind is None:
        raise DataError(str(path), 1, "not a supported Tardis CSV header (incremental_book_L2, "
                        f"trades, quotes, book_snapshot_N): {','.join(header)[:200]}")
    types = {"timestamp": pa.int64(), "local_timestamp": pa.int64(), "is_snapshot": pa.bool_()}
    types.update({c: pa.string() for c in header if c not in types})
    table = read_table(path, types, required=header)
    name = str(path)
    if not table.num_rows:
        raise DataError(name, 1, "a header and no rows (expected Tardis rows after line 1)")
    exchanges, _ = labels(table["exchange"])
    if len(exchanges) > 1:
        raise DataError(name, 0, f"rows of several exchanges ({', '.join(exchanges)})")
    symbols, symbol_idx = labels(table["symbol"])
    out = TardisFile(path, kind, exchanges[0] if exchanges else "", symbols, symbol_idx,
                     ints(table["timestamp"]), ints(table["local_timestamp"]), [], [])
    for column, values in (("timestamp", out.timestamp), ("local_timestamp",
                                                           out.local_timestamp)):
        bad = np.flatnonzero((values < 0) | (values > MAX_US))
        if bad.size:  # µs become ns: a larger value would wrap around int64
            i = int(bad[0])
            raise DataError(name, line_of(i), f"{column} {values[i]} is outside 0..{MAX_US} "
                            "(expected µs since the Unix epoch)")
    if kind == "quotes":
        price_cols, amount_cols = ["ask_price", "bid_price"], ["ask_amount", "bid_amount"]
    elif kind.startswith("book_snapshot_"):
        cols = header[4:]
        price_cols, amount_cols = cols[0::2], cols[1::2]
    else:
        price_cols, amount_cols = ["price"], ["amount"]
    out.prices = [DecimalColumn(table[c], path=name, name=c) for c in price_cols]
    out.amounts = [DecimalColumn(table[c], path=name, name=c) for c in amount_cols]
    if kind == "incremental_book_L2":
        out.is_snapshot = table["is_snapshot"].to_numpy(zero_copy_only=False).astype(bool)
        out.side = codes(table["side"], {"bid": BID, "ask": ASK}, path=name, name="side")
    elif kind == "trades":
        out.side = codes(table["side"], {"buy": BUY, "sell": SELL, "unknown": 0}, path=name,
                         name="side")
    if kind in ("incremental_book_L2", "trades"):
        for col in out.prices + out.amounts:
            empty = np.flatnonzero(~col.present)
            if empty.size:
                raise DataError(name, line_of(empty[0]), f"{col.name} is empty")
    return out


def common_step(steps: list[Decimal]) -> Decimal:
    """The coarsest step that divides every given step."""
    top = max(max(0, -s.normalize().as_tuple().exponent) for s in steps)
    g = 0
    for s in steps:
        g = int(np.gcd(g, int(s.scaleb(top))))
    return plain(Decimal(max(g, 1)).scaleb(-top))


def infer_instrument(files: list[TardisFile], symbol: str) -> InstrumentSpec:
    """Tick and lot as the coarsest grid of the files' prices and sizes for ``symbol``."""
    prices, amounts = [], []
    for f in files:
        mask = f.symbol_idx == f.symbols.index(symbol)
        prices += [c.step(mask) for c in f.prices]
        amounts += [c.step(mask) for c in f.amounts]
    return InstrumentSpec(symbol, common_step(prices), common_step(amounts))


@njit(cache=True)
def _decode_l2(ts, recv, snap, side, px, qty, lvl, n_lvl, lvl_px, seq, out, count_only):
    """incremental_book_L2 rows to events; returns (events, skipped deletes).

    ``lvl`` indexes each row's price into per-side size arrays of ``n_lvl`` slots (``lvl_px``
    maps a slot back to ticks). A snapshot run replaces the book (module doc).
    """
    n = ts.shape[0]
    sizes = np.zeros((2, n_lvl), np.int64)  # 0: bids, 1: asks
    mark = np.zeros((2, n_lvl), np.int64)  # snapshot run that last set the level
    run = 0
    n_out = 0
    skipped = 0
    first = 0  # first event of the open message
    for i in range(n):
        s = 0 if side[i] == BID else 1
        k = lvl[i]
        is_snap = snap[i]
        if is_snap and (i == 0 or not snap[i - 1]):
            run += 1
        if not is_snap and qty[i] == 0 and sizes[s, k] == 0:
            skipped += 1
        elif not (is_snap and qty[i] == 0):
            sizes[s, k] = qty[i]
            if is_snap:
                mark[s, k] = run
            n_out = emit_delta(out, n_out, count_only, ts[i] * 1000, recv[i] * 1000, seq[i],
                          side[i], px[i], qty[i], F_SNAPSHOT if is_snap else 0)
        last = i == n - 1
        if is_snap:
            ends = last or not snap[i + 1]
            if ends:  # the image is complete: drop the levels it does not hold
                for t in range(2):
                    for j in range(n_lvl):
                        if sizes[t, j] > 0 and mark[t, j] != run:
                            sizes[t, j] = 0
                            n_out = emit_delta(out, n_out, count_only, ts[i] * 1000,
                                          recv[i] * 1000, seq[i], BID if t == 0 else ASK,
                                          lvl_px[j], 0, F_SNAPSHOT)
        else:
            ends = last or snap[i + 1] or recv[i + 1] != recv[i]
        if ends:
            if n_out > first and not count_only:
                out[n_out - 1].flags |= F_LAST
            first = n_out
    return n_out, skipped


@njit(cache=True)
def _decode_rows(rows, ts, recv, seq, out, count_only):
    """Top-N rows (LOBSTER orderbook layout: askP, askS, bidP, bidS per level; empty slots
    EMPTY_ASK/EMPTY_BID) to the level changes between consecutive rows."""
    n, width = rows.shape
    levels = width // 4
    prev = np.empty(width, np.int64)
    for j in range(levels):
        prev[4 * j] = EMPTY_ASK
        prev[4 * j + 1] = 0
        prev[4 * j + 2] = EMPTY_BID
        prev[4 * j + 3] = 0
    n_out = 0
    for i in range(n):
        row = rows[i]
        first = n_out
        t, r, q = ts[i] * 1000, recv[i] * 1000, seq[i]
        snap_flag = F_SNAPSHOT if i == 0 else 0
        for col in (0, 2):
            is_bid = col == 2
            sd = BID if is_bid else ASK
            for j in range(levels):
                px = row[col + 4 * j]
                if px != EMPTY_ASK and px != EMPTY_BID:
                    size = row[col + 4 * j + 1]
                    if size != _level_size(prev, levels, col, px):
                        flags = snap_flag
                        if beyond_view(prev, levels, col, px, is_bid):
                            flags |= F_VIEW
                        n_out = emit_delta(out, n_out, count_only, t, r, q, sd, px, size, flags)
                px = prev[col + 4 * j]
                if px != EMPTY_ASK and px != EMPTY_BID and _level_size(row, levels, col,
                                                                      px) == 0:
                    flags = F_VIEW if beyond_view(row, levels, col, px, is_bid) else 0
                    n_out = emit_delta(out, n_out, count_only, t, r, q, sd, px, 0, flags)
        if n_out > first and not count_only:
            out[n_out - 1].flags |= F_LAST
        prev[:] = row
    return n_out


@dataclass
class Decoded:
    events: np.ndarray
    counters: dict[str, int] = field(default_factory=dict)


def decode(f: TardisFile, spec: InstrumentSpec, symbol: str) -> Decoded:
    """The events of ``symbol`` in one file, in ticks and lots of ``spec``."""
    rows = f.rows_of(symbol)
    seq = (rows + 2).astype(np.int64)
    ts, recv = f.timestamp[rows], f.local_timestamp[rows]
    tick, lot = f"tick {spec.tick_size}", f"lot {spec.lot_size}"
    px = [c.units(spec.tick_size, what=tick)[rows] for c in f.prices]
    qty = [c.units(spec.lot_size, what=lot)[rows] for c in f.amounts]
    if f.kind == "trades":
        events = np.zeros(len(rows), dtype=event_dtype)
        events["ts_event"], events["ts_recv"], events["seq"] = ts * US, recv * US, seq
        events["px_ticks"], events["qty_lots"] = px[0], qty[0]
        events["kind"], events["side"], events["flags"] = TRADE, f.side[rows], F_LAST
        return Decoded(events, {"rows": len(rows)})
    if f.kind == "incremental_book_L2":
        lvl, lvl_px = level_slots(px[0])
        args = (ts, recv, f.is_snapshot[rows], f.side[rows].astype(np.int8), px[0], qty[0],
                lvl, len(lvl_px), lvl_px, seq)
        count, skipped = _decode_l2(*args, np.zeros(0, event_dtype), True)
        events = np.zeros(count, dtype=event_dtype)
        _decode_l2(*args, events, False)
        return Decoded(events, {"rows": len(rows), "deletes_of_absent_levels": int(skipped)})
    book = _rows_layout(f, rows, px, qty)
    count = _decode_rows(book, ts, recv, seq, np.zeros(0, event_dtype), True)
    events = np.zeros(count, dtype=event_dtype)
    _decode_rows(book, ts, recv, seq, events, False)
    return Decoded(events, {"rows": len(rows)})


def _rows_layout(f: TardisFile, rows: np.ndarray, px: list[np.ndarray],
                 qty: list[np.ndarray]) -> np.ndarray:
    """Quotes and snapshots as LOBSTER-style top-N rows; a level with an empty or zero
    amount is an empty slot."""
    levels = len(px) // 2
    book = np.empty((len(rows), 4 * levels), dtype=np.int64)
    for j in range(2 * levels):  # columns alternate ask, bid per level
        level, is_bid = divmod(j, 2)
        present = f.prices[j].present[rows] & f.amounts[j].present[rows] & (qty[j] > 0)
        col = 4 * level + 2 * is_bid
        book[:, col] = np.where(present, px[j], EMPTY_BID if is_bid else EMPTY_ASK)
        book[:, col + 1] = np.where(present, qty[j], 0)
    return book


@dataclass
class TardisData:
    """One symbol's events from one or more files, merged by local time."""

    symbol: str
    exchange: str
    kinds: list[str]
    instrument: InstrumentSpec
    events: np.ndarray
    counters: dict[str, int]


def load_tardis(paths: list[str | Path], *, symbol: str | None = None,
                instruments: dict[str, InstrumentSpec] | None = None) -> TardisData:
    """Read, decode and merge Tardis files of one exchange (e.g. a day's book and trades).

    Files merge by ``local_timestamp``, each keeping its own row order; ties keep the order
    the files were given in. The instrument is ``instruments[symbol]`` when given, else tick
    and lot are inferred from the files.
    ``ts_event`` that goes backwards (Binance's first updates after a snapshot row stamped
    with the local time) is raised to the latest before it and counted as ``times_raised``.
    """
    files = [read_tardis(p) for p in paths]
    names = ",".join(str(f.path) for f in files)
    exchanges = sorted({f.exchange for f in files})
    if len(exchanges) > 1:
        raise DataError(names, 0, f"files of different exchanges ({', '.join(exchanges)})")
    shared = sorted(set.intersection(*(set(f.symbols) for f in files)))
    symbol = pick_symbol(symbol, shared, names)
    if symbol not in shared:
        raise ConfigError("--symbol", f"{symbol} is not in every file of {names} "
                          f"(common: {', '.join(shared)})")
    spec = (instruments or {}).get(symbol) or infer_instrument(files, symbol)
    parts = [decode(f, spec, symbol) for f in files]
    events = np.concatenate([p.events for p in parts])
    if len(parts) > 1:  # merge on each file's running-max local time: file order survives
        key = np.concatenate([np.maximum.accumulate(p.events["ts_recv"]) if len(p.events)
                              else p.events["ts_recv"] for p in parts])
        events = events[np.argsort(key, kind="stable")]
    counters: dict[str, int] = {}
    for part in parts:
        for k, v in part.counters.items():
            counters[k] = counters.get(k, 0) + v
    ts = np.ascontiguousarray(events["ts_event"])
    counters["times_raised"] = int(monotone_time(ts))
    events["ts_event"] = ts
    return TardisData(symbol, exchanges[0] if exchanges else "", [f.kind for f in files],
                      spec, events, counters)


__all__ = ["COMMON", "KIND_COLUMNS", "Decoded", "TardisData", "TardisFile", "common_step",
           "decode", "infer_instrument", "load_tardis", "read_tardis", "snapshot_columns",
           "tardis_kind"]
