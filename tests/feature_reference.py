"""Batch reference for every streaming feature, from a LOBSTER message and orderbook pair.

Written independently of engine/features: plain numpy over the orderbook rows (the book
after each message) and the message file, evaluated at given decision times.
"""

from __future__ import annotations

import math

import numpy as np

EMPTY = 9_999_999_999
WINDOWS = {"1s": 1_000_000_000, "10s": 10_000_000_000, "1m": 60_000_000_000,
           "5m": 300_000_000_000}
DAY = 86_400_000_000_000


def reference_features(msgs, ob, upt, session_ns, utc_offset_ns, decision_ts, *,
                       tick, vpin_bucket, slope_lots, large_mult, weights):
    """Returns {feature name: array over decision_ts}."""
    n, width = ob.shape
    levels = width // 4
    t = msgs[:, 0] + session_ns
    typ = msgs[:, 1]
    apx = ob[:, 0::4].astype(float)
    aq = ob[:, 1::4].astype(float)
    bpx = ob[:, 2::4].astype(float)
    bq = ob[:, 3::4].astype(float)
    apx = np.where(apx == EMPTY, np.inf, apx / upt)
    bpx = np.where(bpx == -EMPTY, -np.inf, bpx / upt)
    both = (aq[:, 0] > 0) & (bq[:, 0] > 0)
    mid2 = np.where(both, apx[:, 0] + bpx[:, 0], np.nan)

    changed = np.ones(n, dtype=bool)
    changed[1:] = (ob[1:] != ob[:-1]).any(axis=1)
    emitted = changed | np.isin(typ, (4, 5, 6, 7))

    # Multi-level OFI between consecutive rows.
    ofi = np.zeros((n, 5))
    for m in range(min(5, levels)):
        pb, qb, pa, qa = bpx[:, m], bq[:, m], apx[:, m], aq[:, m]
        e = ((pb[1:] >= pb[:-1]) * qb[1:] - (pb[1:] <= pb[:-1]) * qb[:-1]
             - (pa[1:] <= pa[:-1]) * qa[1:] + (pa[1:] >= pa[:-1]) * qa[:-1])
        ofi[1:, m] = e

    # Trades, classified against the previous row's quotes, then the tick rule.
    buy = np.zeros(n)
    sell = np.zeros(n)
    trades = np.zeros(n)
    large = np.zeros(n)
    pxvol = np.zeros(n)
    vol = np.zeros(n)
    last_px, last_cls = math.nan, 0.0
    res = []  # (t, side, depth)
    cls_list = []  # (k, cls, size)
    emitted_idx = np.flatnonzero(emitted)
    trade_rows = np.flatnonzero(np.isin(typ, (4, 5, 6)))
    trade_t = t[trade_rows]
    csize = np.concatenate([[0.0], np.cumsum(msgs[trade_rows, 3].astype(float))])
    for pos, k in enumerate(trade_rows):
        px = msgs[k, 4] / upt
        size = float(msgs[k, 3])
        if k == 0:
            ask, bid = np.inf, -np.inf
        else:
            ask = apx[k - 1, 0] if aq[k - 1, 0] > 0 else np.inf
            bid = bpx[k - 1, 0] if bq[k - 1, 0] > 0 else -np.inf
        if px >= ask:
            cls = 1.0
        elif px <= bid:
            cls = -1.0
        elif not math.isnan(last_px):
            cls = 1.0 if px > last_px else (-1.0 if px < last_px else last_cls)
        else:
            cls = 0.0
        # Large against the 5-minute average of earlier messages.
        first = np.searchsorted(trade_t, t[k] - WINDOWS["5m"], side="right")
        if pos > first:
            avg = (csize[pos] - csize[first]) / (pos - first)
            if size > large_mult * avg:
                large[k] += 1
                if cls != 0:
                    hit = -1 if cls > 0 else 1
                    depth = (bq if hit == 1 else aq)[k - 1, :5].sum()
                    res.append((t[k], hit, depth))
        if cls > 0:
            buy[k] += size
        elif cls < 0:
            sell[k] += size
        trades[k] += 1
        vol[k] += size
        pxvol[k] += px * size
        last_px, last_cls = px, cls
        if cls != 0:
            cls_list.append((k, cls, size))

    dmid = np.zeros(n)
    dmid[1:] = np.where(np.isnan(mid2[1:]) | np.isnan(mid2[:-1]), 0.0, mid2[1:] - mid2[:-1])
    spread = np.where(both, apx[:, 0] - bpx[:, 0], 0.0)
    q = buy - sell
    channels = {
        "ofi": ofi, "buy": buy, "sell": sell, "trades": trades, "large": large,
        "pxvol": pxvol, "vol": vol, "q": q, "q2": q * q, "dmid": dmid, "qdmid": q * dmid,
        "msgs": np.ones(n), "spread": spread, "spread2": spread * spread,
        "spreadn": both.astype(float), "dmid2": dmid * dmid,
    }
    cum = {}
    for name, values in channels.items():
        values = np.where(emitted[:, None] if values.ndim == 2 else emitted, values, 0.0)
        cum[name] = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, 0)])
    t_em = t[emitted_idx]

    # VPIN buckets, completed in trade order.
    bucket_done_at = []  # (row, imbalance)
    b_buy = b_sell = 0.0
    for k, cls, size in cls_list:
        left = size
        while left > 0:
            take = min(left, vpin_bucket - b_buy - b_sell)
            if cls > 0:
                b_buy += take
            else:
                b_sell += take
            left -= take
            if b_buy + b_sell >= vpin_bucket:
                bucket_done_at.append((k, abs(b_buy - b_sell)))
                b_buy = b_sell = 0.0
    bucket_rows = np.array([b[0] for b in bucket_done_at], dtype=np.int64)
    bucket_imb = np.array([b[1] for b in bucket_done_at])

    out = {}
    T = np.asarray(decision_ts, dtype=np.int64)
    cur = np.searchsorted(t_em, T, side="right")  # entries (after the zero entry) so far
    row = emitted_idx[cur - 1]

    def wsum(name, w):
        base = np.searchsorted(t_em, T - WINDOWS[w], side="right")
        return cum[name][cur] - cum[name][base]

    def ratio(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)

    for w in WINDOWS:
        s = wsum("ofi", w)
        for m in range(5):
            out[f"ofi_l{m + 1}_{w}"] = s[:, m]
        out[f"ofi_integrated_{w}"] = s @ np.array(weights) / np.sum(weights)
    b1, a1 = bq[row, 0], aq[row, 0]
    b5, a5 = bq[row, :5].sum(1), aq[row, :5].sum(1)
    b10, a10 = bq[row, :10].sum(1), aq[row, :10].sum(1)
    wts = 1.0 / np.arange(1, levels + 1)
    wb, wa = (bq[row] * wts).sum(1), (aq[row] * wts).sum(1)
    ok = both[row]
    out["depth_imbalance_l1"] = ratio(b1 - a1, b1 + a1)
    out["depth_imbalance_l5"] = ratio(b5 - a5, b5 + a5)
    out["depth_imbalance_l10"] = ratio(b10 - a10, b10 + a10)
    out["volume_imbalance_weighted"] = ratio(wb - wa, wb + wa)
    out["inventory_imbalance"] = np.where(ok, -(b1 - a1) / (b1 + a1 + 1e-9), np.nan)
    m2 = mid2[row]
    mid = m2 / 2
    pb, pa = bpx[row, 0], apx[row, 0]
    out["spread_bps"] = np.where(ok, (pa - pb) / mid * 1e4, np.nan)
    nsp = wsum("spreadn", "1m")
    mean = ratio(wsum("spread", "1m"), nsp)
    var = ratio(wsum("spread2", "1m"), nsp) - mean * mean
    with np.errstate(invalid="ignore", divide="ignore"):
        out["spread_zscore_1m"] = np.where(ok & (var > 0), (pa - pb - mean) / np.sqrt(var),
                                           np.nan)
    out["total_depth_l10"] = b10 + a10
    with np.errstate(divide="ignore"):
        out["depth_ratio_l5"] = np.where((b5 > 0) & (a5 > 0), np.log(b5 / a5), np.nan)
    micro = (pb * a1 + pa * b1) / (a1 + b1)
    out["microprice"] = np.where(ok, micro * tick, np.nan)
    out["microprice_distance_bps"] = np.where(ok, (micro - mid) / mid * 1e4, np.nan)

    def walk(px, qty):
        left = np.full(len(row), float(slope_lots))
        cost = np.zeros(len(row))
        got = np.zeros(len(row))
        for j in range(levels):
            take = np.minimum(left, qty[row, j])
            cost += take * np.where(qty[row, j] > 0, px[row, j], 0)
            got += take
            left -= take
        return ratio(cost, got)

    out["book_slope_bid_bps"] = np.where(ok, (mid - walk(bpx, bq)) / mid * 1e4, np.nan)
    out["book_slope_ask_bps"] = np.where(ok, (walk(apx, aq) - mid) / mid * 1e4, np.nan)
    res_t = np.array([r[0] for r in res], dtype=np.int64)
    k_res = np.searchsorted(res_t, T, side="right") - 1
    ratio_out = np.full(len(T), np.nan)
    since = np.full(len(T), np.nan)
    for i, kr in enumerate(k_res):
        if kr >= 0 and res[kr][2] > 0:
            side = res[kr][1]
            now_depth = (bq if side == 1 else aq)[row[i], :5].sum()
            ratio_out[i] = now_depth / res[kr][2]
            since[i] = (T[i] - res[kr][0]) / 1e9
    out["resilience_depth_ratio"] = ratio_out
    out["time_since_large_trade_s"] = since
    buy1, sell1 = wsum("buy", "1m"), wsum("sell", "1m")
    out["buy_volume_1m"] = buy1
    out["sell_volume_1m"] = sell1
    out["trade_imbalance_1m"] = ratio(buy1 - sell1, buy1 + sell1)
    out["large_trades_1m"] = wsum("large", "1m")
    out["avg_trade_size_5m"] = ratio(wsum("vol", "5m"), wsum("trades", "5m"))
    out["signed_volume_10s"] = wsum("q", "10s")
    done = np.searchsorted(bucket_rows, row, side="right")
    vpin = np.full(len(T), np.nan)
    for i, d in enumerate(done):
        if d > 0:
            last = bucket_imb[max(0, d - 50):d]
            vpin[i] = last.sum() / (len(last) * vpin_bucket)
    out["vpin"] = vpin
    for w in ("1m", "5m"):
        nn, sq, sq2 = wsum("msgs", w), wsum("q", w), wsum("q2", w)
        sd, sqd = wsum("dmid", w), wsum("qdmid", w)
        out[f"kyle_lambda_{w}"] = ratio(nn * sqd - sq * sd, nn * sq2 - sq * sq) / 2.0
    mid2_em = np.concatenate([[np.nan], mid2[emitted_idx]])
    for w, name in (("10s", "return_10s"), ("1m", "return_1m")):
        base = np.searchsorted(t_em, T - WINDOWS[w], side="right")
        out[name] = np.log(m2 / mid2_em[base])
    out["realized_vol_1m_bps"] = np.sqrt(wsum("dmid2", "1m")) / m2 * 1e4
    vwap = ratio(wsum("pxvol", "1m"), wsum("vol", "1m"))
    out["vwap_distance_1m_bps"] = (vwap - mid) / mid * 1e4
    out["time_of_day_h"] = ((T + utc_offset_ns) % DAY) / 3.6e12
    k_t = np.searchsorted(trade_t, T, side="right") - 1
    out["time_since_last_trade_s"] = np.where(k_t >= 0, (T - trade_t[np.maximum(k_t, 0)]) / 1e9,
                                              np.nan)
    out["event_intensity_10s"] = wsum("msgs", "10s") / 10.0
    out["trade_intensity_1m"] = wsum("trades", "1m") / 60.0
    return out
