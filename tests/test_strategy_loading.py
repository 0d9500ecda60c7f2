"""Strategies by name, import path and file path; errors that name what failed and where."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.config import load_config
from engine.config import parse_config
from engine.config import with_strategy
from engine.errors import ConfigError
from engine.strategy_loader import strategy_class
from replay.backtest import run_replay

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "strategies" / "microprice_momentum.py"
SYNTH_CONFIG = ROOT / "configs" / "replay_synth.toml"

BUY_ONCE = '''
from engine.orders import OrderIntent


class BuyOnce:
    """Python contract: buys 5 lots at the first decision with a book."""

    name = "buy_once"

    def __init__(self):
        self.done = False

    def on_decision(self, view):
        if self.done or view.best_ask_tick is None:
            return []
        self.done = True
        return [OrderIntent(1, 5, "entry")]
'''


@pytest.fixture()
def buy_once(tmp_path: Path) -> Path:
    path = tmp_path / "my_strategy.py"
    path.write_text(BUY_ONCE)
    return path


def test_built_ins_load_by_their_registered_names():
    for name in ("imbalance_momentum", "imbalance_maker", "ml_ofi"):
        assert strategy_class(name).name == name


def test_a_python_strategy_loads_by_file_path_and_trades(buy_once, synth_dir):
    config = parse_config({"strategy": {"path": f"{buy_once}:BuyOnce"}})
    outcome = run_replay(config, synth_dir)
    result = outcome.result
    assert result["strategy"] == "buy_once"
    (trade,) = result["trades"]  # one entry, closed by risk (holding limit)
    assert (trade["side"], trade["qty_lots"], trade["exit_reason"]) == (
        "long", 5, "exit:max_holding")


def test_a_file_with_one_strategy_needs_no_class_name(buy_once):
    assert strategy_class(str(buy_once)).__name__ == "BuyOnce"


def test_an_import_path_loads_from_the_python_path(buy_once, monkeypatch):
    monkeypatch.syspath_prepend(str(buy_once.parent))
    assert strategy_class("my_strategy:BuyOnce").__name__ == "BuyOnce"
    assert strategy_class("my_strategy.BuyOnce").__name__ == "BuyOnce"


@pytest.mark.parametrize(("table", "key", "message"), [
    ({"name": "no_such"}, "strategy.name", "unknown strategy 'no_such' (registered: "),
    ({"path": "no_such_module:X"}, "strategy.path", "no module named 'no_such_module'"),
    ({"path": "missing/file.py:X"}, "strategy.path", "no such strategy file"),
    ({"path": "engine.orders:Nothing"}, "strategy.path", "has no 'Nothing'"),
    ({"path": "engine.orders:OrderIntent"}, "strategy.path", "is not a strategy"),
    ({"name": "imbalance_momentum", "lag_msec": 5}, "strategy.lag_msec", "unknown key"),
    ({"name": "imbalance_momentum", "lag_ms": "5"}, "strategy.lag_ms", "expected int"),
    ({"name": "imbalance_maker", "imbalance_maker": {"kappa": -1.0}}, "strategy.imbalance_maker",
     "kappa must be non-negative, got -1.0"),
    ({"name": "x", "path": "y.py"}, "strategy", "not both"),
])
def test_bad_strategy_configs_name_the_key_and_what_failed(table, key, message):
    with pytest.raises(ConfigError) as err:
        parse_config({"strategy": table})
    assert err.value.field == key
    assert message in str(err.value)


def test_a_python_strategy_with_parameters_but_no_config_class_is_refused(buy_once):
    with pytest.raises(ConfigError, match="takes no parameters"):
        parse_config({"strategy": {"path": f"{buy_once}:BuyOnce", "size": 3}})


def test_the_example_runs_by_path_in_the_compiled_loop_with_the_same_result_as_from_python(
        synth_dir):
    from loop_reference import both_ways

    config = with_strategy(load_config(SYNTH_CONFIG), f"{EXAMPLE}:MicropriceMomentum")
    (looped, with_loop), (plain, without) = both_ways(config, synth_dir)
    assert with_loop == without
    assert looped.strategy.name == "microprice_momentum"
    assert looped.portfolio.fills > 0
    assert looped.latency.summary()["features"]["count"] < plain.decisions / 5


def test_a_second_process_compiles_nothing_new(tmp_path, synth_dir):
    """numba's disk cache serves the built-in and the file-path strategy's kernels."""
    script = textwrap.dedent(f"""
        from engine.config import load_config, with_strategy
        from replay.backtest import run_replay
        for spec in ("imbalance_maker", {str(EXAMPLE) + ':MicropriceMomentum'!r}):
            config = with_strategy(load_config({str(SYNTH_CONFIG)!r}), spec)
            run_replay(config, {str(synth_dir)!r})
    """)
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}

    def cache_files() -> dict:
        return {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*.nb[ic]")}

    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    first = cache_files()
    assert any("microprice_momentum" in p.name for p in first)
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    assert cache_files() == first
