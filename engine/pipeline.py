"""The engine: book -> features -> strategy -> risk -> paper execution, every stage timed.

``Engine.process(batch)`` is the one entry point for both drivers. It runs the compiled loop
(``engine.loop.run_until``) until the next wakeup, then hands control to Python for the
decision stages, and continues. Wakeups are event times: the next decision point, the arrival
of an order in flight, and the holding-limit deadline. The clock is moved to each wakeup's
event time; the wall clock is read only to time the stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter_ns

import numpy as np

from engine.book import L2Book
from engine.clock import SimClock
from engine.config import EngineConfig
from engine.errors import ConfigError
from engine.errors import CrossedBookError
from engine.events import F_LAST
from engine.execution import PaperExecution
from engine.features import ALL_NAMES
from engine.features import FeatureState
from engine.features import evaluate
from engine.instrument import InstrumentSpec
from engine.latency import StageLatency
from engine.loop import COUNT_REACHED
from engine.loop import CROSSED
from engine.loop import OUT_OF_RANGE
from engine.loop import RING_FULL
from engine.loop import TIME_REACHED
from engine.loop import run_until
from engine.orders import Fill
from engine.orders import OrderIntent
from engine.portfolio import Portfolio
from engine.risk import RiskManager
from engine.risk import RiskState
from engine.risk import forced_exit
from engine.risk import holding_deadline_ns
from engine.warmup import warm_up
from strategies import Strategy
from strategies import make_strategy
from strategies.base import DecisionView

NEVER = np.iinfo(np.int64).max
STAGES = ("book", "features", "strategy", "risk", "execution", "end_to_end")


@dataclass(frozen=True)
class EquityMark:
    ts_ns: int
    equity2: int  #: twice (cash + position at mid), ticks x lots
    position: int


class Engine:
    """One instrument's pipeline. Collaborators are built from config or passed in."""

    def __init__(self, config: EngineConfig, instrument: InstrumentSpec, *,
                 strategy: Strategy | None = None, clock: SimClock | None = None) -> None:
        self.config = config
        self.instrument = instrument
        self.schema = config.features.schema()
        self.strategy = strategy or make_strategy(config.strategy_name, config.strategy)
        missing = set(getattr(self.strategy, "required_features", ())) - set(self.schema.names)
        if missing:
            raise ConfigError("features.names", f"strategy {self.strategy.name!r} needs "
                              f"{', '.join(sorted(missing))}")
        self.clock = clock or SimClock()
        self.risk = RiskManager(config.risk)
        self.execution = PaperExecution(config.execution)
        self.portfolio = Portfolio()
        self.latency = StageLatency(config.latency.budgets_ns())
        (self._t_book, self._t_features, self._t_strategy, self._t_risk, self._t_execution,
         self._t_end_to_end) = (self.latency.stage(stage) for stage in STAGES)
        self.book_valid = True  #: False while a live feed is out of sync; blocks new orders
        self.book = L2Book()
        self.features = FeatureState(self.schema.params.array(instrument.tick_size))
        self.fvec_all = np.zeros(len(ALL_NAMES))
        self._columns = self.schema.columns
        self._interval_ns = config.replay.decision_interval_ms * 1_000_000
        self._every = config.replay.decision_every_messages or NEVER
        self.events = 0
        self.decisions = 0
        self.fill_log: list[Fill] = []
        self.intents: list[tuple[int, OrderIntent]] = []
        self.marks: list[EquityMark] = []
        self.last_ts_ns = 0
        self.source = ""
        self.start_session("")
        warm_up()

    # -- sessions -------------------------------------------------------------------------
    def start_session(self, source: str, utc_offset_ns: int = 0) -> None:
        """A new day or file: empty book and feature state; positions carry over.

        ``utc_offset_ns`` is the exchange's local time minus UTC (for time of day).
        """
        self.source = source
        self.book.clear()
        self.book.source = source
        self.book_valid = True
        self.features.reset(utc_offset_ns)
        self._next_decision = None
        self._at_boundary = True

    # -- the driver-facing entry point ---------------------------------------------------
    def process(self, batch: np.ndarray) -> None:
        """Apply a batch of events, stopping at every wakeup on the way."""
        n = len(batch)
        i = 0
        book = self.book
        ts_event = batch["ts_event"]
        flags = batch["flags"]
        while i < n:
            if self._next_decision is None and self._interval_ns:
                first = int(ts_event[i])
                self._next_decision = (first // self._interval_ns + 1) * self._interval_ns
            stop = self._next_wakeup()
            t0 = perf_counter_ns()
            fs = self.features
            j, reason = run_until(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts,
                                  fs.ring_cum, fs.ring_mid2, fs.ptr, batch, i,
                                  stop, self._every, self._at_boundary)
            t1 = perf_counter_ns()
            self._t_book.record(t1 - t0)
            self.events += j - i
            if j > 0:
                self.last_ts_ns = int(ts_event[j - 1])
                self._at_boundary = bool(flags[j - 1] & F_LAST)
            if reason == RING_FULL:
                self.features.grow()
            elif reason == OUT_OF_RANGE:
                book.make_room(int(batch["px_ticks"][j]), seq=int(batch["seq"][j]))
            elif reason == CROSSED:
                self.book_valid = False
                raise CrossedBookError(
                    f"crossed book: best bid {book.best_bid_tick()} >= best ask "
                    f"{book.best_ask_tick()} ticks", seq=int(batch["seq"][j - 1]),
                    source=self.source)
            elif reason == TIME_REACHED:
                self._wakeup(stop, t1, next_event_ns=int(ts_event[j]))
            elif reason == COUNT_REACHED:
                self._wakeup(self.last_ts_ns, t1, next_event_ns=None, count_decision=True)
            i = j

    def _next_wakeup(self) -> int:
        """Earliest pending event time after now (what is due now was handled already)."""
        now = self.clock.now_ns()
        candidates = (self._next_decision, self.execution.next_arrival_ns(),
                      holding_deadline_ns(self._risk_state(), self.config.risk))
        return min((t for t in candidates if t is not None and t > now), default=NEVER)

    def _risk_state(self) -> RiskState:
        return RiskState(self.portfolio.position, self.execution.in_flight_lots(),
                         self.portfolio.opened_ns, self.book_valid)

    # -- decision stages -----------------------------------------------------------------
    def _wakeup(self, now: int, t_ready: int, *, next_event_ns: int | None,
                count_decision: bool = False) -> None:
        """Run what is due at event time ``now``; ``t_ready`` is when the book was ready."""
        self.clock.advance_to(max(now, self.clock.now_ns()))
        now = self.clock.now_ns()
        self._fill_arrivals(now)
        decide = count_decision or (self._next_decision is not None
                                    and now >= self._next_decision)
        intents: list[OrderIntent] = []
        if decide:
            self.decisions += 1
            t0 = perf_counter_ns()
            self.evaluate_features(now)
            view = self._view(now)
            t1 = perf_counter_ns()
            intents = self.strategy.on_decision(view)
            t2 = perf_counter_ns()
            self._t_features.record(t1 - t0)
            self._t_strategy.record(t2 - t1)
            if self._next_decision is not None and now >= self._next_decision:
                self._schedule_after(now, next_event_ns)
        exit_intent = forced_exit(self._risk_state(), now, self.config.risk)
        if exit_intent is not None:
            intents.append(exit_intent)
        if intents:
            t3 = perf_counter_ns()
            accepted = self.risk.vet(self._risk_state(), intents, now)
            t4 = perf_counter_ns()
            for intent in accepted:
                self.intents.append((now, intent))
                self.execution.submit(intent, now)
            self._fill_arrivals(now)
            t5 = perf_counter_ns()
            self._t_risk.record(t4 - t3)
            self._t_execution.record(t5 - t4)
        if decide:
            self._t_end_to_end.record(perf_counter_ns() - t_ready)
            self._mark(now)

    def _schedule_after(self, now: int, next_event_ns: int | None) -> None:
        """Next decision one interval on; across a quiet gap, the last point before the
        next event (decisions in between would see the same book)."""
        step = self._interval_ns
        nxt = now + step
        if next_event_ns is not None and next_event_ns - 1 > nxt:
            nxt = now + step * ((next_event_ns - 1 - now) // step)
        self._next_decision = nxt

    def _fill_arrivals(self, now: int) -> None:
        fills, _ = self.execution.execute_due(self.book, now)
        for fill in fills:
            self.portfolio.apply(fill)
            self.fill_log.append(fill)

    def evaluate_features(self, now: int) -> np.ndarray:
        """The configured feature vector at event time ``now`` (a new array)."""
        fs = self.features
        book = self.book
        evaluate(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts, fs.ring_cum,
                 fs.ring_mid2, fs.ptr, fs.levels_book, now, self.fvec_all)
        self.fvec = self.fvec_all[self._columns]
        return self.fvec

    def _view(self, now: int) -> DecisionView:
        features = self.fvec
        features.flags.writeable = False
        return DecisionView(now, features, self.schema, self.book.best_bid_tick(),
                            self.book.best_ask_tick(), self.portfolio.position,
                            self.execution.in_flight_lots(), self.portfolio.opened_ns)

    def _mark(self, now: int) -> None:
        bid, ask = self.book.best_bid_tick(), self.book.best_ask_tick()
        if bid is None or ask is None:
            return
        self.marks.append(EquityMark(now, self.portfolio.equity2(bid + ask),
                                     self.portfolio.position))

    def finish(self) -> None:
        """End of data: fill what has arrived by the last event; mark the book one last time."""
        now = max(self.clock.now_ns(), self.last_ts_ns)
        self.clock.advance_to(now)
        self._fill_arrivals(now)
        self._mark(now)
