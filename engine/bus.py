"""The asyncio event bus: typed topics, one bounded queue per subscriber, statistics.

A publisher awaits ``publish`` and so waits when a subscriber is full (backpressure), or calls
``publish_nowait``, which drops for a full subscriber and counts the drop. Queue depth, peak
depth and drops per subscriber come from ``statistics()`` for the metrics endpoint.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Any


class Topic(enum.Enum):
    MARKET_DATA = "market_data"  #: event batches (numpy ``event_dtype`` arrays)
    FILLS = "fills"  #: paper fills
    CONTROL = "control"  #: end of data, shutdown


class EndOfData:
    """Published on MARKET_DATA after the last batch of a source."""

    def __repr__(self) -> str:
        return "EndOfData()"


END_OF_DATA = EndOfData()


@dataclass
class SubscriberStats:
    name: str
    topic: str
    depth: int
    peak_depth: int
    delivered: int
    dropped: int


class Subscription:
    """One subscriber's bounded queue on one topic."""

    def __init__(self, topic: Topic, name: str, maxsize: int) -> None:
        self.topic = topic
        self.name = name
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.peak_depth = 0
        self.delivered = 0
        self.dropped = 0

    async def get(self) -> Any:
        return await self.queue.get()

    def _note_depth(self) -> None:
        depth = self.queue.qsize()
        if depth > self.peak_depth:
            self.peak_depth = depth

    def stats(self) -> SubscriberStats:
        return SubscriberStats(self.name, self.topic.value, self.queue.qsize(), self.peak_depth,
                               self.delivered, self.dropped)


class Bus:
    """Publish/subscribe over asyncio queues; delivery order per subscriber is publish order."""

    def __init__(self) -> None:
        self._subs: dict[Topic, list[Subscription]] = {t: [] for t in Topic}

    def subscribe(self, topic: Topic, name: str, *, maxsize: int = 1024) -> Subscription:
        if maxsize <= 0:
            raise ValueError(f"maxsize must be positive (a bounded queue), got {maxsize}")
        sub = Subscription(topic, name, maxsize)
        self._subs[topic].append(sub)
        return sub

    async def publish(self, topic: Topic, message: Any) -> None:
        """Deliver to every subscriber, waiting while one is full."""
        for sub in self._subs[topic]:
            await sub.queue.put(message)
            sub.delivered += 1
            sub._note_depth()

    def publish_nowait(self, topic: Topic, message: Any) -> int:
        """Deliver without waiting; returns how many subscribers dropped it for being full."""
        dropped = 0
        for sub in self._subs[topic]:
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                sub.dropped += 1
                dropped += 1
            else:
                sub.delivered += 1
                sub._note_depth()
        return dropped

    def statistics(self) -> list[SubscriberStats]:
        return [sub.stats() for subs in self._subs.values() for sub in subs]
