"""``obflow sweep latency|param``: the command line of ``replay/sweep.py``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from engine.config import load_config
    from engine.config import with_strategy
    from replay import sweep_report
    from replay.sweep import latency_points
    from replay.sweep import param_points
    from replay.sweep import sweep

    config = load_config(args.config)
    if args.strategy:
        config = with_strategy(config, args.strategy)
    if args.kind == "latency":
        points = latency_points(args.latencies)
        x_name = "execution.order_latency_us"
    else:
        points = param_points(args.param)
        x_name = None
    workers = 0 if args.serial else (args.workers or os.cpu_count() or 1)
    if args.bench:
        return _bench(config, args, points)
    result = sweep(config, args.data, points, workers=workers, address=args.address,
                   progress=not args.quiet)
    print(sweep_report.table(result["result"]))
    path = sweep_report.write(args.out, result, x_name=x_name)
    print(f"wrote {path} and {args.out / 'sweep.png'} in {result['timing']['wall_s']} s")
    return 1 if result["result"]["failures"] else 0


def _bench(config, args: argparse.Namespace, points: list[dict]) -> int:
    """Wall time of the same grid with 1 and 2 local Ray workers (and serially)."""
    import orjson

    from replay.sweep import sweep

    rows = {}
    for label, workers in (("serial", 0), ("ray_1_worker", 1), ("ray_2_workers", 2)):
        rows[label] = sweep(config, args.data, points, workers=workers,
                            progress=False)["timing"]["wall_s"]
        print(f"{label:<16}{rows[label]:>8.2f} s")
    rows["speedup_2_vs_1"] = round(rows["ray_1_worker"] / rows["ray_2_workers"], 3)
    print(f"2 workers vs 1: {rows['speedup_2_vs_1']:.2f}x")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sweep_bench.json").write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    return 0


def add_sweep_parser(sub) -> None:
    p = sub.add_parser("sweep", help="latency and parameter sweeps, on Ray")
    kinds = p.add_subparsers(dest="kind", required=True)
    for kind, help_text in (("latency", "replay at each injected order and feed latency"),
                            ("param", "replay a grid of config parameters")):
        q = kinds.add_parser(kind, help=help_text)
        q.add_argument("--config", required=True, type=Path)
        q.add_argument("--data", required=True, nargs="+", type=Path,
                       help="LOBSTER message files or folders of pairs (one task per file)")
        if kind == "latency":
            q.add_argument("--latencies", default="0,1ms,5ms,10ms,50ms,100ms",
                           help="order-entry and market-data latency values")
        else:
            q.add_argument("--param", required=True, action="append",
                           help="SECTION.FIELD=V1,V2,... (repeat for a grid), e.g. "
                                "strategy.kappa=0.2,0.4")
        q.add_argument("--strategy", help="strategy to run (default: the config's)")
        q.add_argument("--out", type=Path, default=Path(f"build/sweep-{kind}"))
        q.add_argument("--workers", type=int, help="local Ray workers (default: all cores)")
        q.add_argument("--address", help="join this Ray cluster instead of starting one")
        q.add_argument("--serial", action="store_true", help="no Ray: run in this process")
        q.add_argument("--bench", action="store_true",
                       help="time the grid serially and with 1 and 2 Ray workers")
        q.add_argument("--quiet", action="store_true", help="no progress bar")
        q.set_defaults(func=_run)
