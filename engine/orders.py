"""Orders as the strategy, risk and execution stages pass them: intents, rejections, fills."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.events import BUY
from engine.events import SELL


class OrderKind(enum.Enum):
    MARKET = "market"  #: walk the visible book until filled; the rest is cancelled (IOC)
    LIMIT = "limit"  #: take what is marketable up to the limit, rest the remainder


@dataclass(frozen=True)
class OrderIntent:
    """What a strategy (or risk, for a forced exit) wants to trade.

    ``side`` is BUY (+1) or SELL (-1); ``qty_lots`` is positive; ``limit_px`` (ticks) is
    required for LIMIT orders; ``reason`` says why, for the report (``"entry"``,
    ``"quote"``, ``"exit:horizon"``, ``"exit:max_holding"``, ...).
    """

    side: int
    qty_lots: int
    reason: str
    kind: OrderKind = OrderKind.MARKET
    limit_px: int | None = None

    def __post_init__(self) -> None:
        if self.side not in (BUY, SELL):
            raise ValueError(f"side must be BUY (1) or SELL (-1), got {self.side}")
        if self.qty_lots <= 0:
            raise ValueError(f"qty_lots must be positive, got {self.qty_lots}")
        if (self.kind is OrderKind.LIMIT) != (self.limit_px is not None):
            raise ValueError("limit_px is required for LIMIT orders and only for them")

    @property
    def is_exit(self) -> bool:
        return self.reason.startswith("exit:")


@dataclass(frozen=True)
class CancelIntent:
    """Cancel an order still open (in flight or resting)."""

    client_id: int
    reason: str = "cancel"


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
    ts_arrive_ns: int  #: when it reaches the venue: submit + latencies
    expected_px: int | None  #: best opposite price at the decision (slippage reference)


@dataclass(frozen=True)
class Fill:
    """One execution at one price: a marketable order gives one per level it takes."""

    client_id: int
    side: int
    px_ticks: int
    qty_lots: int
    ts_ns: int
    reason: str
    mid2_ticks: int  #: bid + ask at the fill (twice the mid), for slippage without rounding
    liquidity: str = "taker"  #: "taker" or "maker"
    fee: float = 0.0  #: currency, positive is paid
    expected_px: int | None = None  #: best opposite price when the order was decided


@dataclass(frozen=True)
class OrderDone:
    """How an order ended: filled, cancelled, or (for a market order) not fillable."""

    client_id: int
    filled_lots: int
    cancelled_lots: int
    reason: str  #: "filled", "ioc_remainder", "cancelled", "cancel_unknown"
