"""The ``obflow`` command line."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from engine.errors import ObflowError


def _cmd_synth(args: argparse.Namespace) -> int:

    from replay.synth import SynthConfig
    from replay.synth import business_days
    from replay.synth import simulate
    from replay.synth import write_lobster

    for k, date in enumerate(business_days(args.days)):
        config = SynthConfig(events=args.events, levels=args.levels, seed=args.seed + k)
        if args.format == "algoseek":
            from replay.synth_algoseek import write_algoseek

            day = simulate(config, order_log=True)
            print(f"wrote {write_algoseek(day, args.out, date=date)}")
            continue
        message, orderbook = write_lobster(simulate(config), args.out, date=date)
        print(f"wrote {message}\nwrote {orderbook}")
    return 0


def _cmd_check_book(args: argparse.Namespace) -> int:
    from connectors.lobster import LobsterPair
    from connectors.lobster import load_day
    from engine.instrument import lobster_instrument
    from replay.check_book import check_day

    pair = LobsterPair.from_files(args.message, args.orderbook)
    instrument = lobster_instrument(pair.ticker, args.tick_size)
    result = check_day(load_day(pair, instrument), instrument.raw_units_per_tick)
    if args.json:
        print(orjson.dumps(result.as_dict()).decode())
    else:
        verdict = "OK" if not (result.mismatches or result.message_mismatches) else "MISMATCH"
        print(f"{verdict}: {result.events:,} events, {result.mismatches} orderbook rows and "
              f"{result.message_mismatches} messages disagree"
              + (f" (first at line {result.first_mismatch_line})"
                 if result.first_mismatch_line else "")
              + f"; {result.events_per_s:,.0f} events/s")
    return 0 if not (result.mismatches or result.message_mismatches) else 1


def _cmd_replay(args: argparse.Namespace) -> int:
    from engine.config import load_config
    from engine.report import summary_text
    from replay.backtest import run_replay

    config = load_config(args.config)
    if args.strategy:
        from engine.config import with_strategy

        config = with_strategy(config, args.strategy)
    out = args.out or config.report.out
    data = args.data[0] if args.data and len(args.data) == 1 else args.data
    outcome = run_replay(config, data, out, symbol=args.symbol)
    print(summary_text(outcome.result, outcome.timing, outcome.engine))
    print(f"report: {outcome.report_path}")
    return 0


def _cmd_live(args: argparse.Namespace) -> int:
    import asyncio

    from engine.app.live_cli import live_main
    from engine.config import load_config

    config = load_config(args.config)
    if args.strategy:
        from engine.config import with_strategy

        config = with_strategy(config, args.strategy)
    if args.metrics_port is not None:
        from engine.config import MetricsConfig

        config = dataclasses.replace(config, metrics=MetricsConfig(args.metrics_port,
                                                                   config.metrics.addr))
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.run(live_main(config, args.record, args.duration, args.out))
    return uvloop.run(live_main(config, args.record, args.duration, args.out))


def _cmd_venue_sim(args: argparse.Namespace) -> int:
    import asyncio

    from replay.venue_sim import parse_faults
    from replay.venue_sim import serve_forever
    from replay.venue_sim import simulator_for
    from replay.venue_sim import tls_setup

    # --cert/--key alone mean TLS too; --tls alone makes a self-signed certificate.
    tls = tls_setup(args.cert, args.key) if args.tls or args.cert or args.key else None
    faults = parse_faults(drop=args.drop, duplicate=args.duplicate, reorder=args.reorder,
                          disconnect=args.disconnect, stall=args.stall,
                          stale_snapshot=args.stale_snapshot, malformed=args.malformed)

    async def run() -> None:
        sim = simulator_for(args.venue, [str(d) for d in args.data or []], port=args.port,
                            speed=args.speed, faults=faults,
                            symbols=[args.symbol] if args.symbol else None, tls=tls)
        await serve_forever(sim)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a user stops it
        asyncio.run(run())
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from engine.config import EngineConfig
    from engine.config import load_config
    from replay.event_parquet import write_events
    from replay.historical import open_historical

    config = load_config(args.config) if args.config else EngineConfig()
    data = open_historical(args.data, config, symbol=args.symbol)
    path, events = write_events(args.out, data.sessions, instrument=data.instrument,
                                sources=data.sources, origin=data.format, info=data.info)
    print(f"wrote {events:,} events of {data.instrument.symbol} ({data.format}, tick "
          f"{data.instrument.tick_size}, lot {data.instrument.lot_size}) to {path}")
    return 0


def _cmd_book(args: argparse.Namespace) -> int:
    from engine.config import load_config
    from replay.book_view import book_at
    from replay.book_view import parse_time

    venue = load_config(args.config).venue if args.config else None
    view = book_at(args.data, symbol=args.symbol, at_ns=parse_time(args.at),
                   levels=args.levels, venue=venue)
    print(orjson.dumps(view.as_dict()).decode() if args.json else view.text())
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    from engine.features import FeatureSchema
    from engine.features import describe

    if args.list:
        schema = FeatureSchema()
        if args.json:
            print(orjson.dumps({"schema_hash": schema.hash, "schema": schema.as_dict(),
                                "features": describe()}).decode())
        else:
            for f in describe():
                print(f"{f['index']:>3}  {f['name']:<28}{f['description']}")
            print(f"{len(schema.names)} features, schema {schema.hash}")
        return 0
    if not (args.data and args.out):
        raise ObflowError("features: give --list, or --data and --out")
    from engine.app.feature_matrix import write_feature_matrix

    path, rows = write_feature_matrix(args.data, args.out, sample=args.sample,
                                      config_path=args.config, progress=not args.quiet)
    print(f"wrote {rows:,} rows to {path}")
    return 0


def _cmd_ic(args: argparse.Namespace) -> int:
    from engine.research.ic import run_ic
    from engine.research.ic import table

    horizons = [h.strip() for h in args.horizons.split(",") if h.strip()]
    result = run_ic(args.features, horizons, args.out)
    print(table(result))
    print(f"wrote {args.out / 'ic.json'} and {args.out / 'ic.png'}")
    return 0


def _cmd_ofi_regression(args: argparse.Namespace) -> int:
    from engine.app.ofi_regression import run_ofi_regression
    from engine.app.ofi_regression import table
    from engine.config import EngineConfig
    from engine.config import load_config
    from engine.features.sampling import parse_duration_ms

    config = load_config(args.config) if args.config else EngineConfig()
    result = run_ofi_regression(args.data, config, parse_duration_ms(args.interval), args.out)
    print(table(result))
    print(f"wrote {args.out / 'ofi_regression.json'} and {args.out / 'ofi_regression.png'}")
    return 0


def _cmd_latency(args: argparse.Namespace) -> int:
    from engine.metrics import latency_table
    from engine.metrics import scrape_latency

    try:
        rows = scrape_latency(args.url)
    except OSError as exc:
        raise ObflowError(f"cannot read {args.url}: {exc}") from None
    print(latency_table(rows))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from engine.model.training import run_train

    run_train(args.features, args.out, args.config)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from engine.app.bench import SECTIONS
    from engine.app.bench import run_bench

    only = tuple(x.strip() for x in args.only.split(",")) if args.only else SECTIONS
    unknown = set(only) - set(SECTIONS)
    if unknown:
        raise ObflowError(f"--only: unknown {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(SECTIONS)})")
    run_bench(events=args.events, json_path=args.json, only=only)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="obflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write a synthetic LOBSTER message/orderbook pair")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--events", type=int, default=200_000, help="message rows (default 200000)")
    p.add_argument("--levels", type=int, default=10, help="book levels per side (default 10)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--days", type=int, default=1,
                   help="write this many business days from 2024-01-02, seeds S, S+1, ...")
    p.add_argument("--format", choices=["lobster", "algoseek"], default="lobster",
                   help="LOBSTER message/orderbook pairs (default), or the same order flow as "
                        "an Algoseek Full Depth (market-by-order) file")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("check-book", help="rebuild a LOBSTER book and compare every row")
    p.add_argument("--message", required=True, type=Path)
    p.add_argument("--orderbook", required=True, type=Path)
    p.add_argument("--tick-size", default="0.0001",
                   help="price grid in USD (default 0.0001, LOBSTER's own unit)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_check_book)

    p = sub.add_parser("replay", help="replay data through the full pipeline")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--data", type=Path, nargs="+",
                   help="LOBSTER message file or folder of pairs, Tardis.dev or Algoseek CSV "
                        "files, an obflow event Parquet file, an obflow recording, or capture "
                        "files (hftbacktest, cryptofeed), read in the order given")
    p.add_argument("--symbol", help="the symbol to trade in a multi-symbol recording")
    p.add_argument("--strategy", help="run this strategy instead of the config's: a "
                                      "registered name, pkg.module:Class or file.py:Class "
                                      "(its [strategy.NAME] table, or its defaults)")
    p.add_argument("--out", type=Path, help="report folder (default: report.out in config)")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("live", help="paper trade a live venue feed (Ctrl-C stops)")
    p.add_argument("--config", required=True, type=Path, help="config with a [venue] section")
    p.add_argument("--record", type=Path, help="write every raw frame to this .gz recording")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--out", type=Path, help="report folder, one report.json per symbol "
                                            "(default: report.out in config)")
    p.add_argument("--metrics-port", type=int,
                   help="serve Prometheus metrics on this port (default: metrics.port)")
    p.add_argument("--strategy", help="run this strategy instead of the config's: a "
                                      "registered name, pkg.module:Class or file.py:Class")
    p.set_defaults(func=_cmd_live)

    p = sub.add_parser("venue-sim", help="serve a recording as a local Binance/Coinbase")
    p.add_argument("--venue", required=True, choices=["binance", "coinbase"])
    p.add_argument("--data", type=Path, nargs="*",
                   help="recording or capture files (none: synthetic flow)")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="playback speed, 1 = as recorded, 0 = as fast as possible")
    p.add_argument("--symbol", help="symbol of the synthetic flow")
    p.add_argument("--tls", action="store_true",
                   help="serve wss:// and https:// with a self-signed certificate for 127.0.0.1 "
                        "and localhost (its path is printed: give it to clients as the CA)")
    p.add_argument("--cert", type=Path, help="TLS certificate (PEM) to serve with, with --key")
    p.add_argument("--key", type=Path, help="private key (PEM) of --cert")
    for fault, what in (("drop", "drop these book frames (a gap)"),
                        ("duplicate", "send these book frames twice"),
                        ("reorder", "swap these book frames with the next one"),
                        ("disconnect", "close every connection after these frames"),
                        ("stall", "pause before these frames, FRAME:SECONDS"),
                        ("stale-snapshot", "answer the next depth snapshot request of these "
                                           "frames' symbols with the book from before them"),
                        ("malformed", "send a garbage frame before these frames")):
        p.add_argument(f"--{fault}", default="", help=f"{what} (comma-separated numbers)")
    p.set_defaults(func=_cmd_venue_sim)

    p = sub.add_parser("convert", help="write historical data as normalised events (Parquet)")
    p.add_argument("--data", required=True, type=Path, nargs="+",
                   help="a LOBSTER file or folder, Tardis.dev or Algoseek CSV files")
    p.add_argument("--out", required=True, type=Path, help="Parquet file to write")
    p.add_argument("--symbol", help="the symbol (Tardis) or book (Algoseek: TICKER for the "
                                    "consolidated book, TICKER@EXCHANGE for one venue)")
    p.add_argument("--config", type=Path,
                   help="config whose [instrument] (LOBSTER) or [venue.instruments] (others) "
                        "gives tick and lot sizes; default: inferred from the data")
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("book", help="print the book at a moment of any data obflow reads")
    p.add_argument("--data", required=True, type=Path, nargs="+")
    p.add_argument("--symbol", help="the symbol, in a multi-symbol file")
    p.add_argument("--at", help="a time (ISO-8601 or epoch ns); default: the end of the data")
    p.add_argument("--levels", type=int, default=10)
    p.add_argument("--config", type=Path, help="config whose [venue] gives tick and lot sizes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_book)

    p = sub.add_parser("features", help="list features, or write a feature matrix")
    p.add_argument("--list", action="store_true", help="list the registered features")
    p.add_argument("--json", action="store_true", help="with --list: print JSON")
    p.add_argument("--data", type=Path, nargs="+", help="historical data to compute features on")
    p.add_argument("--out", type=Path, help="Parquet file to write")
    p.add_argument("--sample", default="1s",
                   help="when to take a row: a time (1s, 100ms, 1min), every-event, or Nev "
                        "(every N messages); default 1s")
    p.add_argument("--config", type=Path, help="engine config (instrument, features)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_features)

    p = sub.add_parser("ic", help="information coefficients of a feature matrix")
    p.add_argument("--features", required=True, type=Path, help="Parquet from obflow features")
    p.add_argument("--horizons", default="1s,10s,1min,5min", help="forward return horizons")
    p.add_argument("--out", type=Path, default=Path("build/ic"), help="output folder")
    p.set_defaults(func=_cmd_ic)

    p = sub.add_parser("research", help="research studies on the engine's features")
    studies = p.add_subparsers(dest="study", required=True)
    q = studies.add_parser("ofi-regression",
                           help="Cont-Kukanov-Stoikov price change on OFI, per half hour")
    q.add_argument("--data", required=True, type=Path, nargs="+")
    q.add_argument("--interval", default="10s", help="interval length (default 10s)")
    q.add_argument("--config", type=Path, help="engine config (instrument)")
    q.add_argument("--out", type=Path, default=Path("build/ofi-regression"))
    q.set_defaults(func=_cmd_ofi_regression)

    from replay.sweep_cli import add_sweep_parser

    add_sweep_parser(sub)

    p = sub.add_parser("latency", help="stage latency table from a running engine's metrics")
    p.add_argument("--url", required=True, help="e.g. http://127.0.0.1:9108/metrics")
    p.set_defaults(func=_cmd_latency)

    p = sub.add_parser("train", help="train the LightGBM direction and return models")
    p.add_argument("--features", required=True, type=Path, help="Parquet from obflow features")
    p.add_argument("--out", required=True, type=Path, help="model directory to write")
    p.add_argument("--config", type=Path,
                   help="training config: [labels], [features], [validation], [lightgbm]")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("bench", help="throughput and stage latency benchmarks")
    p.add_argument("--events", type=int, default=1_000_000, help="synthetic events")
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    p.add_argument("--only", help="comma-separated sections: core (book, features, "
                                  "pipeline), predictor, connectors, live (default: all)")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: exit 0, 1 (check-book mismatches), 2 with one error line naming the
    file (and line) for bad input, or 141 when the reader of stdout went away."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ObflowError as exc:
        print(f"obflow {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # ``obflow replay ... | head``: the reader closed the pipe. Point stdout at devnull so
        # that the flush at exit does not raise again, and end as a shell does on SIGPIPE.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        # An input path that cannot be opened, from code that opens files directly.
        why = "no such file" if isinstance(exc, FileNotFoundError) else "cannot be opened"
        message = f"{exc.filename}: {exc.strerror or why}" if exc.filename is not None \
            else f"{exc}: {why}"  # pyarrow and others put only the path in the message
        print(f"obflow {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
