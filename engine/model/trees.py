"""LightGBM tree ensembles as flat arrays, and a compiled evaluator that matches LightGBM.

The arrays come from the model text LightGBM itself loads (a saved model file or
``Booster.model_to_string()``), so thresholds and leaf values are the exact doubles LightGBM
uses. Several single-output models (one per predictor output) are packed into one
ensemble and evaluated in one compiled call.

LightGBM's rule for one numerical split (``Tree::NumericalDecision`` and the dense-row
reader in front of it):

* the row reader keeps a value only if ``|v| > kZeroThreshold`` or it is NaN; anything
  else reaches the trees as 0.0 (``kZeroThreshold`` is the float ``1e-35f``);
* at a node whose missing type is not NaN, a NaN is read as 0.0;
* missing type Zero sends a zero, missing type NaN sends a NaN, to the default child;
* otherwise ``value <= threshold`` goes left.

A tree's output is its leaf value (shrinkage is already folded in); a model's raw score is
the sum over its trees in iteration order, in float64, starting from 0.0; a binary model
then applies ``1 / (1 + exp(-sigmoid * score))``.

Layout, chosen for speed: every tree becomes a complete binary tree of the ensemble's depth
``D`` in heap order (node ``i`` has children ``2i + 1`` and ``2i + 2``), a leaf above depth
``D`` copied into every heap leaf below it. A row then takes exactly ``D`` steps per tree,
``i = 2i + 1 + go_right``, with no data-dependent branch, and four trees are walked in
lockstep so their load chains overlap. Missing values need no branch either: the row is
written three times into a scratch buffer (NaN -> 0 for missing type None; NaN kept for
type NaN; NaN and zero -> NaN for type Zero), each node reads its copy, and goes right when
``value > threshold``, or when the value is NaN and its default child is the right one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from engine.errors import ModelError

#: LightGBM's kZeroThreshold (``1e-35f``), as the double the C++ code compares against.
ZERO_THRESHOLD = float(np.float32(1e-35))
#: Deepest tree the complete-tree layout takes (2**12 leaves per tree).
MAX_DEPTH = 12

# decision_type bits (LightGBM tree.h): categorical, default left, missing type in bits 2-3
_CATEGORICAL_MASK = 1
_DEFAULT_LEFT_MASK = 2
_MISSING_NONE = 0
_MISSING_ZERO = 1
_MISSING_NAN = 2
# which copy of the row a node reads, by missing type
_COPY_OF_MISSING = {_MISSING_NONE: 0, _MISSING_NAN: 1, _MISSING_ZERO: 2}

TRANSFORM_IDENTITY = 0
TRANSFORM_SIGMOID = 1
# objectives whose prediction is the raw score
_IDENTITY_OBJECTIVES = ("regression", "regression_l1", "huber", "fair", "quantile", "mape")


@dataclass(frozen=True)
class TreeEnsemble:
    """One or more LightGBM models as flat arrays in the complete-tree layout.

    codes: int32 (n_trees * (2**depth - 1),): per node ``(copy * n_features + feature) << 1
        | default_left``; ``copy`` picks the row copy for the node's missing type.
    thresholds: float64, one per node.
    leaves: float64 (n_trees * 2**depth,).
    model_trees: int64 (n_models + 1,): model m owns trees model_trees[m]:model_trees[m+1].
    transforms: int64 (n_models,): TRANSFORM_IDENTITY or TRANSFORM_SIGMOID.
    sigmoids: float64 (n_models,): the sigmoid parameter of binary models.
    depth: steps per tree; n_features: length of a row.
    """

    codes: np.ndarray
    thresholds: np.ndarray
    leaves: np.ndarray
    model_trees: np.ndarray
    transforms: np.ndarray
    sigmoids: np.ndarray
    depth: int
    n_features: int

    @property
    def n_models(self) -> int:
        return len(self.transforms)

    def trees_per_model(self) -> list[int]:
        return np.diff(self.model_trees).tolist()

    def arrays(self) -> tuple:
        """The evaluator's arguments after the row: see ``predict_into``."""
        return (self.codes, self.thresholds, self.leaves, self.model_trees, self.transforms,
                self.sigmoids, self.depth)


@dataclass
class _Tree:
    """One parsed tree: LightGBM's own arrays (children < 0 are leaves ``~child``)."""

    feature: list[int]
    threshold: list[float]
    decision: list[int]
    left: list[int]
    right: list[int]
    leaf_value: list[float]

    def depth(self) -> int:
        if not self.feature:
            return 0
        deepest, stack = 0, [(0, 1)]
        while stack:
            node, d = stack.pop()
            deepest = max(deepest, d)
            stack += [(c, d + 1) for c in (self.left[node], self.right[node]) if c >= 0]
        return deepest


@dataclass
class _Model:
    transform: int
    sigmoid: float
    n_features: int
    feature_names: list[str]
    trees: list[_Tree]


def _values(fields: dict, key: str, n: int, kind: type, where: str) -> list:
    values = [kind(v) for v in fields.get(key, "").split()]
    if len(values) != n:
        raise ModelError(f"{where}: {key} has {len(values)} values, expected {n}")
    return values


def _parse_tree(fields: dict, n_features: int, where: str) -> _Tree:
    if fields.get("is_linear", "0") != "0":
        raise ModelError(f"{where}: linear trees are not supported")
    if fields.get("num_cat", "0") != "0":
        raise ModelError(f"{where}: categorical splits are not supported")
    n_leaves = int(fields.get("num_leaves", "0"))
    if n_leaves < 1:
        raise ModelError(f"{where}: num_leaves is missing or zero")
    leaf_value = _values(fields, "leaf_value", n_leaves, float, where)
    if n_leaves == 1:
        return _Tree([], [], [], [], [], leaf_value)
    n = n_leaves - 1
    tree = _Tree(_values(fields, "split_feature", n, int, where),
                 _values(fields, "threshold", n, float, where),
                 _values(fields, "decision_type", n, int, where),
                 _values(fields, "left_child", n, int, where),
                 _values(fields, "right_child", n, int, where), leaf_value)
    for i in range(n):
        if math.isnan(tree.threshold[i]):
            raise ModelError(f"{where}: node {i} has a NaN threshold")
        if tree.decision[i] & _CATEGORICAL_MASK:
            raise ModelError(f"{where}: node {i} is a categorical split")
        if not 0 <= tree.feature[i] < n_features:
            raise ModelError(f"{where}: node {i} splits on feature {tree.feature[i]}, the "
                             f"model has {n_features}")
        for child in (tree.left[i], tree.right[i]):
            if not (0 < child < n or 0 <= ~child < n_leaves):
                raise ModelError(f"{where}: node {i} has child {child} out of range")
    return tree


def parse_model(text: str, where: str = "model") -> _Model:
    """Header and trees of one LightGBM text model (``where`` names it in errors)."""
    head, sep, rest = text.partition("\nTree=")
    if "end of trees" not in text:
        raise ModelError(f"{where}: not a LightGBM text model (no 'end of trees')")
    header = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
    for key in ("num_class", "num_tree_per_iteration", "objective", "max_feature_idx",
                "feature_names"):
        if key not in header:
            raise ModelError(f"{where}: LightGBM model text has no {key}=")
    if header["num_class"] != "1" or header["num_tree_per_iteration"] != "1":
        raise ModelError(f"{where}: only single-output models are supported "
                         f"(num_class={header['num_class']})")
    if "average_output" in head.splitlines():
        raise ModelError(f"{where}: random-forest models (average_output) are not supported")
    objective = header["objective"].split()
    if objective[0] == "binary":
        sigmoid = 1.0
        for part in objective[1:]:
            if part.startswith("sigmoid:"):
                sigmoid = float(part.split(":", 1)[1])
        transform = TRANSFORM_SIGMOID
    elif objective[0] in _IDENTITY_OBJECTIVES and len(objective) == 1:
        transform, sigmoid = TRANSFORM_IDENTITY, 1.0
    else:
        raise ModelError(f"{where}: objective {header['objective']!r} is not supported "
                         f"(binary, or one of {', '.join(_IDENTITY_OBJECTIVES)})")
    n_features = int(header["max_feature_idx"]) + 1
    trees = []
    if sep:
        body = ("Tree=" + rest).split("end of trees", 1)[0]
        for t, block in enumerate(body.split("\nTree=")):
            fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            trees.append(_parse_tree(fields, n_features, f"{where} tree {t}"))
    return _Model(transform, sigmoid, n_features, header["feature_names"].split(), trees)


def model_feature_names(text: str, where: str = "model") -> list[str]:
    """The feature names in a LightGBM text model's header."""
    for line in text.partition("\nTree=")[0].splitlines():
        if line.startswith("feature_names="):
            return line.split("=", 1)[1].split()
    raise ModelError(f"{where}: LightGBM model text has no feature_names=")


def _fill(tree: _Tree, codes: np.ndarray, thresholds: np.ndarray, leaves: np.ndarray,
          depth: int, n_features: int) -> None:
    """Write one tree into its complete-tree slots (``codes``/``thresholds``/``leaves`` are
    the tree's own views)."""
    inner = (1 << depth) - 1
    stack = [(0 if tree.feature else ~0, 0, 0)]  # (LightGBM node or ~leaf, heap slot, level)
    while stack:
        node, slot, level = stack.pop()
        if level == depth:
            leaves[slot - inner] = tree.leaf_value[~node]
            continue
        if node < 0:  # a leaf above the bottom: both subtrees end in it
            stack += [(node, 2 * slot + 1, level + 1), (node, 2 * slot + 2, level + 1)]
            continue
        decision = tree.decision[node]
        copy = _COPY_OF_MISSING[(decision >> 2) & 3]
        default_left = 1 if decision & _DEFAULT_LEFT_MASK else 0
        codes[slot] = ((copy * n_features + tree.feature[node]) << 1) | default_left
        thresholds[slot] = tree.threshold[node]
        stack += [(tree.left[node], 2 * slot + 1, level + 1),
                  (tree.right[node], 2 * slot + 2, level + 1)]


def ensemble_from_texts(texts: list[str], names: list[str] | None = None) -> TreeEnsemble:
    """Pack LightGBM text models (one per output) into one ensemble.

    ``names`` label the models in error messages. Refuses categorical splits, linear trees,
    multi-output and random-forest models, objectives with another output transform, trees
    deeper than ``MAX_DEPTH``, and models that disagree on the number of features.
    """
    names = names or [f"model {i}" for i in range(len(texts))]
    models = [parse_model(text, name) for text, name in zip(texts, names, strict=True)]
    if not models:
        raise ModelError("no models to pack")
    n_features = models[0].n_features
    for model, name in zip(models, names, strict=True):
        if model.n_features != n_features:
            raise ModelError(f"{name}: {model.n_features} features, {names[0]} has "
                             f"{n_features}")
    trees = [tree for model in models for tree in model.trees]
    depth = max([1, *(tree.depth() for tree in trees)])
    if depth > MAX_DEPTH:
        raise ModelError(f"a tree is {depth} levels deep; the evaluator takes at most "
                         f"{MAX_DEPTH} (train with max_depth <= {MAX_DEPTH})")
    inner, width = (1 << depth) - 1, 1 << depth
    codes = np.zeros(len(trees) * inner, dtype=np.int32)
    thresholds = np.zeros(len(trees) * inner, dtype=np.float64)
    leaves = np.zeros(len(trees) * width, dtype=np.float64)
    for t, tree in enumerate(trees):
        _fill(tree, codes[t * inner:(t + 1) * inner], thresholds[t * inner:(t + 1) * inner],
              leaves[t * width:(t + 1) * width], depth, n_features)
    return TreeEnsemble(
        codes=codes, thresholds=thresholds, leaves=leaves,
        model_trees=np.cumsum([0, *(len(m.trees) for m in models)]).astype(np.int64),
        transforms=np.array([m.transform for m in models], dtype=np.int64),
        sigmoids=np.array([m.sigmoid for m in models], dtype=np.float64),
        depth=depth, n_features=n_features)


@njit(cache=True, inline="always")
def _step(slot, node, codes, thresholds, copies):
    """One level of one tree: the child slot of ``slot`` (node index ``node``).

    Right when ``value > threshold`` (the same as LightGBM's ``not value <= threshold`` for
    a non-NaN value, as thresholds are never NaN), or when the value is NaN (only a copy
    for missing type NaN or Zero holds one) and the default child is the right one.
    Written as integer arithmetic so that it compiles without a branch.
    """
    code = codes[node]
    value = copies[code >> 1]
    right = (value > thresholds[node]) | ((value != value) & (1 - (code & 1)))
    return 2 * slot + 1 + right


@njit(cache=True, nogil=True)
def predict_into(row, codes, thresholds, leaves, model_trees, transforms, sigmoids, depth,
                 copies, out):
    """Every model's prediction for one float64 row, written to ``out`` (n_models).

    ``copies`` is scratch of 3 * len(row) float64s.
    """
    n = row.shape[0]
    for f in range(n):
        v = row[f]
        if math.isnan(v):
            copies[f] = 0.0
            copies[n + f] = v
            copies[2 * n + f] = v
        elif -ZERO_THRESHOLD <= v <= ZERO_THRESHOLD:
            copies[f] = 0.0
            copies[n + f] = 0.0
            copies[2 * n + f] = np.nan
        else:
            copies[f] = v
            copies[n + f] = v
            copies[2 * n + f] = v
    inner = (1 << depth) - 1
    width = 1 << depth
    for m in range(transforms.shape[0]):
        score = 0.0
        t = model_trees[m]
        end = model_trees[m + 1]
        while t + 4 <= end:  # four trees in lockstep; their sum keeps tree order
            base = t * inner
            s0 = 0
            s1 = 0
            s2 = 0
            s3 = 0
            for _ in range(depth):
                s0 = _step(s0, base + s0, codes, thresholds, copies)
                s1 = _step(s1, base + inner + s1, codes, thresholds, copies)
                s2 = _step(s2, base + 2 * inner + s2, codes, thresholds, copies)
                s3 = _step(s3, base + 3 * inner + s3, codes, thresholds, copies)
            first = t * width - inner
            score += leaves[first + s0]
            score += leaves[first + width + s1]
            score += leaves[first + 2 * width + s2]
            score += leaves[first + 3 * width + s3]
            t += 4
        while t < end:
            base = t * inner
            s0 = 0
            for _ in range(depth):
                s0 = _step(s0, base + s0, codes, thresholds, copies)
            score += leaves[t * width - inner + s0]
            t += 1
        if transforms[m] == TRANSFORM_SIGMOID:
            out[m] = 1.0 / (1.0 + math.exp(-sigmoids[m] * score))
        else:
            out[m] = score


@njit(cache=True, nogil=True)
def predict_rows(rows, codes, thresholds, leaves, model_trees, transforms, sigmoids, depth):
    """Every model's prediction for each row of a 2-D float64 array: (n_rows, n_models)."""
    out = np.empty((rows.shape[0], transforms.shape[0]), dtype=np.float64)
    copies = np.empty(3 * rows.shape[1], dtype=np.float64)
    for i in range(rows.shape[0]):
        predict_into(rows[i], codes, thresholds, leaves, model_trees, transforms, sigmoids,
                     depth, copies, out[i])
    return out


def predict_batch(ensemble: TreeEnsemble, rows: np.ndarray) -> np.ndarray:
    """(n_rows, n_models) predictions for a 2-D array of rows in feature order."""
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != ensemble.n_features:
        raise ModelError(f"rows must be (n, {ensemble.n_features}), got {rows.shape}")
    return predict_rows(rows, *ensemble.arrays())
