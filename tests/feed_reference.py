"""An independent reference for the venue feeds: plain dicts and Decimals, written from the
venue docs, sharing no code with connectors/ (test helper)."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path


def binance_reference_book(paths: list[Path]) -> tuple[dict, dict, int]:
    """Replay an hftbacktest capture by the documented procedure: (bids, asks, last u)."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    buffered, last = [], None
    for path in paths:
        with gzip.open(path, "rt") as f:
            for line in f:
                _, raw = line.split(" ", 1)
                msg = json.loads(raw)
                if "lastUpdateId" in msg:
                    last = msg["lastUpdateId"]
                    bids = {Decimal(p): Decimal(q) for p, q in msg["bids"]}
                    asks = {Decimal(p): Decimal(q) for p, q in msg["asks"]}
                    pending, buffered = buffered, []
                    for data in pending:
                        last = _apply(bids, asks, data, last)
                    continue
                data = msg["data"]
                if data.get("e") != "depthUpdate":
                    continue
                if last is None:
                    buffered.append(data)
                else:
                    last = _apply(bids, asks, data, last)
    return ({p: q for p, q in bids.items() if q}, {p: q for p, q in asks.items() if q}, last)


def _apply(bids: dict, asks: dict, data: dict, last: int) -> int:
    if data["u"] <= last:
        return last
    assert data["U"] <= last + 1, f"gap before U={data['U']}"
    for side, key in ((bids, "b"), (asks, "a")):
        for p, q in data[key]:
            side[Decimal(p)] = Decimal(q)
    return data["u"]


def top(levels: dict, n: int, *, bids: bool) -> list[tuple[Decimal, Decimal]]:
    keys = sorted((p for p, q in levels.items() if q), reverse=bids)[:n]
    return [(p, levels[p]) for p in keys]
