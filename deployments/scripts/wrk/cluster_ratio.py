"""Prints bench-compare-cluster.sh's comparison: POST /queue on three Kafka
brokers against one, from two bench-compare.sh directories, each run's
slices pooled as compare_report.py pools them; the ratios are of the halves'
totals over all runs. Usage: cluster_ratio.py ONE_BROKER_DIR THREE_BROKERS_DIR RUNS
"""
import glob
import os
import sys

from compare_report import load, pool


def half(out):
    """POST /queue over every run of a bench-compare.sh directory."""
    paths = sorted(glob.glob(os.path.join(out, "run*-queue-*.json")))
    return pool(load(p) for p in paths if not p.endswith(".wrk.json"))  # wrk's raw output beside each


def main():
    one_dir, three_dir, runs = sys.argv[1], sys.argv[2], sys.argv[3]
    one, three = half(one_dir), half(three_dir)
    rows = []
    for name, r in (("one broker", one), ("three brokers", three)):
        rate = r["requests"] / r["seconds"]
        kafka_us = 1e6 * r["cpu_seconds"]["kafka"] / max(r["requests"], 1)
        rows.append((name, rate, r["p50_us"] / 1000, r["p99_us"] / 1000, kafka_us))
    print(f"POST /queue, {runs} runs of each (wrk -c100), {one_dir} and {three_dir}:\n")
    print("| Kafka | req/s | p50 ms | p99 ms | Kafka CPU µs per request (all brokers) |")
    print("|---|---|---|---|---|")
    for name, rate, p50, p99, kafka_us in rows:
        print(f"| {name} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {kafka_us:.0f} |")
    (_, r1, _, p1, k1), (_, r3, _, p3, k3) = rows
    print(f"\nthree brokers / one: req/s {r3 / r1:.3f}, p99 {p3 / p1:.2f}x, Kafka CPU per request {k3 / max(k1, 1e-9):.2f}x")


if __name__ == "__main__":
    main()
