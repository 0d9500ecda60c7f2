"""Orders as the strategy, risk and execution stages pass them: intents, rejections, fills."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.events import BUY
from engine.events import SELL


class OrderKind(enum.Enum):
    MARKET = "market"  #: walk the visible book until filled; the rest is cancelled (IOC)


@dataclass(frozen=True)
class OrderIntent:
    """What a strategy (or risk, for a forced exit) wants to trade.

    ``side`` is BUY (+1) or SELL (-1); ``qty_lots`` is positive; ``reason`` says why, for
    the report (e.g. ``"entry"``, ``"exit:horizon"``, ``"exit:max_holding"``).
    """

    side: int
    qty_lots: int
    reason: str
    kind: OrderKind = OrderKind.MARKET

    def __post_init__(self) -> None:
        if self.side not in (BUY, SELL):
            raise ValueError(f"side must be BUY (1) or SELL (-1), got {self.side}")
        if self.qty_lots <= 0:
            raise ValueError(f"qty_lots must be positive, got {self.qty_lots}")


@dataclass(frozen=True)
class RiskRejection:
    intent: OrderIntent
    reason: str  #: a short code, counted per reason: "max_position", "book_invalid", ...
    ts_ns: int


@dataclass(frozen=True)
class Order:
    """An intent accepted by risk and sent to the (paper) venue."""

    client_id: int
    intent: OrderIntent
    ts_submit_ns: int  #: decision time
    ts_arrive_ns: int  #: when it reaches the venue: submit + order latency


@dataclass(frozen=True)
class Fill:
    """One execution against one price level (a marketable order gives one per level)."""

    client_id: int
    side: int
    px_ticks: int
    qty_lots: int
    ts_ns: int
    reason: str
    mid2_ticks: int  #: bid + ask at the fill (twice the mid), for slippage without rounding


@dataclass(frozen=True)
class OrderDone:
    """How a marketable order ended: filled, partly filled, or not at all (empty side)."""

    order: Order
    filled_lots: int
    cancelled_lots: int
