"""Replays with the compiled decision gate on and off, for tests that compare the two."""

from __future__ import annotations

import dataclasses

import orjson

from replay.backtest import run_replay


def both_ways(config, data):
    """``[(engine, report bytes)]`` with the gate on, then off; the report leaves out the
    config, which names the switch."""
    out = []
    for gate in (True, False):
        c = dataclasses.replace(config, replay=dataclasses.replace(config.replay,
                                                                   compiled_gate=gate))
        outcome = run_replay(c, data)
        result = dict(outcome.result)
        result.pop("config")
        out.append((outcome.engine, orjson.dumps(result, option=orjson.OPT_SORT_KEYS)))
    return out
