"""The compiled replay loop: apply events to the book and feature state until a stop.

``run_until`` is the engine's ``elapse``: it runs in numba until the next decision point and
returns ``(index, reason)``. Stops happen only at message boundaries, where the book is
consistent: before the first event of a message stamped after ``stop_ts``, or after
``max_messages`` messages. The caller resumes at the returned index.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.book import apply_delta
from engine.book import is_crossed
from engine.events import BOOK_DELTA
from engine.events import F_LAST
from engine.features.level1 import on_message

#: Reasons ``run_until`` returns.
END_OF_DATA = 0  #: every event of the batch was applied
TIME_REACHED = 1  #: the next message is stamped after ``stop_ts``; nothing of it applied
COUNT_REACHED = 2  #: ``max_messages`` messages were applied
OUT_OF_RANGE = 3  #: the event at index lies outside the book arrays; grow them and resume
CROSSED = 4  #: the message ending at index - 1 left the book crossed

REASON_NAMES = {END_OF_DATA: "end_of_data", TIME_REACHED: "time_reached",
                COUNT_REACHED: "count_reached", OUT_OF_RANGE: "out_of_range",
                CROSSED: "crossed"}


@njit(cache=True)
def run_until(bid: np.ndarray, ask: np.ndarray, hdr: np.ndarray, fstate: np.ndarray,
              events: np.ndarray, start: int, stop_ts: int, max_messages: int,
              at_boundary: bool) -> tuple[int, int]:
    """Apply ``events[start:]`` until a stop; see module doc for the stop rules.

    ``at_boundary`` says whether ``start`` begins a message (False when a batch split a
    message, so the first events cannot be a stop point).
    """
    n = events.shape[0]
    messages = 0
    boundary = at_boundary
    for i in range(start, n):
        ev = events[i]
        if boundary and ev.ts_event > stop_ts:
            return i, TIME_REACHED
        if ev.kind == BOOK_DELTA:
            if not apply_delta(bid, ask, hdr, ev.side, ev.px_ticks, ev.qty_lots):
                return i, OUT_OF_RANGE
        boundary = (ev.flags & F_LAST) != 0
        if boundary:
            if is_crossed(hdr):
                return i + 1, CROSSED
            on_message(bid, ask, hdr, fstate)
            messages += 1
            if messages >= max_messages:
                return i + 1, COUNT_REACHED
    return n, END_OF_DATA
