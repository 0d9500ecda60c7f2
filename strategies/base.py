"""What a strategy sees at a decision point, and the one method it implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.features import FeatureSchema
from engine.orders import OrderIntent


@dataclass(frozen=True)
class DecisionView:
    """A read-only view of the engine at one decision point (event time ``ts_ns``)."""

    ts_ns: int
    features: np.ndarray  #: read-only, ordered as ``schema.names``
    schema: FeatureSchema
    best_bid_tick: int | None
    best_ask_tick: int | None
    position_lots: int  #: filled position
    in_flight_lots: int  #: signed lots sent and not yet filled
    opened_ns: int | None  #: when the open position started, None when flat

    def feature(self, name: str) -> float:
        return float(self.features[self.schema.index(name)])


class Strategy(Protocol):
    name: str

    def on_decision(self, view: DecisionView) -> list[OrderIntent]:
        """Return the orders to send now (possibly none)."""
        ...
