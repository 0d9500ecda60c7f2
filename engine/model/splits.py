"""Walk-forward splits with a purge gap, over rows sorted by time.

The rows are cut into ``folds + 1`` blocks of equal row count. Fold k (1..folds) tests on
block k; its history is every row before the block. A label at time t looks ahead to
t + h, so no label window may reach into the next set: history rows with
``t + purge >= first test time`` are dropped, the last ``valid_fraction`` of the rest is
the validation set that early stopping watches, and the training rows are those with
``t + purge < first validation time``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import ObflowError


class SplitError(ObflowError):
    """The data are too short for the requested folds and purge."""


@dataclass(frozen=True)
class Fold:
    """Row indices of one walk-forward fold (``test`` is empty for the final model)."""

    index: int
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


def _history_split(ts_ns: np.ndarray, end: int, valid_fraction: float, purge_ns: int,
                   limit_ns: int | None, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation rows among rows [0, end). With ``limit_ns`` (the test block's
    first time) the rows within the purge of it go first; the validation set is the last
    ``valid_fraction`` of what remains, and the training rows end a purge before it."""
    usable = np.arange(end)
    if limit_ns is not None:
        usable = usable[ts_ns[usable] + purge_ns < limit_ns]
    n_valid = max(1, round(valid_fraction * len(usable)))
    valid = usable[len(usable) - n_valid:]
    train = usable[:len(usable) - n_valid]
    if len(valid):
        train = train[ts_ns[train] + purge_ns < ts_ns[valid[0]]]
    if len(train) == 0 or len(valid) == 0:
        raise SplitError(f"{what}: no {'training' if len(train) == 0 else 'validation'} rows "
                         f"left after the {purge_ns / 1e9:g} s purge ({end} history rows); "
                         f"use fewer folds or more data")
    return train, valid


def walk_forward(ts_ns: np.ndarray, folds: int, valid_fraction: float, purge_ns: int,
                 ) -> list[Fold]:
    """The walk-forward folds over ``ts_ns`` (sorted ascending)."""
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    if np.any(np.diff(ts_ns) < 0):
        raise SplitError("rows must be sorted by time")
    edges = np.linspace(0, len(ts_ns), folds + 2).round().astype(np.int64)
    out = []
    for k in range(1, folds + 1):
        start, stop = int(edges[k]), int(edges[k + 1])
        if stop <= start:
            raise SplitError(f"fold {k}: an empty test block ({len(ts_ns)} rows, "
                             f"{folds} folds)")
        train, valid = _history_split(ts_ns, start, valid_fraction, purge_ns,
                                      int(ts_ns[start]), f"fold {k}")
        out.append(Fold(k, train, valid, np.arange(start, stop)))
    return out


def final_split(ts_ns: np.ndarray, valid_fraction: float, purge_ns: int) -> Fold:
    """All rows for the shipped model: train on the history, stop early on its tail."""
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    train, valid = _history_split(ts_ns, len(ts_ns), valid_fraction, purge_ns, None,
                                  "final model")
    return Fold(0, train, valid, np.arange(0))
