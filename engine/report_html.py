"""The replay report as a self-contained HTML page: summary tables and four plots.

Plots: net PnL with drawdown, inventory, limit quotes against the mid, and fills on the
price. Images are PNGs embedded as data URIs, so the page is one file.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from engine.orders import OrderKind


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _hours(ts: np.ndarray, offset_ns: int) -> np.ndarray:
    return ((ts + offset_ns) % 86_400_000_000_000) / 3.6e12


def plots(engine) -> dict[str, str]:
    """Base64 PNGs keyed by title."""
    money = float(engine.instrument.tick_size * engine.instrument.lot_size)
    tick = float(engine.instrument.tick_size)
    off = engine.utc_offset_ns
    marks = engine.marks
    out: dict[str, str] = {}
    if not len(marks):
        return out
    ts = marks.ts_ns
    t = _hours(ts, off)
    net = marks.equity2 / 2 * money - marks.fees
    mid = marks.mid2 / 2 * tick
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 5), sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1]})
    a1.plot(t, net, linewidth=0.8)
    a1.set_ylabel("net PnL")
    a2.fill_between(t, net - np.maximum.accumulate(net), color="tab:red", linewidth=0)
    a2.set_ylabel("drawdown")
    a2.set_xlabel("hour (exchange time)")
    out["Net PnL and drawdown"] = _png(fig)
    fig, ax = plt.subplots(figsize=(10, 2.5))
    ax.step(t, marks.position, where="post", linewidth=0.8)
    ax.set_ylabel("position (lots)")
    ax.set_xlabel("hour (exchange time)")
    out["Inventory"] = _png(fig)
    quotes = [(ts_, i) for ts_, i in engine.intents if i.kind is OrderKind.LIMIT]
    if quotes:
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.plot(t, mid, color="black", linewidth=0.6, label="mid")
        for side, color, label in ((1, "tab:green", "bid quotes"), (-1, "tab:red", "ask quotes")):
            q = [(x, i.limit_px * tick) for x, i in quotes if i.side == side]
            if q:
                qt = _hours(np.array([x for x, _ in q], dtype=np.int64), off)
                ax.scatter(qt, [p for _, p in q], s=2, color=color, label=label)
        ax.legend(markerscale=4)
        ax.set_xlabel("hour (exchange time)")
        out["Quotes against the mid"] = _png(fig)
    fills = engine.fill_log
    if fills:
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.plot(t, mid, color="black", linewidth=0.6, label="mid")
        for side, color, label in ((1, "tab:green", "buys"), (-1, "tab:red", "sells")):
            f = [x for x in fills if x.side == side]
            if f:
                ft = _hours(np.array([x.ts_ns for x in f], dtype=np.int64), off)
                ax.scatter(ft, [x.px_ticks * tick for x in f], s=6, color=color, label=label)
        ax.legend(markerscale=2)
        ax.set_xlabel("hour (exchange time)")
        out["Fills on the price"] = _png(fig)
    return out


def _table(rows: list[tuple[str, object]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in rows)
    return f"<table>{cells}</table>"


def write_html(path: str | Path, result: dict, timing: dict, engine) -> Path:
    pnl, sharpe = result["pnl"], result["sharpe"]
    summary = _table([
        ("strategy", result["strategy"]), ("sources", ", ".join(result["sources"])),
        ("events", f"{result['events']:,}"), ("trades", result["n_trades"]),
        ("gross PnL", pnl["gross"]), ("fees", pnl["fees"]), ("net PnL", pnl["net"]),
        ("Sharpe gross / net", f"{sharpe['gross']} / {sharpe['net']}"),
        ("Sharpe method", sharpe["method"]), ("max drawdown", result["max_drawdown"]),
        ("win rate", result["win_rate"]), ("fill rate", result["fill_rate"]),
        ("average holding (s)", result["avg_holding_s"]),
        ("slippage vs expected", pnl["slippage_vs_expected"]),
        ("slippage vs mid", pnl["slippage_vs_mid"]), ("PnL at mid", pnl["at_mid"]),
        ("losing days", f"{result['losing_days']} of {len(result['days'])}"),
        ("risk rejections", result["risk_rejections"] or "none"),
        ("assumption", result["assumptions"]),
    ])
    stages = _table([(name, f"p50 {s['p50_ns']:,} ns, p99 {s['p99_ns']:,} ns, max "
                            f"{s['max_ns']:,} ns ({s['count']:,})")
                     for name, s in timing["stages"].items()])
    images = "".join(f"<h2>{html.escape(title)}</h2><img src='data:image/png;base64,{data}'>"
                     for title, data in plots(engine).items())
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>obflow replay: {html.escape(result['strategy'])}</title>
<style>body{{font-family:sans-serif;max-width:1050px;margin:2em auto}}
th{{text-align:left;padding-right:1em}}img{{max-width:100%}}</style></head><body>
<h1>obflow replay: {html.escape(result['strategy'])}</h1>{summary}
<h2>Stage latency</h2>{stages}{images}</body></html>"""
    path = Path(path)
    path.write_text(page)
    return path
