"""The compiled replay loop: apply events to the book and feature state until a stop.

``run_until`` is the engine's ``elapse``: it runs in numba until the next decision point and
returns ``(index, reason)``. Stops happen only at message boundaries, where the book is
consistent: before the first event of a message stamped after ``stop_ts``, or after
``max_messages`` messages. The caller resumes at the returned index.

Within a message, a TRADE is classified against the book as it was before the message's
level updates (connectors put a message's trade first, LOBSTER included).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.book import apply_delta
from engine.book import is_crossed
from engine.book import qty_at
from engine.events import BOOK_DELTA
from engine.events import F_LAST
from engine.events import TRADE
from engine.features.update import begin_message
from engine.features.update import end_message
from engine.features.update import has_room
from engine.features.update import on_trade
from engine.resting import I_ACTIVE
from engine.resting import I_FILLS
from engine.resting import resting_at_level
from engine.resting import resting_on_level_change
from engine.resting import resting_on_message_end
from engine.resting import resting_on_trade

#: Reasons ``run_until`` returns.
END_OF_DATA = 0  #: every event of the batch was applied
TIME_REACHED = 1  #: the next message is stamped after ``stop_ts``; nothing of it applied
COUNT_REACHED = 2  #: ``max_messages`` messages were applied
OUT_OF_RANGE = 3  #: the event at index lies outside the book arrays; grow them and resume
CROSSED = 4  #: the message ending at index - 1 left the book crossed
RING_FULL = 5  #: the feature ring needs more room before the message at index
FILLED = 6  #: a resting paper order filled in the message ending at index - 1

REASON_NAMES = {END_OF_DATA: "end_of_data", TIME_REACHED: "time_reached",
                COUNT_REACHED: "count_reached", OUT_OF_RANGE: "out_of_range",
                CROSSED: "crossed", RING_FULL: "ring_full", FILLED: "filled"}


@njit(cache=True)
def run_until(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, fstate: np.ndarray,
              params: np.ndarray, ring_ts: np.ndarray, ring_cum: np.ndarray,
              ring_mid2: np.ndarray, ptr: np.ndarray, orders: np.ndarray, fills: np.ndarray,
              info: np.ndarray, queue_power: float, events: np.ndarray, start: int,
              stop_ts: int, max_messages: int, at_boundary: bool) -> tuple[int, int]:
    """Apply ``events[start:]`` until a stop; see module doc for the stop rules.

    ``at_boundary`` says whether ``start`` begins a message (False when a batch split a
    message, so the first events cannot be a stop point).
    """
    n = events.shape[0]
    messages = 0
    boundary = at_boundary
    cap = ring_ts.shape[0]
    for i in range(start, n):
        ev = events[i]
        if boundary:
            if ev.ts_event > stop_ts:
                return i, TIME_REACHED
            if not has_room(ptr, cap):
                return i, RING_FULL
            begin_message(bid, ask, hdr, fstate)
        if ev.kind == BOOK_DELTA:
            if info[I_ACTIVE] > 0 and resting_at_level(orders, ev.side, ev.px_ticks):
                old = qty_at(bid, ask, hdr, ev.side, ev.px_ticks)
                if not apply_delta(bid, ask, hdr, ev.side, ev.px_ticks, ev.qty_lots):
                    return i, OUT_OF_RANGE
                resting_on_level_change(orders, info, queue_power, ev.side, ev.px_ticks, old,
                                        ev.qty_lots)
            elif not apply_delta(bid, ask, hdr, ev.side, ev.px_ticks, ev.qty_lots):
                return i, OUT_OF_RANGE
        elif ev.kind == TRADE:
            on_trade(bid, ask, hdr, fstate, params, ring_ts, ring_cum, ptr, ev.ts_event,
                     ev.px_ticks, ev.qty_lots)
            if info[I_ACTIVE] > 0:
                resting_on_trade(orders, fills, info, ev.ts_event, ev.px_ticks, ev.qty_lots,
                                 ev.side)
        boundary = (ev.flags & F_LAST) != 0
        if boundary:
            if is_crossed(hdr):
                return i + 1, CROSSED
            if info[I_ACTIVE] > 0:
                resting_on_message_end(orders, fills, info, hdr, ev.ts_event)
            end_message(bid, ask, hdr, fstate, ring_ts, ring_cum, ring_mid2, ptr, ev.ts_event)
            messages += 1
            if info[I_FILLS] > 0:
                return i + 1, FILLED
            if messages >= max_messages:
                return i + 1, COUNT_REACHED
    return n, END_OF_DATA
