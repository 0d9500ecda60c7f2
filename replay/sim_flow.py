"""Synthetic order flow for ``obflow venue-sim`` when no data file is given.

A seeded random walk of a level book around a mid price: every 100 ms a few levels near the
touch change, the touch sometimes moves, and trades print at the touch. It is written as the
venue would write it (Binance: REST snapshot plus depthUpdate/trade/bookTicker frames;
Coinbase: level2 snapshot and updates, market_trades, heartbeats), as recorded lines.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import orjson

from engine.instrument import InstrumentSpec
from replay.recorder import FeedLine

STEP_NS = 100_000_000
TICK = Decimal("0.01")


def _px(ticks: int) -> str:
    return f"{Decimal(ticks) * TICK:.8f}"


def _qty(lots: int) -> str:
    return f"{Decimal(lots) / 100_000:.8f}"  # lots of 0.00001


class _Walk:
    """The book in ticks and lots; ``step`` returns changed levels (side, ticks, lots)."""

    def __init__(self, seed: int, mid: int = 6_000_000, depth: int = 50) -> None:
        self.rng = np.random.default_rng(seed)
        self.bids = {mid - 1 - i: int(self.rng.integers(1, 200_000)) for i in range(depth)}
        self.asks = {mid + i: int(self.rng.integers(1, 200_000)) for i in range(depth)}

    def step(self) -> list[tuple[int, int, int]]:
        rng = self.rng
        changes = []
        best_bid, best_ask = max(self.bids), min(self.asks)
        move = rng.choice([-1, 0, 0, 0, 1])
        if move > 0 and len(self.asks) > 5:  # the ask is lifted: its best level goes
            del self.asks[best_ask]
            changes.append((-1, best_ask, 0))
            best_bid = best_ask
            self.bids[best_bid] = int(rng.integers(1, 50_000))
            changes.append((1, best_bid, self.bids[best_bid]))
        elif move < 0 and len(self.bids) > 5:
            del self.bids[best_bid]
            changes.append((1, best_bid, 0))
            best_ask = best_bid
            self.asks[best_ask] = int(rng.integers(1, 50_000))
            changes.append((-1, best_ask, self.asks[best_ask]))
        best_bid, best_ask = max(self.bids), min(self.asks)
        for _ in range(int(rng.integers(1, 6))):
            side = 1 if rng.random() < 0.5 else -1
            px = best_bid - int(rng.integers(0, 20)) if side == 1 else \
                best_ask + int(rng.integers(0, 20))
            book = self.bids if side == 1 else self.asks
            lots = 0 if (rng.random() < 0.2 and px in book and len(book) > 10) else \
                int(rng.integers(1, 200_000))
            if lots:
                book[px] = lots
            elif px in book and px not in (best_bid, best_ask):
                del book[px]
            else:
                continue
            changes.append((side, px, lots))
        return changes


def synthetic_lines(venue: str, symbol: str, *, seed: int = 7,
                    start_ns: int | None = None) -> tuple[Iterator[FeedLine], dict]:
    spec = InstrumentSpec(symbol, TICK, Decimal("0.00001"))
    start = start_ns if start_ns is not None else time.time_ns()
    lines = _binance(symbol, seed, start) if venue == "binance" else _coinbase(symbol, seed, start)
    return lines, {symbol: spec}


def _binance(symbol: str, seed: int, start: int) -> Iterator[FeedLine]:
    walk = _Walk(seed)
    stream = symbol.lower()
    last = 1_000
    yield FeedLine(start, f"depth:{symbol}", orjson.dumps({
        "lastUpdateId": last,
        "bids": [[_px(p), _qty(q)] for p, q in sorted(walk.bids.items(), reverse=True)],
        "asks": [[_px(p), _qty(q)] for p, q in sorted(walk.asks.items())]}), 0)
    trade_id = 1
    k = 0
    while True:
        k += 1
        ts = start + k * STEP_NS
        ms = ts // 1_000_000
        changes = walk.step()
        if not changes:
            continue  # the venue sends no empty diff
        first, last = last + 1, last + len(changes)
        data = {"e": "depthUpdate", "E": ms, "s": symbol, "U": first, "u": last,
                "b": [[_px(p), _qty(q)] for s, p, q in changes if s == 1],
                "a": [[_px(p), _qty(q)] for s, p, q in changes if s == -1]}
        yield FeedLine(ts, "ws", orjson.dumps({"stream": f"{stream}@depth@100ms",
                                               "data": data}), k)
        bid, ask = max(walk.bids), min(walk.asks)
        yield FeedLine(ts + 1000, "ws", orjson.dumps({"stream": f"{stream}@bookTicker", "data": {
            "u": last, "s": symbol, "b": _px(bid), "B": _qty(walk.bids[bid]), "a": _px(ask),
            "A": _qty(walk.asks[ask])}}), k)
        if k % 3 == 0:
            buyer_maker = bool(walk.rng.random() < 0.5)
            yield FeedLine(ts + 2000, "ws", orjson.dumps({"stream": f"{stream}@trade", "data": {
                "e": "trade", "E": ms, "s": symbol, "t": trade_id,
                "p": _px(bid if buyer_maker else ask), "q": _qty(int(walk.rng.integers(1, 5000))),
                "T": ms, "m": buyer_maker, "M": True}}), k)
            trade_id += 1


def _iso(ts: int) -> str:
    whole = dt.datetime.fromtimestamp(ts // 1_000_000_000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{ts % 1_000_000_000:09d}Z"


def _go_time(ts: int) -> str:
    """As the venue's heartbeat prints it: ``2026-08-09 21:05:48.854840045 +0000 UTC``."""
    whole = dt.datetime.fromtimestamp(ts // 1_000_000_000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{whole}.{ts % 1_000_000_000:09d} +0000 UTC"


def _coinbase(symbol: str, seed: int, start: int) -> Iterator[FeedLine]:
    walk = _Walk(seed)

    def frame(channel: str, ts: int, events: list) -> bytes:
        return orjson.dumps({"channel": channel, "timestamp": _iso(ts),
                             "sequence_num": 0, "events": events})

    def update(side: int, px: int, lots: int, ts: int) -> dict:
        return {"side": "bid" if side == 1 else "offer", "event_time": _iso(ts),
                "price_level": f"{Decimal(px) * TICK}", "new_quantity": _qty(lots)}

    snap = [update(1, p, q, start) for p, q in sorted(walk.bids.items(), reverse=True)]
    snap += [update(-1, p, q, start) for p, q in sorted(walk.asks.items())]
    yield FeedLine(start, "ws", frame("l2_data", start, [{"type": "snapshot",
                                                          "product_id": symbol,
                                                          "updates": snap}]), 0)
    k = 0
    while True:
        k += 1
        ts = start + k * STEP_NS
        ups = [update(s, p, q, ts) for s, p, q in walk.step()]
        if not ups:
            continue
        yield FeedLine(ts, "ws", frame("l2_data", ts, [{"type": "update", "product_id": symbol,
                                                        "updates": ups}]), k)
        if k % 3 == 0:
            maker_buy = bool(walk.rng.random() < 0.5)
            px = max(walk.bids) if maker_buy else min(walk.asks)
            yield FeedLine(ts + 1000, "ws", frame("market_trades", ts, [{"type": "update",
                "trades": [{"product_id": symbol, "trade_id": str(k), "price": f"{px * TICK}",
                            "size": _qty(int(walk.rng.integers(1, 5000))), "time": _iso(ts),
                            "side": "BUY" if maker_buy else "SELL"}]}]), k)
        if k % 10 == 0:
            yield FeedLine(ts + 2000, "ws", frame("heartbeats", ts, [{
                "current_time": _go_time(ts), "heartbeat_counter": k // 10}]), k)


__all__ = ["synthetic_lines"]
