"""Compile (or load from the numba cache) every hot-path function before the first event.

Calling each function once on tiny inputs moves compilation out of the first live message
or replay batch; with ``cache=True`` later processes load the machine code from disk.
"""

from __future__ import annotations

import numpy as np

from engine.book import L2Book
from engine.book import apply_events
from engine.book import side_depth
from engine.book import top_levels
from engine.events import ASK
from engine.events import BID
from engine.events import BOOK_DELTA
from engine.events import F_LAST
from engine.events import make_batch
from engine.execution import walk_book
from engine.features import evaluate
from engine.features import new_state
from engine.loop import run_until

_done = False


def warm_up() -> None:
    """Idempotent: the first call per process compiles or loads; later calls return at once."""
    global _done
    if _done:
        return
    book = L2Book(capacity=64)
    batch = make_batch([(BOOK_DELTA, BID, 10, 1, 1, 1, 1, 0), (BOOK_DELTA, ASK, 12, 1, 1, 1, 1,
                                                               F_LAST)])
    book.fit(0, 20)
    apply_events(book.bid, book.ask, book.hdr, batch, 0, len(batch))
    book.clear()
    state = new_state()
    run_until(book.bid, book.ask, book.hdr, state, batch, 0, np.iinfo(np.int64).max, 1 << 62,
              True)
    out = np.empty(4, dtype=np.int64)
    top_levels(book.bid, book.ask, book.hdr, out, out.copy(), out.copy(), out.copy())
    side_depth(book.bid, int(book.hdr[1]), -1, 5)
    evaluate(book.bid, book.ask, book.hdr, state, np.empty(3))
    walk_book(book.bid, book.ask, book.hdr, 1, 1, out, out.copy())
    _done = True
