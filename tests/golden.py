"""Golden replay results: the ``result`` section of report.json for five fixed runs.

The fixtures pin what the engine computes on the demo day (each built-in strategy; ml_ofi
with the demo model at P(up) 0.52 / 0.48) and on the GOOG level-10 day. A change to any of
them is a change of behaviour: regenerate with ``python tests/golden.py`` only in a commit
that says why.

The trades list is long, so a fixture keeps its count, its first and last trade and a
SHA-256 of the whole list (canonical JSON); everything else in ``result`` is kept as is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = HERE / "fixtures" / "golden"
DEMO_MODEL = HERE / "fixtures" / "demo_model"
GOOG = "lobster/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"

#: name -> (config file, strategy, data: "demo" or a shared file, strategy overrides)
CASES = {
    "demo_imbalance_momentum": ("replay_synth.toml", "imbalance_momentum", "demo", {}),
    "demo_imbalance_maker": ("replay_synth.toml", "imbalance_maker", "demo", {}),
    "demo_ml_ofi": ("replay_synth.toml", "ml_ofi", "demo", {"p_long": 0.52, "p_short": 0.48}),
    "goog_imbalance_momentum": ("replay_goog.toml", "imbalance_momentum", GOOG, {}),
    "goog_imbalance_maker": ("replay_goog.toml", "imbalance_maker", GOOG, {}),
}


def demo_day(out: Path) -> Path:
    """The demo day of ``make demo``: 200,000 messages, 10 levels, seed 7."""
    from replay.synth import SynthConfig
    from replay.synth import simulate
    from replay.synth import write_lobster

    if not any(out.glob("*_message_10.csv")):
        write_lobster(simulate(SynthConfig(events=200_000, levels=10, seed=7)), out)
    return out


def pinned(result: dict) -> dict:
    """``result`` with the trades list folded into a count, its ends and a digest."""
    out = dict(result)
    trades = out.pop("trades")
    blob = json.dumps(trades, sort_keys=True, separators=(",", ":")).encode()
    out["trades"] = {"count": len(trades), "first": trades[0] if trades else None,
                     "last": trades[-1] if trades else None,
                     "sha256": hashlib.sha256(blob).hexdigest()}
    return json.loads(json.dumps(out))  # tuples as lists, as the fixture reads back


def run_case(name: str, demo_dir: Path, data_root: Path) -> dict:
    from engine.config import load_config
    from engine.config import with_strategy
    from replay.backtest import run_replay

    config_file, strategy, data, overrides = CASES[name]
    config = with_strategy(load_config(ROOT / "configs" / config_file), strategy)
    if overrides:
        config = dataclasses.replace(
            config, strategy=dataclasses.replace(config.strategy, **overrides))
    if strategy == "ml_ofi":
        config = dataclasses.replace(config, model=dataclasses.replace(
            config.model, path=str(DEMO_MODEL)))
    path = demo_day(demo_dir) if data == "demo" else data_root / data
    result = pinned(run_replay(config, path).result)
    if result["config"]["model"]["path"]:  # where the checkout is does not matter
        result["config"]["model"]["path"] = "tests/fixtures/demo_model"
    return result


if __name__ == "__main__":  # regenerate every fixture (or the named ones)
    import tempfile

    sys.path.insert(0, str(ROOT))
    names = sys.argv[1:] or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        for case in names:
            result = run_case(case, Path(tmp), ROOT.parent / "shared" / "data")
            (FIXTURES / f"{case}.json").write_text(json.dumps(result, indent=1) + "\n")
            print(f"wrote {case}: {result['n_trades']} trades, net {result['pnl']['net']}")
