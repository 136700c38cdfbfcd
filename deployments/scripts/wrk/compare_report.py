"""Prints bench-compare.sh's report: one table row per route and run, the
ratio of POST /queue to GET / rates, the CPU per 1,000 requests of each
process, the verdict against issue 17's target, and the flood if it ran."""
import json
import os
import sys

RATIO, P99_MS = 0.2, 50.0
out, runs = sys.argv[1], int(sys.argv[2])


def load(name):
    return json.load(open(os.path.join(out, name + ".json")))


def fivexx(r):
    return sum(n for s, n in r.get("statuses", {}).items() if s.startswith("5"))


def row(label, r):
    rate = r["requests"] / r["seconds"]
    cpu = r["cpu_seconds"]
    per_k = " | ".join(f"{cpu[p] / r['requests'] * 1000:.3f}" for p in PROCS)
    st = r.get("statuses", {})
    return rate, (f"| {label} | {rate:,.0f} | {r['p50_us']/1000:.1f} / {r['p90_us']/1000:.1f} / "
                  f"{r['p99_us']/1000:.1f} / {r['max_us']/1000:.0f} | {st.get('429', 0)} | {fivexx(r)} | "
                  f"{r['socket_errors']} | {r.get('bad_answers', 0)} | {r.get('duplicates', 0)} | {per_k} |")


PROCS = ["server", "worker", "redis", "kafka", "wrk"]
print("| run | req/s | p50 / p90 / p99 / max ms | 429 | 5xx | socket errors | no code | duplicates | "
      + " | ".join(f"{p} CPU s/1k" for p in PROCS) + " |")
print("|---" * (8 + len(PROCS)) + "|")
verdicts = []
for i in range(1, runs + 1):
    get, queue = load(f"run{i}-get"), load(f"run{i}-queue")
    get_rate, get_row = row(f"{i}: `GET /`", get)
    q_rate, q_row = row(f"{i}: `POST /queue`", queue)
    print(get_row)
    print(q_row)
    ratio = q_rate / get_rate
    ok = (ratio >= RATIO and queue["p99_us"] / 1000 <= P99_MS and fivexx(queue) == 0
          and queue["socket_errors"] == 0 and queue.get("duplicates", 0) == 0
          and queue.get("bad_answers", 0) == 0)
    verdicts.append((i, ratio, queue["p99_us"] / 1000, ok))
print()
for i, ratio, p99, ok in verdicts:
    print(f"run {i}: POST /queue / GET / = {ratio:.3f}, p99 {p99:.1f} ms: "
          + ("target met" if ok else "target missed")
          + f" (ratio ≥ {RATIO}, p99 ≤ {P99_MS:.0f} ms, 0 5xx, 0 socket errors, 0 duplicates)")
print(f"target met in {sum(ok for *_, ok in verdicts)} of {runs} runs")
if os.path.exists(os.path.join(out, "flood-queue.json")):
    f, g = load("flood-queue"), json.load(open(os.path.join(out, "flood-get.json")))
    st = f.get("statuses", {})
    print(f"\nflood, 1,000 connections on POST /queue: {f['requests'] / f['seconds']:,.0f} req/s, "
          f"200: {st.get('200', 0)}, 429: {st.get('429', 0)} (without Retry-After: "
          f"{f['429_without_retry_after']}), 5xx: {fivexx(f)}, socket errors: {f['socket_errors']}, "
          f"duplicates: {f['duplicates']}, p99 {f['p99_us']/1000:.1f} ms; "
          f"GET / beside it (10 connections): {g['requests'] / g['seconds']:,.0f} req/s, "
          f"p50 {g['p50_us']/1000:.2f} ms, p99 {g['p99_us']/1000:.2f} ms, max {g['max_us']/1000:.1f} ms")
