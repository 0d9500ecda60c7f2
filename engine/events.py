"""The hot-path event record: one structured dtype for every normalised market event.

A batch is one numpy array of ``event_dtype`` (one websocket message, one replay chunk).
Kinds, sides and flags are module-level ints so that numba code can use them as constants.
"""

from __future__ import annotations

import numpy as np

#: A level update: the new absolute size ``qty_lots`` at ``px_ticks`` on ``side`` (0 removes it).
BOOK_DELTA = 1
#: A trade of ``qty_lots`` at ``px_ticks``; ``side`` is the aggressor (BUY or SELL).
TRADE = 2
#: Trading halted (LOBSTER type 7 with price -1); no book change.
HALT = 3
#: Trading resumed or quoting resumed (LOBSTER type 7 with price 1 or 0); no book change.
RESUME = 4

#: Book side of a level update.
BID = 1
ASK = -1
#: Aggressor side of a trade.
BUY = 1
SELL = -1

#: Last event of a message: the book is consistent after it (checks and decisions happen here).
F_LAST = 1
#: Part of a snapshot: the level was loaded from a full book image, not from order flow.
F_SNAPSHOT = 2
#: A view change, not order flow: a level that slid into or out of a depth-limited feed's view.
F_VIEW = 4

event_dtype = np.dtype(
    [
        ("ts_event", np.int64),  # exchange time, ns (since midnight for LOBSTER, epoch for venues)
        ("ts_recv", np.int64),  # our receive time, ns (equals ts_event in historical files)
        ("px_ticks", np.int64),  # price in instrument ticks
        ("qty_lots", np.int64),  # BOOK_DELTA: new level size; TRADE: traded size (lots)
        ("seq", np.int64),  # source sequence: file line, update id or sequence_num
        ("kind", np.int8),
        ("side", np.int8),
        ("flags", np.uint8),
    ],
    align=True,
)

KIND_NAMES = {BOOK_DELTA: "book_delta", TRADE: "trade", HALT: "halt", RESUME: "resume"}


def empty_batch(n: int) -> np.ndarray:
    """A zeroed batch of ``n`` events."""
    return np.zeros(n, dtype=event_dtype)


def make_batch(
    rows: list[tuple[int, int, int, int, int, int, int, int]],
) -> np.ndarray:
    """Build a batch from ``(kind, side, px_ticks, qty_lots, ts_event, ts_recv, seq, flags)`` rows.

    Meant for tests and small hand-made inputs; connectors fill arrays column-wise.
    """
    batch = empty_batch(len(rows))
    for i, (kind, side, px, qty, ts_event, ts_recv, seq, flags) in enumerate(rows):
        batch[i] = (ts_event, ts_recv, px, qty, seq, kind, side, flags)
    return batch
