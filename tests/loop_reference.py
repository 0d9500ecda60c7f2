"""Replays with decisions in the compiled loop and all in Python, for tests comparing the two."""

from __future__ import annotations

import dataclasses

import orjson

from replay.backtest import run_replay


def both_ways(config, data):
    """``[(engine, report bytes)]`` in the compiled loop, then in Python; the report leaves out the
    config, which names the switch."""
    out = []
    for in_loop in (True, False):
        c = dataclasses.replace(config, replay=dataclasses.replace(config.replay,
                                                                   compiled_loop=in_loop))
        outcome = run_replay(c, data)
        result = dict(outcome.result)
        result.pop("config")
        out.append((outcome.engine, orjson.dumps(result, option=orjson.OPT_SORT_KEYS)))
    return out
