"""Streaming order-book features: O(1) numba updaters and the feature vector at a decision.

    state.py     the arrays the compiled loop updates (ring of cumulative sums per message)
    update.py    per-event updates: trades, message ends, window bases
    vector.py    the feature vector at a decision point
    registry.py  names, order, parameters and the schema hash
"""

from engine.features.registry import ALL_FEATURES
from engine.features.registry import ALL_NAMES
from engine.features.registry import FeatureParams
from engine.features.registry import FeatureSchema
from engine.features.registry import describe
from engine.features.state import FeatureState
from engine.features.vector import evaluate

__all__ = ["ALL_FEATURES", "ALL_NAMES", "FeatureParams", "FeatureSchema", "FeatureState",
           "describe", "evaluate"]
