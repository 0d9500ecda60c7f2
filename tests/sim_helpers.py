"""Test helpers: ``obflow venue-sim`` in a subprocess (its own core), a live session against
it in this process, and the offline books built from the same files."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.app.runtime import LiveSession
from engine.app.runtime import run_live
from engine.config import parse_config
from engine.feed_runner import BookOnly
from engine.feed_runner import FeedConsumer
from engine.feed_runner import SymbolRunner
from replay.sim_process import SimProcess
from replay.sources import open_venue_source
from replay.venue_replay import drive
from replay.venue_replay import make_feed


async def live_until_caught_up(sim: SimProcess, venue: dict, done, *, timeout_s: float = 90,
                               strategy: dict | None = None) -> LiveSession:
    """Run a live session until the simulator has sent everything and ``done(session)``."""
    # Lots are 1e-8 of a coin: a VPIN bucket of 100,000 coins.
    strategy = strategy or {"order_lots": 100_000}
    config = parse_config({"venue": venue, "strategy": strategy,
                           "features": {"vpin_bucket_lots": 10**13},
                           "risk": {"max_position_lots": 300_000, "max_order_lots": 300_000}})
    stop = asyncio.Event()
    holder: dict = {}

    async def watch() -> None:
        # Checked from the start and often: the moment ``done`` holds is the end, before the
        # silence after the data can look like a stale feed.
        loop = asyncio.get_running_loop()
        deadline = None
        while deadline is None or loop.time() < deadline:
            if deadline is None and sim.done.is_set():
                deadline = loop.time() + timeout_s
            session = holder.get("session")
            if sim.done.is_set() and session is not None and done(session):
                break
            await asyncio.sleep(0.02)
        stop.set()

    def started(session: LiveSession) -> None:
        holder["session"] = session

    watcher = asyncio.ensure_future(watch())
    session = await asyncio.wait_for(run_live(config, stop=stop, on_start=started),
                                     timeout_s + 60)
    await watcher
    return session


def offline_books(paths: list[Path], prune_far_pct: float = 5.0) -> dict:
    """The books the same files give when replayed through the feed with no network."""
    source = open_venue_source(paths)
    feed = make_feed(source.venue, source.instruments)
    runners = {s: SymbolRunner(s, BookOnly(source.instruments[s]), feed.counters,
                               prune_far_pct=prune_far_pct) for s in source.symbols}
    drive(source, feed, FeedConsumer(runners).on_output)
    return {s: r for s, r in runners.items()}


def same_book(a, b, levels: int = 200, band_pct: float = 2.0) -> bool:
    """The top ``levels`` levels per side within ``band_pct`` of the touch are equal.

    Deeper than that the books may differ legitimately: far-level pruning (5%) counts
    batches from each session's own start, and a snapshot is cut at its depth limit.
    """
    import numpy as np

    def near(book) -> list[np.ndarray]:
        bid_px, bid_qty, ask_px, ask_qty = book.top(levels)
        bid_ok = bid_qty > 0
        ask_ok = ask_qty > 0
        ref = bid_px[0] if bid_ok[0] else ask_px[0]
        band = int(abs(ref) * band_pct / 100)
        bid_ok &= bid_px >= bid_px[0] - band
        ask_ok &= ask_px <= ask_px[0] + band
        return [bid_px[bid_ok], bid_qty[bid_ok], ask_px[ask_ok], ask_qty[ask_ok]]

    return all(np.array_equal(x, y) for x, y in zip(near(a), near(b), strict=True))
