"""Pre-trade risk: every intent passes here; rejections carry a reason and are counted.

Checks are a pure function of (state, intent, config), so each is testable alone. Risk also
creates forced exits (holding limit, stop-loss, daily loss stop, session close) and halts:
after the daily loss stop or at the session close only exits pass until the next session;
the kill switch blocks every new order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from dataclasses import replace
from functools import cached_property

import numpy as np
from numba import njit

from engine.book import H_ASK_LEVELS
from engine.book import H_BASE
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS
from engine.events import BUY
from engine.orders import OrderIntent
from engine.orders import RiskRejection


@dataclass(frozen=True)
class RiskConfig:
    """Limits (0 or "" turns an optional one off).

    max_position_lots: largest absolute position, counting open orders on that side.
    max_notional: largest absolute position value at mid, currency.
    max_order_lots: largest single order.
    max_holding_ms: a position older than this is closed (5 minutes by default).
    stop_loss_ticks: close when the mid has moved this many ticks against the position since
        the entries (measured mid to mid, so crossing the spread does not trigger it).
    daily_loss_limit: net loss in a session (currency) that flattens and halts until the next.
    session_close: exchange local time (HH:MM or HH:MM:SS) to be flat by; entries stop then.
    kill_switch: block every new order (resting orders are cancelled).
    """

    max_position_lots: int = 500
    max_notional: float = 0.0
    max_order_lots: int = 500
    max_holding_ms: int = 300_000
    stop_loss_ticks: int = 0
    daily_loss_limit: float = 0.0
    session_close: str = ""
    kill_switch: bool = False

    def __post_init__(self) -> None:
        for name in ("max_position_lots", "max_order_lots", "max_holding_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("max_notional", "stop_loss_ticks", "daily_loss_limit"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        if self.session_close and not re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", self.session_close):
            raise ValueError(f"session_close must be HH:MM or HH:MM:SS, got "
                             f"{self.session_close!r}")

    @cached_property  # read at every wakeup; the config is frozen
    def session_close_s(self) -> int | None:
        """Seconds after local midnight, or None."""
        if not self.session_close:
            return None
        parts = [int(p) for p in self.session_close.split(":")]
        return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


@dataclass(frozen=True)
class RiskState:
    """What risk needs to know at a decision."""

    position_lots: int
    open_buy_lots: int  #: buy orders in flight or resting
    open_sell_lots: int
    opened_ns: int | None  #: when the oldest open lot was opened
    book_valid: bool
    lot_value: float = 0.0  #: currency value of one lot at mid
    adverse_ticks: float = 0.0  #: how far the mid moved against the position since entry
    day_pnl: float = 0.0  #: net PnL of this session so far, currency
    halted: str | None = None  #: "daily_loss_stop" or "session_close" until the next session
    killed: bool = False

    @property
    def exposure(self) -> int:
        """Signed lots once every open order has filled in the direction of the position."""
        return self.position_lots + self.open_buy_lots - self.open_sell_lots


def reduces(state: RiskState, intent: OrderIntent) -> bool:
    """True if the order only shrinks the position (net of exits already open)."""
    pos = state.position_lots
    if pos > 0 and intent.side != BUY:
        return intent.qty_lots + state.open_sell_lots <= pos
    if pos < 0 and intent.side == BUY:
        return intent.qty_lots + state.open_buy_lots <= -pos
    return False


def check(state: RiskState, intent: OrderIntent, config: RiskConfig) -> str | None:
    """The reason to reject ``intent``, or None to accept it."""
    if state.killed or config.kill_switch:
        return "kill_switch"
    if not state.book_valid:
        return "book_invalid"
    if intent.qty_lots > config.max_order_lots:
        return "max_order_size"
    if reduces(state, intent):
        return None
    if state.halted:
        return state.halted
    if intent.side == BUY:
        after = state.position_lots + state.open_buy_lots + intent.qty_lots
    else:
        after = state.position_lots - state.open_sell_lots - intent.qty_lots
    if abs(after) > config.max_position_lots:
        return "max_position"
    if config.max_notional and abs(after) * state.lot_value > config.max_notional:
        return "max_notional"
    return None


def holding_deadline_ns(state: RiskState, config: RiskConfig) -> int | None:
    """When the current position must be closed, or None when flat."""
    if state.opened_ns is None or state.position_lots == 0:
        return None
    return state.opened_ns + config.max_holding_ms * 1_000_000


def exit_reason(state: RiskState, now_ns: int, config: RiskConfig) -> str | None:
    """Why the position must be closed now, if it must."""
    if state.position_lots == 0:
        return None
    if state.halted:
        return state.halted
    deadline = holding_deadline_ns(state, config)
    if deadline is not None and now_ns >= deadline:
        return "max_holding"
    if stop_loss_hit.py_func(state.adverse_ticks, config.stop_loss_ticks):
        return "stop_loss"
    return None


def forced_exit(state: RiskState, now_ns: int, config: RiskConfig) -> OrderIntent | None:
    """A market order closing what no open order closes yet, when an exit is due."""
    reason = exit_reason(state, now_ns, config)
    if reason is None:
        return None
    pos = state.position_lots
    left = pos - state.open_sell_lots if pos > 0 else pos + state.open_buy_lots
    if (pos > 0 and left <= 0) or (pos < 0 and left >= 0):
        return None
    return OrderIntent(side=-1 if left > 0 else 1, qty_lots=abs(left), reason=f"exit:{reason}")


def halt_reason(state: RiskState, local_time_s: float | None, config: RiskConfig) -> str | None:
    """Whether this session must stop taking new risk now."""
    if loss_stop_hit.py_func(state.day_pnl, config.daily_loss_limit):
        return "daily_loss_stop"
    close = config.session_close_s
    if close is not None and local_time_s is not None and local_time_s >= close:
        return "session_close"
    return None


#: What compiled decisions (``engine.decision_loop``) know of the account: one record.
account_dtype = np.dtype([
    ("position", np.int64),  #: filled lots, signed
    ("open_lots", np.int64),  #: signed lots of open orders
    ("opened_ns", np.int64),  #: when the position opened; -1 when flat
    ("cash", np.int64),  #: ticks x lots (``Portfolio.cash``)
    ("start_equity2", np.int64),  #: twice the equity (ticks x lots) at the session's start
    ("entry_mid", np.float64),  #: average entry mid (ticks); NaN when flat
    ("money", np.float64),  #: currency of one tick x lot
    ("fees_today", np.float64),  #: currency paid this session
    ("stop_loss_ticks", np.int64),  #: ``RiskConfig.stop_loss_ticks``
    ("daily_loss_limit", np.float64),  #: ``RiskConfig.daily_loss_limit``
    ("halted", np.bool_),  #: the session is halted (only exits pass)
    ("killed", np.bool_),  #: the kill switch is on
])


@njit(cache=True)
def day_pnl(cash: int, position: int, mid2: int, start_equity2: int, money: float,
            fees_today: float) -> float:
    """Net PnL of the session so far (currency), marked at the mid."""
    return (2 * cash + position * mid2 - start_equity2) / 2 * money - fees_today


@njit(cache=True)
def adverse_ticks(entry_mid: float, mid2: int, position: int) -> float:
    """How far the mid has moved against the position since its entries (ticks)."""
    return (entry_mid - mid2 / 2) * (1 if position > 0 else -1)


# Python calls the compiled rules' ``py_func``: the same code without a numba dispatch at
# every wakeup (nor a compile in a live session on a first call with new argument types).
@njit(cache=True)
def loss_stop_hit(day_pnl: float, daily_loss_limit: float) -> bool:
    """The daily loss stop's rule (a limit of 0 is off)."""
    return daily_loss_limit > 0 and day_pnl <= -daily_loss_limit


@njit(cache=True)
def stop_loss_hit(adverse: float, stop_loss_ticks: int) -> bool:
    """The stop-loss rule (0 ticks is off)."""
    return stop_loss_ticks > 0 and adverse >= stop_loss_ticks


@njit(cache=True)
def risk_quiet(hdr: np.ndarray, acct) -> bool:
    """Whether risk neither halts (daily loss stop) nor forces an exit (stop-loss) now: the
    rules ``halt_reason`` and ``exit_reason`` apply, on the same ``day_pnl`` and
    ``adverse_ticks``.
    The holding limit and the session close are times, which the engine stops at anyway."""
    if hdr[H_BID_LEVELS] == 0 or hdr[H_ASK_LEVELS] == 0:
        return True  # no mid: no PnL move, no adverse move
    mid2 = 2 * hdr[H_BASE] + hdr[H_BEST_BID] + hdr[H_BEST_ASK]
    if acct.daily_loss_limit > 0 and not acct.halted:  # a halt holds for the session
        pnl = day_pnl(acct.cash, acct.position, mid2, acct.start_equity2, acct.money,
                      acct.fees_today)
        if loss_stop_hit(pnl, acct.daily_loss_limit):
            return False
    entry = acct.entry_mid
    if acct.position != 0 and entry == entry:
        if stop_loss_hit(adverse_ticks(entry, mid2, acct.position), acct.stop_loss_ticks):
            return False
    return True


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
                buy = intent.qty_lots if intent.side == BUY else 0
                state = replace(state, open_buy_lots=state.open_buy_lots + buy,
                                open_sell_lots=state.open_sell_lots + intent.qty_lots - buy)
            else:
                self.rejections[reason] += 1
                self.rejected.append(RiskRejection(intent, reason, now_ns))
        return accepted
