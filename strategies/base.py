"""What a strategy sees at a decision point, and the one method it implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.features import FeatureSchema
from engine.orders import CancelIntent
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
    in_flight_lots: int  #: signed lots of open orders (in flight or resting)
    opened_ns: int | None  #: when the open position started, None when flat
    open_orders: tuple = ()  #: ``engine.execution.OpenOrder`` of every open order
    prediction: np.ndarray | None = None  #: model outputs, when the engine has a model
    halted: bool = False  #: risk accepts only exits now (daily loss stop, close, kill)

    def feature(self, name: str) -> float:
        return float(self.features[self.schema.index(name)])


#: The compiled decision gates ``engine.gate`` has; a strategy names its own in ``gate_kind``.
GATE_MOMENTUM = 1  #: ``imbalance_momentum``
GATE_MAKER = 2  #: ``imbalance_maker``
GATE_ML = 3  #: ``ml_ofi``: the gate evaluates the features and the model too


@dataclass(frozen=True)
class GateContext:
    """What the engine tells a strategy's compiled gate (``gate_arrays``) about itself."""

    blocked: bool  #: halted or killed: only exits pass
    schema: FeatureSchema  #: the engine's feature vector
    model_depth: int = 0  #: tree depth of the engine's model (0: no model)


class Strategy(Protocol):
    name: str

    def on_decision(self, view: DecisionView) -> list[OrderIntent | CancelIntent]:
        """Return the orders to send and cancel now (possibly none)."""
        ...
