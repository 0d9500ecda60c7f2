"""What a venue feed hands out, its counters, and the venue-neutral base of every feed.

A feed is pure and synchronous: ``on_frame(raw, ts_recv)`` turns one raw websocket frame into
a list of outputs (event batches for the engine, invalidations, resync requests, quotes,
audit expectations). It never touches a book and never does I/O, so the live connector and
the replay of a recording run the very same code, frame by frame.
"""

from __future__ import annotations

import enum
from collections import deque

import numpy as np
import orjson

from connectors.grid import Grid
from engine.errors import MalformedFrameError
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import F_LAST
from engine.events import TRADE
from engine.events import event_dtype
from engine.feed import AuditExpectation
from engine.feed import BookBatch
from engine.feed import FeedCounters
from engine.feed import Invalidated
from engine.feed import Output
from engine.feed import Quote
from engine.feed import ResyncWanted
from engine.instrument import InstrumentSpec


class SyncState(enum.Enum):
    WAIT_SNAPSHOT = "wait_snapshot"  #: buffering (Binance) or dropping until a snapshot
    WAIT_BRIDGE = "wait_bridge"  #: snapshot held until the event that bridges it arrives
    SYNCED = "synced"


# -- batch building -----------------------------------------------------------------------
def book_batch(bid_px: np.ndarray, bid_qty: np.ndarray, ask_px: np.ndarray,
               ask_qty: np.ndarray, *, ts_event: int, ts_recv: int, seq: int,
               flags: int = 0) -> np.ndarray:
    """One message's level updates (bids then asks); the last event carries F_LAST."""
    nb = len(bid_px)
    out = np.zeros(nb + len(ask_px), dtype=event_dtype)
    out["px_ticks"][:nb] = bid_px
    out["qty_lots"][:nb] = bid_qty
    out["px_ticks"][nb:] = ask_px
    out["qty_lots"][nb:] = ask_qty
    out["side"][:nb] = BID
    out["side"][nb:] = ASK
    out["kind"] = BOOK_DELTA
    out["ts_event"] = ts_event
    out["ts_recv"] = ts_recv
    out["seq"] = seq
    out["flags"] = flags
    if len(out):
        out["flags"][-1] |= F_LAST
    return out


def trade_batch(px: int, qty: int, aggressor: int, *, ts_event: int, ts_recv: int,
                seq: int) -> np.ndarray:
    out = np.zeros(1, dtype=event_dtype)
    out[0] = (ts_event, ts_recv, px, qty, seq, TRADE, aggressor, F_LAST)
    return out


def top_of(px: np.ndarray, qty: np.ndarray, side: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``n`` non-empty levels of one side of a level image, best first."""
    live = qty > 0
    px, qty = px[live], qty[live]
    order = np.argsort(-px if side == BID else px, kind="stable")[:n]
    return px[order], qty[order]


def overlay(px: np.ndarray, qty: np.ndarray, upd_px: np.ndarray, upd_qty: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray]:
    """A side's levels after absolute updates (later updates win; size 0 removes)."""
    levels = dict(zip(px.tolist(), qty.tolist(), strict=True))
    levels.update(zip(upd_px.tolist(), upd_qty.tolist(), strict=True))
    keys = np.fromiter(levels.keys(), dtype=np.int64, count=len(levels))
    vals = np.fromiter(levels.values(), dtype=np.int64, count=len(levels))
    return keys, vals


# -- the base -----------------------------------------------------------------------------
class VenueFeed:
    """Venue-neutral machinery: instruments, grids, counters, malformed-frame handling.

    Subclasses implement ``_frame`` (parse one frame) and may override ``on_rest``,
    ``_reset`` (forget one symbol's sync state) and ``subscribed``.
    """

    venue = ""

    def __init__(self, instruments: dict[str, InstrumentSpec], *,
                 counters: FeedCounters | None = None) -> None:
        if not instruments:
            raise ValueError("a feed needs at least one instrument")
        self.instruments = dict(instruments)
        self.grids = {s: Grid(spec) for s, spec in instruments.items()}
        self.counters = counters or FeedCounters()
        self.state = {s: SyncState.WAIT_SNAPSHOT for s in instruments}
        self.errors: deque[str] = deque(maxlen=20)  #: the latest malformed-frame reasons

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.instruments)

    def synced(self, symbol: str) -> bool:
        return self.state[symbol] is SyncState.SYNCED

    def on_frame(self, raw: bytes | str, ts_recv: int) -> list[Output]:
        """Parse one frame; a malformed one is counted, never raised."""
        self.counters.frames += 1
        try:
            msg = orjson.loads(raw)
            if not isinstance(msg, dict):
                raise MalformedFrameError(self.venue, "frame is not a JSON object")
            return self._frame(msg, ts_recv)
        except MalformedFrameError as exc:
            return self._malformed(exc)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
            return self._malformed(MalformedFrameError(
                self.venue, f"{type(exc).__name__}: {exc}"))

    def _malformed(self, exc: MalformedFrameError) -> list[Output]:
        self.counters.count("malformed", exc.symbol)
        self.errors.append(str(exc))
        if exc.symbol in self.state and self.state[exc.symbol] is SyncState.SYNCED:
            return self.invalidate(exc.symbol, "malformed")  # its content is lost: resync
        return []

    def on_connect(self) -> list[Output]:
        """A new connection: every book is out of sync until its snapshot arrives."""
        out: list[Output] = []
        for symbol in self.symbols:
            if self.state[symbol] is SyncState.SYNCED:
                out.append(Invalidated(symbol, "reconnect"))
            self._reset(symbol)
        return out

    def invalidate(self, symbol: str, reason: str) -> list[Output]:
        """Drop the symbol's sync (gap, audit disagreement, crossed book) and ask to resync."""
        out: list[Output] = []
        if self.state[symbol] is SyncState.SYNCED:
            out.append(Invalidated(symbol, reason))
        self._reset(symbol)
        self.counters.count("resyncs", symbol)
        out.append(ResyncWanted((symbol,), reason))
        return out

    def on_rest(self, kind: str, symbol: str, raw: bytes | str, ts_recv: int) -> list[Output]:
        """A REST reply (``kind`` "depth" for sync, "audit" for the periodic check)."""
        return []

    def _frame(self, msg: dict, ts_recv: int) -> list[Output]:
        raise NotImplementedError

    def _reset(self, symbol: str) -> None:
        self.state[symbol] = SyncState.WAIT_SNAPSHOT


__all__ = ["AuditExpectation", "BookBatch", "FeedCounters", "Invalidated", "Output", "Quote",
           "ResyncWanted", "SyncState", "VenueFeed", "book_batch", "overlay", "top_of",
           "trade_batch"]
