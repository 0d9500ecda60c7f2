"""``obflow live`` end to end: a simulator in one process, the live command in another,
SIGINT stops it with exit 0 and a summary, and its recording replays to the same result."""

import asyncio
import signal
import socket
import sys

import orjson

from engine.app.cli import main
from replay.sim_process import ROOT
from replay.sim_process import SimProcess

CONFIG = """
[venue]
name = "binance"
symbols = ["BTCUSDT"]
ws_url = "ws://127.0.0.1:{port}"
rest_url = "http://127.0.0.1:{port}"
book_ticker = true
audit_interval_s = 0.5
summary_interval_s = 0.5

[features]
vpin_bucket_lots = 10000000000000

[strategy]
lag_ms = 200
threshold = 0.05
hold_ms = 2000
order_lots = 100000

[risk]
max_position_lots = 300000
max_order_lots = 300000
"""


async def test_live_command_stops_on_sigint_and_its_recording_replays_identically(tmp_path):
    async with SimProcess("binance", [], speed="20") as sim:
        config = tmp_path / "live.toml"
        config.write_text(CONFIG.format(port=sim.port))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine.app.cli", "live", "--config", str(config), "--record",
            str(tmp_path / "rec.gz"), "--out", str(tmp_path / "live"), cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        lines = []
        while len(lines) < 8:  # status lines while trading
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, (await proc.stderr.read()).decode()
            lines.append(line.decode())
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    text = "".join(lines) + out.decode()
    assert "BTCUSDT synced" in text and "obflow live: stopped after" in text
    assert "== BTCUSDT ==" in text and "feed counters:" in text
    live = orjson.loads((tmp_path / "live" / "BTCUSDT" / "report.json").read_bytes())["result"]
    assert live["events"] > 1000 and live["decisions"] > 50
    counters = orjson.loads(text.split("feed counters: ")[1].splitlines()[0])
    assert counters["gaps"] == 0 and counters["quote_mismatches"] == 0
    assert counters["audits"] >= 1 and counters["audit_disagreements"] == 0

    assert main(["replay", "--config", str(config), "--data", str(tmp_path / "rec.gz"),
                 "--out", str(tmp_path / "replay")]) == 0
    replay = orjson.loads((tmp_path / "replay" / "report.json").read_bytes())["result"]
    for key in set(live) - {"sources", "feed"}:
        assert replay[key] == live[key], key
    assert replay["feed"]["counters"]["audits"] == counters["audits"]


def test_live_refuses_an_unknown_venue_before_connecting(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('[venue]\nname = "kraken"\nsymbols = ["XBTUSD"]\n')
    assert main(["live", "--config", str(config)]) == 2
    assert "venue.name: unknown venue 'kraken' (known: binance, coinbase)" in \
        capsys.readouterr().err


async def test_live_bad_config_errors_name_the_problem(tmp_path, capsys):
    """Unknown symbol, missing model, metrics port in use: exit 2 with a clear message."""
    base = CONFIG.replace('symbols = ["BTCUSDT"]', "symbols = [{symbols}]")
    async with SimProcess("binance", [], speed="20") as sim:
        async def run(symbols: str, extra: str = "") -> str:
            config = tmp_path / "live.toml"
            config.write_text(base.format(port=sim.port, symbols=symbols) + extra)
            code = await asyncio.to_thread(main, ["live", "--config", str(config),
                                                  "--out", str(tmp_path / "out")])
            assert code == 2
            return capsys.readouterr().err

        assert "binance does not list NOPEUSDT" in await run('"NOPEUSDT"')
        err = await run('"BTCUSDT"', f'\n[model]\npath = "{tmp_path / "no-model"}"\n')
        assert "no-model: no schema.json (not a model directory" in err
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            err = await run('"BTCUSDT"', f"\n[metrics]\nport = {port}\n")
        assert f"metrics.port: cannot serve metrics on 127.0.0.1:{port}" in err
        assert "in use" in err
