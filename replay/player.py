"""Deterministic replay: a player publishes event batches on the bus, the engine consumes.

One producer, one consumer and a bounded queue: delivery order is publish order, so the run
is deterministic, and the engine code is the same that the live driver calls per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.bus import END_OF_DATA
from engine.bus import Bus
from engine.bus import Topic
from engine.pipeline import Engine


@dataclass(frozen=True)
class SessionStart:
    """Published before the batches of each file or day."""

    source: str
    utc_offset_ns: int = 0


@dataclass(frozen=True)
class ReplaySession:
    source: str
    events: np.ndarray
    utc_offset_ns: int = 0  #: exchange local time minus UTC, for time-of-day features


class ReplayPlayer:
    def __init__(self, bus: Bus, chunk_events: int) -> None:
        self.bus = bus
        self.chunk_events = chunk_events

    async def play(self, sessions: Iterable[ReplaySession]) -> None:
        for session in sessions:
            await self.bus.publish(
                Topic.MARKET_DATA, SessionStart(session.source, session.utc_offset_ns)
            )
            for start in range(0, len(session.events), self.chunk_events):
                await self.bus.publish(
                    Topic.MARKET_DATA, session.events[start : start + self.chunk_events]
                )
        await self.bus.publish(Topic.MARKET_DATA, END_OF_DATA)


async def consume(engine: Engine, subscription) -> None:
    """Feed every batch to the engine until the end of data."""
    while True:
        message = await subscription.get()
        if message is END_OF_DATA:
            engine.finish()
            return
        if isinstance(message, SessionStart):
            engine.start_session(message.source, message.utc_offset_ns)
        else:
            engine.process(message)


async def collect_fills(subscription, into: list) -> None:
    """A fills subscriber: what the engine publishes, in order (until cancelled)."""
    while True:
        into.append(await subscription.get())


async def replay_async(engine: Engine, sessions: Iterable[ReplaySession], chunk_events: int,
                       ) -> list:
    """Replay to the end; returns the fills as they came back through the bus."""
    bus = Bus()
    engine.bus = bus
    subscription = bus.subscribe(Topic.MARKET_DATA, "engine", maxsize=4)
    fills_sub = bus.subscribe(Topic.FILLS, "fill_log", maxsize=1 << 20)
    bus_fills: list = []
    player = ReplayPlayer(bus, chunk_events)
    consumer = asyncio.create_task(consume(engine, subscription))
    producer = asyncio.create_task(player.play(sessions))
    fill_task = asyncio.create_task(collect_fills(fills_sub, bus_fills))
    try:
        done, _ = await asyncio.wait({consumer, producer}, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                for other in (consumer, producer):
                    other.cancel()
                raise task.exception()
        await asyncio.gather(consumer, producer)
        while not fills_sub.queue.empty():
            bus_fills.append(fills_sub.queue.get_nowait())
    finally:
        fill_task.cancel()
    return bus_fills


def run(engine: Engine, sessions: Iterable[ReplaySession], chunk_events: int) -> list:
    """Replay to the end on an event loop of its own (uvloop when installed); returns the
    fills delivered on the bus."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.run(replay_async(engine, sessions, chunk_events))
    return uvloop.run(replay_async(engine, sessions, chunk_events))
