"""The engine: book -> features -> model -> strategy -> risk -> paper execution, timed.

``Engine.process(batch)`` is the one entry point for both drivers. It runs the compiled loop
(``engine.loop.run_until``) until the next wakeup, then hands control to Python for the
decision stages, and continues. Wakeups are event times: the next decision point, an order
or cancel reaching the venue, a passive fill, the holding-limit deadline and the session
close. The clock is moved to each wakeup's event time; the wall clock only times stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from time import perf_counter_ns

import numpy as np

from engine.book import H_ASK_LEVELS
from engine.book import H_BASE
from engine.book import H_BEST_ASK
from engine.book import H_BEST_BID
from engine.book import H_BID_LEVELS
from engine.book import L2Book
from engine.bus import Bus
from engine.bus import Topic
from engine.clock import SimClock
from engine.config import EngineConfig
from engine.decision_loop import DecisionIO
from engine.decision_loop import Market
from engine.decision_loop import control_dtype
from engine.decision_loop import model_arrays
from engine.decision_loop import next_decision_after
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
from engine.loop import FILLED
from engine.loop import OUT_OF_RANGE
from engine.loop import RING_FULL
from engine.loop import TIME_REACHED
from engine.loop import run_until
from engine.marks import MarkLog
from engine.orders import CancelIntent
from engine.orders import Fill
from engine.orders import OrderDone
from engine.orders import OrderIntent
from engine.portfolio import Portfolio
from engine.risk import RiskManager
from engine.risk import RiskState
from engine.risk import account_dtype
from engine.risk import adverse_ticks
from engine.risk import day_pnl
from engine.risk import forced_exit
from engine.risk import halt_reason
from engine.risk import holding_deadline_ns
from engine.strategy import MAX_INTENTS
from engine.strategy import NEED_ROOM
from engine.strategy import NO_TIME
from engine.strategy import DecisionView
from engine.strategy import Strategy
from engine.strategy import decision_dtype
from engine.strategy import fill_open_orders
from engine.strategy import intent_dtype
from engine.strategy import intents_to_actions
from engine.strategy import is_compiled
from engine.strategy import open_order_dtype
from engine.strategy_loader import load_strategy
from engine.warmup import warm_strategy
from engine.warmup import warm_up

NEVER = np.iinfo(np.int64).max
DAY_NS = 86_400_000_000_000
STAGES = ("book", "features", "model", "strategy", "risk", "execution", "end_to_end",
          "to_fill")
P_UP_BINS = 20  #: bins of the model's P(up) distribution (exported as a histogram)


@dataclass(frozen=True)
class SessionResult:
    source: str
    gross: float  #: currency, marked to mid at the session's last mark
    fees: float
    fills: int


class Engine:
    """One instrument's pipeline. Collaborators are built from config or passed in."""

    def __init__(self, config: EngineConfig, instrument: InstrumentSpec, *,
                 strategy: Strategy | None = None, predictor=None, clock: SimClock | None = None,
                 bus: Bus | None = None, compiled_loop: bool | None = None) -> None:
        """``compiled_loop``: a compiled strategy's decisions that emit nothing stay in the
        compiled loop (``engine.decision_loop``); None follows ``replay.compiled_loop``.
        Live trading turns it off so that every decision is timed (and still compiled)."""
        self.config = config
        self.instrument = instrument
        self.schema = config.features.schema()
        self.strategy = strategy or load_strategy(config.strategy_name, config.strategy)
        missing = set(getattr(self.strategy, "required_features", ())) - set(self.schema.names)
        if missing:
            raise ConfigError("features.names", f"strategy {self.strategy.name!r} needs "
                              f"{', '.join(sorted(missing))}")
        if predictor is None and config.model.path:
            from engine.model import Predictor

            predictor = Predictor.load(config.model.path, self.schema)
        if getattr(self.strategy, "needs_model", False) and predictor is None:
            raise ConfigError("model", f"strategy {self.strategy.name!r} needs a model")
        self.predictor = predictor
        self.clock = clock or SimClock()
        self.bus = bus
        self.risk = RiskManager(config.risk)
        self._money = float(instrument.tick_size * instrument.lot_size)
        self.execution = PaperExecution(config.execution, money_per_tick_lot=self._money)
        self._resting = self.execution.resting
        self.portfolio = Portfolio()
        self.latency = StageLatency(config.latency.budgets_ns())
        (self._t_book, self._t_features, self._t_model, self._t_strategy, self._t_risk,
         self._t_execution, self._t_end_to_end, self._t_to_fill) = (
            self.latency.stage(s) for s in STAGES)
        self.prediction_counts = np.zeros(P_UP_BINS, dtype=np.int64)
        self.prediction_sum = 0.0
        self._t_ready: int | None = None
        self.book = L2Book()
        self.features = FeatureState(self.schema.params.array(instrument.tick_size))
        self.fvec_all = np.zeros(len(ALL_NAMES))
        self.fvec = self.fvec_all
        self._columns = self.schema.columns
        self._interval_ns = config.replay.decision_interval_ms * 1_000_000
        self._every = config.replay.decision_every_messages or NEVER
        self.book_valid = True  #: False while a live feed is out of sync; blocks new orders
        self.killed = config.risk.kill_switch
        self.halted: str | None = None
        self.events = 0
        self.decisions = 0
        self.fill_log: list[Fill] = []
        self.done_log: list[OrderDone] = []
        self.intents: list[tuple[int, OrderIntent]] = []
        self.marks = MarkLog()
        self._compiled = is_compiled(self.strategy)
        self._pending = 0  #: intents the compiled loop decided at the next decision point
        self._in_loop = self._compiled and self._loop_allowed(
            config.replay.compiled_loop if compiled_loop is None else compiled_loop)
        if self._compiled:
            self._setup_compiled()
        self.sessions: list[SessionResult] = []
        self.last_ts_ns = 0
        self.source = ""
        self._session_open = False
        self.start_session("")
        warm_up()
        if self._compiled:
            warm_strategy(self.strategy, self.schema, self._model_arrays)

    # -- sessions -------------------------------------------------------------------------
    def start_session(self, source: str, utc_offset_ns: int = 0) -> None:
        """A new day or file: empty book and feature state, no halt; positions carry over.

        ``utc_offset_ns`` is the exchange's local time minus UTC (time of day, session close).
        """
        self._close_session()
        self.source = source
        self.book.clear()
        self.book.source = source
        self.book_valid = True
        self.halted = None
        self.utc_offset_ns = utc_offset_ns
        self.features.reset(utc_offset_ns)
        self._next_decision = None
        self._close_ns: int | None = None
        self._at_boundary = True
        self._session_start = (len(self.marks), self.portfolio.fees, self.portfolio.fills)
        self._session_open = bool(source)

    def _close_session(self) -> None:
        if not self._session_open:
            return
        first, fees0, fills0 = self._session_start
        start_equity = self.marks[first - 1].equity2 if first else 0
        gross = ((self.marks[-1].equity2 - start_equity) / 2 * self._money
                 if len(self.marks) > first else 0.0)
        self.sessions.append(SessionResult(self.source, gross, self.portfolio.fees - fees0,
                                           self.portfolio.fills - fills0))
        self._session_open = False

    def kill(self) -> None:
        """Kill switch: cancel every open order and accept no new one."""
        self.killed = True
        self._cancel_all(self.clock.now_ns())

    # -- the driver-facing entry point ---------------------------------------------------
    def process(self, batch: np.ndarray, received_perf_ns: int | None = None) -> None:
        """Apply a batch of events, stopping at every wakeup on the way.

        ``received_perf_ns`` (``perf_counter_ns`` when a live frame arrived) makes the
        end-to-end stages start at the frame's arrival instead of at the book update.
        """
        n = len(batch)
        i = 0
        book, fs, rest = self.book, self.features, self._resting
        ts_event = batch["ts_event"]
        flags = batch["flags"]
        while i < n:
            if self._next_decision is None:
                self._first_event(int(ts_event[i]))
            stop = self._next_wakeup()
            t0 = perf_counter_ns()
            if self._loop_wanted(stop):
                j, reason = self._run_loop(batch, i)
                stop = self._next_wakeup()
            else:
                j, reason = run_until(book.bid, book.ask, book.hdr, fs.state, fs.params,
                                      fs.ring_ts, fs.ring_cum, fs.ring_mid2, fs.ptr, rest.orders,
                                      rest.fills, rest.info, rest.power, batch, i, stop,
                                      self._every, self._at_boundary)
            t1 = perf_counter_ns()
            self._t_book.record(t1 - t0)
            self.events += j - i
            if j > 0:
                self.last_ts_ns = int(ts_event[j - 1])
                self._at_boundary = bool(flags[j - 1] & F_LAST)
            if reason == RING_FULL:
                fs.grow()
            elif reason == OUT_OF_RANGE:
                book.make_room(int(batch["px_ticks"][j]), seq=int(batch["seq"][j]))
            elif reason == CROSSED:
                self.book_valid = False
                raise CrossedBookError(
                    f"crossed book: best bid {book.best_bid_tick()} >= best ask "
                    f"{book.best_ask_tick()} ticks", seq=int(batch["seq"][j - 1]),
                    source=self.source)
            ready = received_perf_ns or t1
            if reason == TIME_REACHED:
                self._wakeup(stop, ready, next_event_ns=int(ts_event[j]))
            elif reason == COUNT_REACHED:
                self._wakeup(self.last_ts_ns, ready, next_event_ns=None, count_decision=True)
            elif reason == FILLED:
                self._t_ready = ready
                self._on_fills(*self.execution.passive_fills(book))
                self._wakeup(self.last_ts_ns, ready, next_event_ns=None)
            i = j

    def _first_event(self, ts: int) -> None:
        step = self._interval_ns
        self._next_decision = (ts // step + 1) * step if step else NEVER
        close_s = self.config.risk.session_close_s
        if close_s is not None:
            midnight = (ts + self.utc_offset_ns) // DAY_NS * DAY_NS - self.utc_offset_ns
            self._close_ns = midnight + close_s * 1_000_000_000

    def _next_wakeup(self, *, decisions: bool = True) -> int:
        """Earliest pending event time after now (what is due now was handled already);
        without ``decisions``, the earliest that is not a decision point."""
        now = self.clock.now_ns()
        pf = self.portfolio
        held = RiskState(pf.position, 0, 0, pf.opened_ns, True)
        candidates = (self._next_decision if decisions else None,
                      self.execution.next_arrival_ns(),
                      holding_deadline_ns(held, self.config.risk), self._close_ns)
        return min((t for t in candidates if t is not None and t > now), default=NEVER)

    # -- compiled decisions (engine.strategy, engine.decision_loop) ------------------------
    def _loop_allowed(self, wanted: bool) -> bool:
        """Whether decisions may run inside the compiled loop: at interval points, with no
        model or one whose trees the loop can evaluate."""
        model_ok = self.predictor is None or hasattr(self.predictor, "ensemble")
        return wanted and model_ok and self._every == NEVER and bool(self._interval_ns)

    def _setup_compiled(self) -> None:
        strategy = self.strategy
        self._params = strategy.bind(self.schema)
        self._tags = tuple(strategy.tags)
        ensemble = getattr(self.predictor, "ensemble", None) if self._in_loop else None
        self._model_arrays = model_arrays(ensemble, self.fvec_all, self._columns,
                                          self.prediction_counts)
        self._no_prediction = np.full(1, np.nan)
        self._decision = np.zeros(1, dtype=decision_dtype)
        self._account = np.zeros(1, dtype=account_dtype)
        self._control = np.zeros(1, dtype=control_dtype)
        self._orders = np.zeros(64, dtype=open_order_dtype)
        self._intents = np.zeros(MAX_INTENTS, dtype=intent_dtype)
        self._marks_ts = np.zeros(1 << 16, dtype=np.int64)
        self._marks_mid2 = np.zeros(1 << 16, dtype=np.int64)

    def _loop_wanted(self, stop: int) -> bool:
        """Whether the decisions up to the earliest non-decision wakeup may run in numba:
        nothing in flight, no halted position to exit (each such decision is Python's)."""
        pf = self.portfolio
        return (self._in_loop and stop == self._next_decision and self.book_valid
                and not ((self.halted or self.killed) and pf.position)
                and self.execution.next_arrival_ns() is None)

    def _fill_account(self) -> None:
        pf = self.portfolio
        first, fees0, _ = self._session_start
        entry = pf.avg_entry_mid_ticks() if pf.position else None
        # One tuple assignment: a record's fields set one by one cost ~0.7 µs each.
        self._account[0] = (
            pf.position, self.execution.in_flight_lots(),
            NO_TIME if pf.opened_ns is None else pf.opened_ns, pf.cash,
            self.marks[first - 1].equity2 if first else 0,
            np.nan if entry is None else entry, self._money, pf.fees - fees0,
            self.config.risk.stop_loss_ticks, self.config.risk.daily_loss_limit,
            self.halted is not None, self.killed)

    def _io(self) -> DecisionIO:
        open_orders = self.execution.open_orders()
        if len(open_orders) > len(self._orders):
            self._orders = np.zeros(2 * len(open_orders), dtype=open_order_dtype)
        n = fill_open_orders(self._orders, open_orders, self._tags)
        return DecisionIO(self._decision, self._orders, n, self._intents, self._marks_ts,
                          self._marks_mid2)

    def _market(self) -> Market:
        book, fs, rest = self.book, self.features, self._resting
        return Market(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts,
                      fs.ring_cum, fs.ring_mid2, fs.ptr, fs.levels_book, rest.orders,
                      rest.fills, rest.info, rest.power)

    def _run_loop(self, batch: np.ndarray, i: int) -> tuple[int, int]:
        """Events and decisions in numba up to the first stop that needs Python."""
        self._fill_account()
        c = self._control[0]
        c["next_decision"] = self._next_decision
        c["step"] = self._interval_ns
        c["other_stop"] = self._next_wakeup(decisions=False)
        c["at_boundary"] = self._at_boundary
        c["features"] = True
        c["model"] = self.predictor is not None
        m = self._model_arrays
        m.p_sum[0] = self.prediction_sum
        j, reason = self.strategy.kernels.run(
            self._market(), m, self._account, self._control, self._io(), self.strategy.state,
            self._params, batch, i)
        self.prediction_sum = float(m.p_sum[0])
        self._next_decision = int(c["next_decision"])
        self._pending = int(c["pending"])
        taken = int(c["decisions"])
        if taken:
            pf = self.portfolio
            self.decisions += taken
            self.clock.advance_to(max(int(c["last_now"]), self.clock.now_ns()))
            n = int(c["marks"])
            self.marks.extend_unchanged(self._marks_ts[:n], self._marks_mid2[:n], pf.cash,
                                        pf.position, pf.fees)
        return j, reason

    def _decide_compiled(self, now: int, prediction: np.ndarray | None) -> list:
        """The strategy's compiled ``decide`` at a Python decision point."""
        io = self._io()
        hdr, pf = self.book.hdr, self.portfolio
        has_book = bool(hdr[H_BID_LEVELS] and hdr[H_ASK_LEVELS])
        bid_i, ask_i = int(hdr[H_BEST_BID]), int(hdr[H_BEST_ASK])
        # As ``decision_loop.fill_decision`` fills it in the loop (an njit call from Python
        # would cost more than the decision: records are slow to type).
        self._decision[0] = (
            now, has_book, hdr[H_BASE] + bid_i if has_book else 0,
            hdr[H_BASE] + ask_i if has_book else 0, self.book.bid[bid_i] if has_book else 0,
            self.book.ask[ask_i] if has_book else 0, pf.position,
            self.execution.in_flight_lots(), NO_TIME if pf.opened_ns is None else pf.opened_ns,
            self.halted is not None or self.killed)
        row = self.fvec
        pred = self._no_prediction if prediction is None else prediction
        return self._call_decide(io, row, pred)

    def _call_decide(self, io: DecisionIO, row: np.ndarray, pred: np.ndarray) -> list:
        decide = self.strategy.kernels.decide
        while True:
            n = decide(io.decision[0], row, pred, io.orders, io.n_orders, self.strategy.state,
                       self._params, io.intents)
            if n != NEED_ROOM:
                return intents_to_actions(io.intents, n, self._tags)
            self.strategy.grow()

    def _pending_actions(self) -> list:
        """The intents the compiled loop decided (``decide`` ran there, once)."""
        n, self._pending = self._pending, 0
        if n == NEED_ROOM:  # its state was full: grow, and decide on the same inputs
            m = self._model_arrays
            return self._call_decide(self._io(), m.row[:len(self._columns)].copy(),
                                     m.prediction.copy())
        return intents_to_actions(self._intents, n, self._tags)

    def _mid2(self) -> int | None:
        bid, ask = self.book.best_bid_tick(), self.book.best_ask_tick()
        return bid + ask if bid is not None and ask is not None else None

    def _risk_state(self) -> RiskState:
        pf = self.portfolio
        buy, sell = self.execution.open_lots()
        mid2 = self._mid2()
        lot_value = mid2 / 2 * self._money if mid2 is not None else 0.0
        adverse = 0.0
        entry = pf.avg_entry_mid_ticks()
        if entry is not None and mid2 is not None:
            adverse = adverse_ticks.py_func(entry, mid2, pf.position)
        pnl = 0.0
        if mid2 is not None:
            first, fees0, _ = self._session_start
            start = self.marks[first - 1].equity2 if first else 0
            pnl = day_pnl.py_func(pf.cash, pf.position, mid2, start, self._money,
                                  pf.fees - fees0)
        return RiskState(pf.position, buy, sell, pf.opened_ns, self.book_valid, lot_value,
                         adverse, pnl, self.halted, self.killed)

    # -- decision stages -----------------------------------------------------------------
    def _wakeup(self, now: int, t_ready: int, *, next_event_ns: int | None,
                count_decision: bool = False) -> None:
        """Run what is due at event time ``now``; ``t_ready`` is when the book was ready."""
        self.clock.advance_to(max(now, self.clock.now_ns()))
        now = self.clock.now_ns()
        self._t_ready = t_ready
        self._venue(now)
        state = self._check_halt(now, self._risk_state())
        decide = count_decision or (self._next_decision is not None
                                    and now >= self._next_decision)
        actions: list = []
        if decide:
            self.decisions += 1
            # A decision the compiled loop took already is carried out, not taken again.
            actions = self._pending_actions() if self._pending else self._decide(now)
            if self._next_decision is not None and now >= self._next_decision:
                self._schedule_after(now, next_event_ns)
        exit_intent = forced_exit(state, now, self.config.risk)
        if exit_intent is not None:
            actions.append(exit_intent)
        if actions:
            self._act(actions, now, state)
        if decide:
            self._t_end_to_end.record(perf_counter_ns() - t_ready)
            self._mark(now)

    def _decide(self, now: int) -> list:
        """Features, the model and the strategy at a decision point, each stage timed."""
        t0 = perf_counter_ns()
        self.evaluate_features(now)
        t1 = perf_counter_ns()
        prediction = self.predictor.predict(self.fvec) if self.predictor else None
        t2 = perf_counter_ns()
        if prediction is not None and prediction[0] == prediction[0]:
            p_up = float(prediction[0])
            self.prediction_counts[min(int(p_up * P_UP_BINS), P_UP_BINS - 1)] += 1
            self.prediction_sum += p_up
        if self._compiled:
            actions = self._decide_compiled(now, prediction)
        else:
            actions = self.strategy.on_decision(self._view(now, prediction))
        t3 = perf_counter_ns()
        self._t_features.record(t1 - t0)
        if self.predictor:
            self._t_model.record(t2 - t1)
        self._t_strategy.record(t3 - t2)
        return actions

    def _act(self, actions: list, now: int, state: RiskState) -> None:
        t0 = perf_counter_ns()
        cancels = [a for a in actions if isinstance(a, CancelIntent)]
        intents = [a for a in actions if not isinstance(a, CancelIntent)]
        accepted = self.risk.vet(state, intents, now)
        t1 = perf_counter_ns()
        for cancel in cancels:
            self.execution.cancel(cancel.client_id, now)
        bid, ask = self.book.best_bid_tick(), self.book.best_ask_tick()
        for intent in accepted:
            self.intents.append((now, intent))
            self.execution.submit(intent, now, expected_px=ask if intent.side > 0 else bid)
        self._venue(now)
        self._t_risk.record(t1 - t0)
        self._t_execution.record(perf_counter_ns() - t1)

    def _check_halt(self, now: int, state: RiskState) -> RiskState:
        """Halt new risk for the rest of the session when a limit says so."""
        if self.halted:
            return state
        local_s = None
        if self._close_ns is not None:
            local_s = ((now + self.utc_offset_ns) % DAY_NS) / 1e9
        reason = halt_reason(state, local_s, self.config.risk)
        if not reason:
            return state
        self.halted = reason
        self._cancel_all(now)
        return replace(state, halted=reason)

    def _cancel_all(self, now: int) -> None:
        for order in self.execution.open_orders():
            self.execution.cancel(order.client_id, now)

    def _schedule_after(self, now: int, next_event_ns: int | None) -> None:
        """Next decision one interval on; across a quiet gap, the last point before the
        next event (decisions in between would see the same book)."""
        self._next_decision = next_decision_after(
            now, self._interval_ns, -1 if next_event_ns is None else next_event_ns)

    def _venue(self, now: int) -> None:
        self._on_fills(*self.execution.process_due(self.book, now))

    def _on_fills(self, fills: list[Fill], done: list[OrderDone]) -> None:
        if fills and self._t_ready is not None:
            self._t_to_fill.record(perf_counter_ns() - self._t_ready)
        for fill in fills:
            self.portfolio.apply(fill)
            self.fill_log.append(fill)
            if self.bus is not None:
                self.bus.publish_nowait(Topic.FILLS, fill)
        self.done_log.extend(done)

    def evaluate_features(self, now: int) -> np.ndarray:
        """The configured feature vector at event time ``now``."""
        fs = self.features
        book = self.book
        evaluate(book.bid, book.ask, book.hdr, fs.state, fs.params, fs.ring_ts, fs.ring_cum,
                 fs.ring_mid2, fs.ptr, fs.levels_book, now, self.fvec_all)
        self.fvec = self.fvec_all[self._columns]
        return self.fvec

    def _view(self, now: int, prediction: np.ndarray | None) -> DecisionView:
        features = self.fvec
        features.flags.writeable = False
        return DecisionView(now, features, self.schema, self.book.best_bid_tick(),
                            self.book.best_ask_tick(), self.portfolio.position,
                            self.execution.in_flight_lots(), self.portfolio.opened_ns,
                            tuple(self.execution.open_orders()), prediction,
                            self.halted is not None or self.killed)

    def _mark(self, now: int) -> None:
        mid2 = self._mid2()
        if mid2 is None:
            return
        pf = self.portfolio
        self.marks.append(now, pf.equity2(mid2), pf.position, pf.fees, mid2)

    def shutdown(self, reason: str = "shutdown") -> None:
        """Stop trading: no new orders, cancel what rests, flatten at the book, finish.

        Runs in event time from the last event, so the replay of a recording that ends in a
        shutdown takes exactly the same exit as the live session did.
        """
        now = max(self.clock.now_ns(), self.last_ts_ns)
        self.clock.advance_to(now)
        self.halted = reason
        self._cancel_all(now)
        self._drain_in_flight()
        now = self.clock.now_ns()
        state = self._risk_state()
        exit_intent = forced_exit(state, now, self.config.risk)
        if exit_intent is not None:
            self._act([exit_intent], now, state)
            self._drain_in_flight()
        self.finish()

    def _drain_in_flight(self) -> None:
        """Let orders and cancels on their way reach the (unchanging) last book."""
        while (arrival := self.execution.next_arrival_ns()) is not None:
            self.clock.advance_to(max(arrival, self.clock.now_ns()))
            self._venue(self.clock.now_ns())

    def finish(self) -> None:
        """End of data: carry out what has reached the venue; mark and close the session."""
        now = max(self.clock.now_ns(), self.last_ts_ns)
        self.clock.advance_to(now)
        self._venue(now)
        self._mark(now)
        self._close_session()
