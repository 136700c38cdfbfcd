"""Prints bench-compare.sh's report from the JSON each wrk session wrote.

A run's figures for a route pool its slices: requests, seconds, errors and
CPU are summed; percentiles come from the slices' quantile functions (1,000
points each, weighted by the slice's requests). Duplicate codes are counted
over every answer of the measured runs and the flood. With the flood, the
admitted (200) answers' latency comes from bin/bench's summary.json (the
measurer beside the flood, and alone before it), set against POST /queue's
p99 pooled over every run. Usage: compare_report.py DIR RUNS SLICES
"""
import glob
import json
import os
import sys

RATIO, P99_MS = 0.2, 50.0
FLOOD_P99_RATIO = 1.5  # admitted p99 under the flood, at most this times the unflooded one
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
              f"GET / beside it (10 connections, 10 ms between answer and request): {g['requests'] / g['seconds']:,.0f} req/s, "
              f"p50 {g['p50_us']/1000:.2f} ms, p99 {g['p99_us']/1000:.2f} ms, max {g['max_us']/1000:.1f} ms")
        unflooded = pool(load(os.path.join(out, f"run{i}-queue-{j}.json"))
                         for i in range(1, runs + 1) for j in range(1, slices + 1))
        admitted(out, f, unflooded)


def measurer(out, label):
    """POST /queue's figures from bin/bench's summary.json in DIR/label, and
    its exit status; None when it wrote none."""
    path = os.path.join(out, label, "summary.json")
    if not os.path.exists(path):
        return None
    rec = load(path)
    rc_path = os.path.join(out, label + ".rc")
    rc = open(rc_path).read().strip() if os.path.exists(rc_path) else "?"
    route = next(r for r in rec["stats"]["routes"] if r["name"] == "/queue")
    return rec, route, rc


def describe(route, rc):
    """A measurer's answers and its 200s' latency, in words."""
    ok, n = route["classes"].get("ok", 0), route["requests"]
    lat = route["latency_by_class"].get("ok", {})
    lim = route["latency_by_class"].get("429", {})
    line = (f"{n:,} answers, 200: {ok:,} ({ok / n * 100 if n else 0:.1f} %), 429: {route['classes'].get('429', 0):,}, "
            f"failures: {route['failures']}; 200s p50 {lat.get('p50_ms', 0):.1f} ms, p99 {lat.get('p99_ms', 0):.1f} ms")
    if lim:
        line += f"; 429s p50 {lim['p50_ms']:.1f} ms, p99 {lim['p99_ms']:.1f} ms"
    return line + ("" if rc == "0" else f"; bench exited {rc}")


def admitted(out, flood, unflooded):
    """The admitted requests under the flood: the measurer's 200s, their p99
    against the unflooded one, and the gate's Redis script calls per answer."""
    beside, alone = measurer(out, "flood-measurer"), measurer(out, "flood-alone")
    st = flood["statuses"]
    if beside is None:
        print("admitted under the flood: no measurer figures (see flood-measurer.txt)")
    else:
        rec, route, rc = beside
        users = rec["settings"]["users"]
        print(f"admitted under the flood, bench beside it ({users} users on POST /queue from 127.0.0.1, a connection each, unpaced but for a 429's Retry-After, "
              f"{rec['measured_s']:.0f} s): {describe(route, rc)}")
        flood_ok_s = st.get("200", 0) / flood["seconds"]
        share = route["ok_per_s"] / (route["ok_per_s"] + flood_ok_s) if route["ok_per_s"] + flood_ok_s else 0
        print(f"its share of the 200s during the flood: {share * 100:.1f} % "
              f"(of the connections: {int(users) / (int(users) + 1000) * 100:.1f} %)")
        p99 = route["latency_by_class"].get("ok", {}).get("p99_ms", 0)
        ref = unflooded["p99_us"] / 1000
        verdict = "target met" if 0 < p99 <= FLOOD_P99_RATIO * ref else "target missed"
        conns_path = os.path.join(out, "connections")
        conns = open(conns_path).read().strip() if os.path.exists(conns_path) else "?"
        print(f"admitted p99 under flood / unflooded p99 (POST /queue at {conns} connections, every run pooled) = "
              f"{p99:.1f} / {ref:.1f} ms = {p99 / ref:.2f}: {verdict} (≤ {FLOOD_P99_RATIO})")
        if alone is not None:
            a_p99 = alone[1]["latency_by_class"].get("ok", {}).get("p99_ms", 0)
            print(f"the measurer alone just before the flood: {describe(alone[1], alone[2])}; "
                  f"admitted p99 under flood / alone = {p99 / a_p99 if a_p99 else float('nan'):.2f}")
    calls_path = os.path.join(out, "flood-gate-calls")
    if not os.path.exists(calls_path):
        print("gate script calls during the flood: not counted (no redis-cli)")
        return
    calls = int(open(calls_path).read())
    oks, refused = st.get("200", 0), st.get("429", 0)
    answers = flood["requests"]
    if beside is not None:
        oks += beside[1]["classes"].get("ok", 0)
        refused += beside[1]["classes"].get("429", 0)
        answers += beside[1]["requests"]
    print(f"gate script calls in Redis during the flood (EVALSHA/EVAL/FCALL, Redis-wide): {calls:,} for {answers:,} "
          f"answers of POST /queue (200: {oks:,}, 429: {refused:,}): {calls / answers if answers else 0:.2f} per answer")


if __name__ == "__main__":
    main()
