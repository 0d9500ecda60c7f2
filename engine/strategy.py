"""The strategy contract: what a strategy declares, what it sees at a decision, what it emits.

A strategy is a class. It declares

- ``name``: how reports and ``[strategy.NAME]`` config tables call it;
- ``config_class``: a frozen dataclass of its parameters (``None``: it takes none);
- ``required_features``: the feature names it reads (the engine refuses a schema without them);
- ``needs_model``: True when it reads model outputs (``[model] path`` must be set);

and one decision implementation, in one of two forms.

**Compiled** (``CompiledStrategy``): a numba function in the strategy's own module::

    @njit(cache=True)
    def decide(d, features, prediction, orders, n_orders, state, params, out) -> int

It runs at every decision point, in replay (inside the engine's compiled loop,
``engine.decision_loop``) and in live (called from Python), so a strategy's logic exists once.

- ``d``: a record of ``decision_dtype`` (event time, top of book, position, halted);
- ``features``: float64, the engine's feature vector in schema order (``bind`` gets the
  schema, so a strategy resolves its columns once);
- ``prediction``: float64 model outputs (NaN when the engine has no model);
- ``orders[:n_orders]``: its open orders, records of ``open_order_dtype``;
- ``state``: the strategy's ``state`` (arrays, or a namedtuple of them), what it remembers;
- ``params``: what its ``bind(schema)`` returned (a namedtuple of numbers and arrays);
- ``out``: records of ``intent_dtype`` to write orders and cancels into (``MAX_INTENTS``).

It returns how many intents it wrote, or ``NEED_ROOM`` before changing anything when its
state arrays are full (the engine calls ``grow`` and asks again). A strategy module also
defines the replay kernel, a module-level ``@njit(cache=True)`` function that hands its
``decide`` to the engine's generic loop as a global (passing a dispatcher in from Python
would miss numba's disk cache in every new process)::

    @njit(cache=True)
    def run(market, model, account, control, io, state, params, events, start):
        return run_decisions(decide, market, model, account, control, io, state, params,
                             events, start)

and names both in ``kernels = DecisionKernels(decide, run)``. ``run_decisions`` and the
``emit_*`` helpers that write intents are importable from here: a strategy needs nothing
else from the engine.

**Python** (the slow path, for prototyping): ``on_decision(view: DecisionView) ->
list[OrderIntent | CancelIntent]``. Every decision then costs a trip through Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import NamedTuple
from typing import Protocol

import numpy as np
from numba import njit

from engine.decision_loop import run_decisions
from engine.features import FeatureSchema
from engine.orders import CancelIntent
from engine.orders import OrderIntent
from engine.orders import OrderKind

#: ``intent_dtype.action``
ORDER_MARKET = 1  #: walk the book for ``lots`` on ``side``
ORDER_LIMIT = 2  #: a limit order at ``limit_px`` ticks
CANCEL = 3  #: cancel the open order ``client_id``

NEED_ROOM = -1  #: ``decide``'s return when its state is full: grow it and ask again
MAX_INTENTS = 16  #: room in ``out`` per decision
NO_TIME = -1  #: ``decision_dtype.opened_ns`` when flat

#: What a compiled decision sees of the engine (one record per decision).
decision_dtype = np.dtype([
    ("ts_ns", np.int64),  #: event time of the decision
    ("has_book", np.bool_),  #: both sides have a level (the fields below are valid)
    ("best_bid_tick", np.int64),
    ("best_ask_tick", np.int64),
    ("best_bid_lots", np.int64),
    ("best_ask_lots", np.int64),
    ("position_lots", np.int64),  #: filled position, signed
    ("open_lots", np.int64),  #: signed lots of open orders (in flight or resting)
    ("opened_ns", np.int64),  #: when the open position started; NO_TIME when flat
    ("halted", np.bool_),  #: risk accepts only exits now (daily loss stop, close, kill)
])

#: One of the strategy's open orders.
open_order_dtype = np.dtype([
    ("client_id", np.int64),
    ("side", np.int64),  #: BUY (+1) or SELL (-1)
    ("lots", np.int64),  #: still open
    ("limit_px", np.int64),  #: ticks; 0 for a market order
    ("resting", np.bool_),  #: False while in flight to the venue
    ("tag", np.int64),  #: index of its reason in the strategy's ``tags``; -1 not the strategy's
])

#: One order or cancel a decision emits.
intent_dtype = np.dtype([
    ("action", np.int64),  #: ORDER_MARKET, ORDER_LIMIT or CANCEL
    ("side", np.int64),  #: BUY (+1) or SELL (-1) for orders
    ("lots", np.int64),  #: positive, for orders
    ("limit_px", np.int64),  #: ticks, for ORDER_LIMIT
    ("client_id", np.int64),  #: the order to cancel, for CANCEL
    ("tag", np.int64),  #: index of the reason in the strategy's ``tags``
])


@njit(cache=True)
def emit_market(out: np.ndarray, k: int, side: int, lots: int, tag: int) -> int:
    """Write a market order as intent ``k``; returns ``k + 1``."""
    rec = out[k]
    rec.action = ORDER_MARKET
    rec.side = side
    rec.lots = lots
    rec.limit_px = 0
    rec.client_id = 0
    rec.tag = tag
    return k + 1


@njit(cache=True)
def emit_limit(out: np.ndarray, k: int, side: int, lots: int, limit_px: int, tag: int) -> int:
    """Write a limit order at ``limit_px`` ticks as intent ``k``; returns ``k + 1``."""
    rec = out[k]
    rec.action = ORDER_LIMIT
    rec.side = side
    rec.lots = lots
    rec.limit_px = limit_px
    rec.client_id = 0
    rec.tag = tag
    return k + 1


@njit(cache=True)
def emit_cancel(out: np.ndarray, k: int, client_id: int, tag: int) -> int:
    """Write a cancel of order ``client_id`` as intent ``k``; returns ``k + 1``."""
    rec = out[k]
    rec.action = CANCEL
    rec.side = 0
    rec.lots = 0
    rec.limit_px = 0
    rec.client_id = client_id
    rec.tag = tag
    return k + 1


@njit(cache=True)
def exit_after(d, hold_ns: int, out: np.ndarray, tag: int) -> int:
    """A market order closing the position once it is ``hold_ns`` old and nothing is open
    (returns 1), else nothing (0)."""
    exposure = d.position_lots + d.open_lots
    if (exposure == 0 or d.open_lots != 0 or d.opened_ns == NO_TIME
            or d.ts_ns - d.opened_ns < hold_ns):
        return 0
    return emit_market(out, 0, -1 if exposure > 0 else 1, abs(exposure), tag)


class DecisionKernels(NamedTuple):
    """A compiled strategy's two entry points (see the module doc)."""

    decide: Any  #: the numba decision function
    run: Any  #: the module-level replay kernel around ``engine.decision_loop.run_decisions``


@dataclass(frozen=True)
class DecisionView:
    """A read-only view of the engine at one decision point (event time ``ts_ns``), for
    strategies on the Python path."""

    ts_ns: int
    features: np.ndarray  #: read-only, ordered as ``schema.names``
    schema: FeatureSchema
    best_bid_tick: int | None
    best_ask_tick: int | None
    position_lots: int  #: filled position
    in_flight_lots: int  #: signed lots of open orders (in flight or resting)
    opened_ns: int | None  #: when the open position started, None when flat
    open_orders: tuple = ()  #: ``engine.execution.OpenOrder`` of every open order
    prediction: np.ndarray | None = None  #: model outputs, when the engine has a model
    halted: bool = False  #: risk accepts only exits now (daily loss stop, close, kill)

    def feature(self, name: str) -> float:
        return float(self.features[self.schema.index(name)])


class Strategy(Protocol):
    """A strategy on the Python path (``CompiledStrategy`` for the compiled one)."""

    name: str

    def on_decision(self, view: DecisionView) -> list[OrderIntent | CancelIntent]:
        """Return the orders to send and cancel now (possibly none)."""
        ...


class CompiledStrategy:
    """Base of a compiled strategy: subclasses set the class attributes and ``bind``."""

    name: str = ""
    config_class: type | None = None
    required_features: tuple[str, ...] = ()
    needs_model: bool = False
    tags: tuple[str, ...] = ()  #: the reasons its intents give, by ``intent_dtype.tag``
    kernels: DecisionKernels

    def __init__(self, config: Any = None) -> None:
        self.config = config

    state: Any = ()  #: what ``decide`` remembers between decisions (arrays)

    def bind(self, schema: FeatureSchema) -> Any:
        """The ``params`` of ``decide`` for an engine computing ``schema`` (its feature
        columns resolved once); called once per engine."""
        raise TypeError(f"{type(self).__name__} must define bind(schema)")

    def grow(self) -> None:
        """Make room in ``state`` after ``decide`` returned ``NEED_ROOM``."""
        raise TypeError(f"{type(self).__name__} returned NEED_ROOM but has no grow()")

    def on_decision(self, view: DecisionView) -> list[OrderIntent | CancelIntent]:
        """The compiled ``decide`` on a Python view: for tests and notebooks (the engine
        calls ``decide`` on its own arrays)."""
        if getattr(self, "_bound", None) is not view.schema:
            self._params, self._bound = self.bind(view.schema), view.schema
        d = np.zeros(1, dtype=decision_dtype)[0]
        d["ts_ns"] = view.ts_ns
        d["has_book"] = view.best_bid_tick is not None and view.best_ask_tick is not None
        d["best_bid_tick"] = view.best_bid_tick or 0
        d["best_ask_tick"] = view.best_ask_tick or 0
        d["position_lots"] = view.position_lots
        d["open_lots"] = view.in_flight_lots
        d["opened_ns"] = NO_TIME if view.opened_ns is None else view.opened_ns
        d["halted"] = view.halted
        orders = np.zeros(max(1, len(view.open_orders)), dtype=open_order_dtype)
        n_orders = fill_open_orders(orders, view.open_orders, self.tags)
        out = np.zeros(MAX_INTENTS + n_orders, dtype=intent_dtype)
        prediction = (np.full(1, np.nan) if view.prediction is None
                      else np.ascontiguousarray(view.prediction, dtype=np.float64))
        features = np.ascontiguousarray(view.features, dtype=np.float64)
        while True:
            n = self.kernels.decide(d, features, prediction, orders, n_orders, self.state,
                                    self._params, out)
            if n != NEED_ROOM:
                return intents_to_actions(out, n, self.tags)
            self.grow()


def is_compiled(strategy: object) -> bool:
    return isinstance(getattr(strategy, "kernels", None), DecisionKernels)


def intents_to_actions(out: np.ndarray, n: int, tags: tuple[str, ...],
                       ) -> list[OrderIntent | CancelIntent]:
    """The first ``n`` records of ``out`` as the engine's intents."""
    actions: list[OrderIntent | CancelIntent] = []
    for k in range(n):
        rec = out[k]
        action, tag = int(rec["action"]), int(rec["tag"])
        reason = tags[tag] if 0 <= tag < len(tags) else "strategy"
        if action == CANCEL:
            actions.append(CancelIntent(int(rec["client_id"]), reason))
        elif action == ORDER_LIMIT:
            actions.append(OrderIntent(int(rec["side"]), int(rec["lots"]), reason,
                                       OrderKind.LIMIT, limit_px=int(rec["limit_px"])))
        elif action == ORDER_MARKET:
            actions.append(OrderIntent(int(rec["side"]), int(rec["lots"]), reason))
        else:
            raise ValueError(f"intent {k}: unknown action {action} (ORDER_MARKET "
                             f"{ORDER_MARKET}, ORDER_LIMIT {ORDER_LIMIT}, CANCEL {CANCEL})")
    return actions


def fill_open_orders(orders: np.ndarray, open_orders: tuple, tags: tuple[str, ...]) -> int:
    """Write ``engine.execution.OpenOrder`` objects into ``orders`` (room for all of them:
    ``Engine`` sizes it); returns how many."""
    n = len(open_orders)
    for k in range(n):
        o = open_orders[k]
        rec = orders[k]
        rec["client_id"] = o.client_id
        rec["side"] = o.side
        rec["lots"] = o.qty_lots
        rec["limit_px"] = o.limit_px or 0
        rec["resting"] = o.resting
        rec["tag"] = tags.index(o.reason) if o.reason in tags else -1
    return n


__all__ = [
    "CANCEL",
    "MAX_INTENTS",
    "NEED_ROOM",
    "NO_TIME",
    "ORDER_LIMIT",
    "ORDER_MARKET",
    "CompiledStrategy",
    "DecisionKernels",
    "DecisionView",
    "Strategy",
    "decision_dtype",
    "emit_cancel",
    "emit_limit",
    "emit_market",
    "fill_open_orders",
    "intent_dtype",
    "intents_to_actions",
    "is_compiled",
    "open_order_dtype",
    "run_decisions",
]
