"""Streaming order-book features: O(1) numba updaters and the feature vector at a decision."""

from engine.features.level1 import FEATURE_NAMES
from engine.features.level1 import FeatureSchema
from engine.features.level1 import evaluate
from engine.features.level1 import new_state
from engine.features.level1 import on_message

__all__ = ["FEATURE_NAMES", "FeatureSchema", "evaluate", "new_state", "on_message"]
