"""Position and PnL, exact: cash and PnL are integers in ticks x lots.

Fills are matched first-in first-out into round trips, so every closed trade has an entry
and an exit and realized PnL needs no average price (which would not be an integer).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.orders import Fill


@dataclass(frozen=True)
class RoundTrip:
    """A closed trade: ``qty_lots`` opened at ``entry_px`` and closed at ``exit_px``."""

    side: int  #: +1 long, -1 short
    qty_lots: int
    entry_ts_ns: int
    entry_px_ticks: int
    exit_ts_ns: int
    exit_px_ticks: int
    exit_reason: str

    @property
    def pnl_tick_lots(self) -> int:
        return self.side * (self.exit_px_ticks - self.entry_px_ticks) * self.qty_lots


class Portfolio:
    """Fees are currency (a fraction of notional is not an integer); everything else is exact."""

    def __init__(self) -> None:
        self.position = 0  #: signed lots
        self.cash = 0  #: ticks x lots; buying spends, selling receives
        self.realized = 0  #: ticks x lots, from closed round trips
        self.fees = 0.0  #: currency paid (negative: rebates earned)
        self.traded_lots = 0
        self.fills = 0
        self.round_trips: list[RoundTrip] = []
        self._open: deque[list[int]] = deque()  # [signed lots, px, ts, mid2] per open batch

    def apply(self, fill: Fill) -> None:
        self.fills += 1
        self.fees += fill.fee
        self.traded_lots += fill.qty_lots
        self.cash -= fill.side * fill.px_ticks * fill.qty_lots
        left = fill.qty_lots
        while left and self._open and (self._open[0][0] > 0) != (fill.side > 0):
            lot = self._open[0]
            take = min(left, abs(lot[0]))
            side = 1 if lot[0] > 0 else -1
            trip = RoundTrip(side, take, lot[2], lot[1], fill.ts_ns, fill.px_ticks, fill.reason)
            self.round_trips.append(trip)
            self.realized += trip.pnl_tick_lots
            lot[0] -= side * take
            left -= take
            if lot[0] == 0:
                self._open.popleft()
        if left:
            self._open.append([fill.side * left, fill.px_ticks, fill.ts_ns, fill.mid2_ticks])
        self.position += fill.side * fill.qty_lots

    @property
    def opened_ns(self) -> int | None:
        """When the oldest lot still open was opened (the holding clock), None when flat."""
        return self._open[0][2] if self._open else None

    def equity2(self, mid2_ticks: int) -> int:
        """Twice the marked equity (cash + position at mid), exact in ticks x lots."""
        return 2 * self.cash + self.position * mid2_ticks

    def avg_entry_ticks(self) -> float | None:
        """Average price of the open lots, ticks (a float: it need not be on the grid)."""
        lots = sum(abs(lot[0]) for lot in self._open)
        return sum(abs(lot[0]) * lot[1] for lot in self._open) / lots if lots else None

    def avg_entry_mid_ticks(self) -> float | None:
        """Average mid at the fills that opened the open lots (the stop-loss reference)."""
        lots = sum(abs(lot[0]) for lot in self._open if lot[3])
        return sum(abs(lot[0]) * lot[3] for lot in self._open if lot[3]) / 2 / lots if lots \
            else None

    def unrealized2(self, mid2_ticks: int) -> int:
        """Twice the unrealized PnL of the open lots at mid."""
        return sum(lot[0] * (mid2_ticks - 2 * lot[1]) for lot in self._open)
