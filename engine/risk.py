"""Pre-trade risk: every intent passes here; rejections carry a reason and are counted.

Checks are a pure function of (state, intent, config), so each is testable alone.
Forced exits (the maximum holding time) are intents that risk itself creates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from engine.orders import OrderIntent
from engine.orders import RiskRejection


@dataclass(frozen=True)
class RiskConfig:
    """Limits.

    max_position_lots: largest absolute position, counting orders still in flight.
    max_order_lots: largest single order.
    max_holding_ms: a position older than this is closed at the next wakeup (5 min default).
    """

    max_position_lots: int = 500
    max_order_lots: int = 500
    max_holding_ms: int = 300_000

    def __post_init__(self) -> None:
        for name in ("max_position_lots", "max_order_lots", "max_holding_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class RiskState:
    """What risk needs to know at a decision."""

    position_lots: int
    in_flight_lots: int  #: signed lots sent but not yet filled
    opened_ns: int | None
    book_valid: bool


def check(state: RiskState, intent: OrderIntent, config: RiskConfig) -> str | None:
    """The reason to reject ``intent``, or None to accept it."""
    if not state.book_valid:
        return "book_invalid"
    if intent.qty_lots > config.max_order_lots:
        return "max_order_size"
    after = state.position_lots + state.in_flight_lots + intent.side * intent.qty_lots
    exposure = abs(state.position_lots + state.in_flight_lots)
    if abs(after) > config.max_position_lots and abs(after) > exposure:
        return "max_position"
    return None


def holding_deadline_ns(state: RiskState, config: RiskConfig) -> int | None:
    """When the current position must be closed, or None when flat."""
    if state.opened_ns is None or state.position_lots == 0:
        return None
    return state.opened_ns + config.max_holding_ms * 1_000_000


def forced_exit(state: RiskState, now_ns: int, config: RiskConfig) -> OrderIntent | None:
    """A flattening order once the holding limit is reached (none if one is already going)."""
    deadline = holding_deadline_ns(state, config)
    if deadline is None or now_ns < deadline:
        return None
    left = state.position_lots + state.in_flight_lots
    if left == 0:
        return None
    return OrderIntent(side=-1 if left > 0 else 1, qty_lots=abs(left), reason="exit:max_holding")


class RiskManager:
    """Applies ``check`` and counts rejections by reason."""

    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self.rejections: Counter[str] = Counter()
        self.rejected: list[RiskRejection] = []

    def vet(self, state: RiskState, intents: list[OrderIntent], now_ns: int,
            ) -> list[OrderIntent]:
        accepted = []
        for intent in intents:
            reason = check(state, intent, self.config)
            if reason is None:
                accepted.append(intent)
                state = RiskState(state.position_lots,
                                  state.in_flight_lots + intent.side * intent.qty_lots,
                                  state.opened_ns, state.book_valid)
            else:
                self.rejections[reason] += 1
                self.rejected.append(RiskRejection(intent, reason, now_ns))
        return accepted
