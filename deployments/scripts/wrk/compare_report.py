"""Prints bench-compare.sh's report from the JSON each wrk session wrote.

A run's figures for a route pool its slices: requests, seconds, errors and
CPU are summed; percentiles come from the slices' quantile functions (1,000
points each, weighted by the slice's requests). Duplicate codes are counted
over every answer of the measured runs and the flood. Usage:
compare_report.py DIR RUNS SLICES
"""
import glob
import json
import os
import sys

RATIO, P99_MS = 0.2, 50.0
PROCS = ["server", "worker", "redis", "kafka", "wrk"]


def load(path):
    with open(path) as f:
        return json.load(f)


def pool(sessions):
    """One route's figures over several wrk sessions."""
    out = {"requests": 0, "seconds": 0.0, "socket_errors": 0, "bad_answers": 0, "non_2xx_3xx": 0,
           "429_without_retry_after": 0, "max_us": 0, "statuses": {},
           "cpu_seconds": dict.fromkeys(PROCS, 0.0)}
    points = []
    for s in sessions:
        for k in ("requests", "seconds", "socket_errors", "bad_answers", "non_2xx_3xx", "429_without_retry_after"):
            out[k] += s.get(k, 0)
        out["max_us"] = max(out["max_us"], s["max_us"])
        for status, n in s.get("statuses", {}).items():
            out["statuses"][status] = out["statuses"].get(status, 0) + n
        for p in PROCS:
            out["cpu_seconds"][p] += s["cpu_seconds"][p] if "cpu_seconds" in s else 0
        w = s["requests"] / len(s["quantiles_us"])
        points += [(q, w) for q in s["quantiles_us"]]
    points.sort()
    total = sum(w for _, w in points)

    def pct(p):
        acc = 0.0
        for q, w in points:
            acc += w
            if acc >= total * p / 100:
                return q
        return points[-1][0]
    out.update(p50_us=pct(50), p90_us=pct(90), p99_us=pct(99))
    return out


def fivexx(r):
    """5xx answers; for `GET /`, whose answers wrk does not sort by status,
    every answer that is not 2xx or 3xx."""
    if not r["statuses"]:
        return r["non_2xx_3xx"]
    return sum(n for s, n in r["statuses"].items() if s.startswith("5"))


def row(label, r):
    rate = r["requests"] / r["seconds"]
    per_k = " | ".join(f"{r['cpu_seconds'][p] / r['requests'] * 1000:.3f}" for p in PROCS)
    return rate, (f"| {label} | {rate:,.0f} | {r['p50_us']/1000:.1f} / {r['p90_us']/1000:.1f} / "
                  f"{r['p99_us']/1000:.1f} / {r['max_us']/1000:.0f} | {r['statuses'].get('429', 0)} | "
                  f"{fivexx(r)} | {r['socket_errors']} | {r['bad_answers']} | {per_k} |")


def duplicates(out):
    seen, dups, total = set(), 0, 0
    for path in glob.glob(os.path.join(out, "*.codes")):
        with open(path) as f:
            for line in f:
                code = line.strip()
                if not code:
                    continue
                total += 1
                if code in seen:
                    dups += 1
                seen.add(code)
    return total, dups


def main():
    out, runs, slices = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print("| run | req/s | p50 / p90 / p99 / max ms | 429 | 5xx | socket errors | no code | "
          + " | ".join(f"{p} CPU s/1k" for p in PROCS) + " |")
    print("|---" * (8 + len(PROCS)) + "|")
    verdicts = []
    for i in range(1, runs + 1):
        get = pool(load(os.path.join(out, f"run{i}-get-{j}.json")) for j in range(1, slices + 1))
        queue = pool(load(os.path.join(out, f"run{i}-queue-{j}.json")) for j in range(1, slices + 1))
        get_rate, get_row = row(f"{i}: `GET /`", get)
        q_rate, q_row = row(f"{i}: `POST /queue`", queue)
        print(get_row)
        print(q_row)
        ok = (q_rate / get_rate >= RATIO and queue["p99_us"] / 1000 <= P99_MS and fivexx(queue) == 0
              and queue["socket_errors"] == 0 and queue["bad_answers"] == 0)
        verdicts.append((i, q_rate / get_rate, queue["p99_us"] / 1000, ok))
    codes, dups = duplicates(out)
    print()
    for i, ratio, p99, ok in verdicts:
        print(f"run {i}: POST /queue / GET / = {ratio:.3f}, p99 {p99:.1f} ms: "
              + ("target met" if ok and dups == 0 else "target missed")
              + f" (ratio ≥ {RATIO}, p99 ≤ {P99_MS:.0f} ms, 0 5xx, 0 socket errors, 0 answers without a code,"
              " 0 duplicate codes)")
    print(f"codes answered: {codes:,}, duplicates: {dups}")
    print(f"target met in {sum(ok for *_, ok in verdicts) if dups == 0 else 0} of {runs} runs")
    warm = os.path.join(out, "warmup_seconds")
    if os.path.exists(warm):
        print(f"warm-up before the runs: {open(warm).read().strip()} s of POST /queue")
    flood = os.path.join(out, "flood-queue.json")
    if os.path.exists(flood):
        f = pool([load(flood)])
        g = pool([load(os.path.join(out, "flood-get.json"))])
        st = f["statuses"]
        print(f"\nflood, 1,000 connections on POST /queue: {f['requests'] / f['seconds']:,.0f} req/s, "
              f"200: {st.get('200', 0)}, 429: {st.get('429', 0)} (without Retry-After: "
              f"{f['429_without_retry_after']}), 5xx: {fivexx(f)}, socket errors: {f['socket_errors']}, "
              f"p50 {f['p50_us']/1000:.1f} ms, p99 {f['p99_us']/1000:.1f} ms; "
              f"GET / beside it (10 connections): {g['requests'] / g['seconds']:,.0f} req/s, "
              f"p50 {g['p50_us']/1000:.2f} ms, p99 {g['p99_us']/1000:.2f} ms, max {g['max_us']/1000:.1f} ms")


if __name__ == "__main__":
    main()
