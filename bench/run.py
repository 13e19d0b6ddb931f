"""Throughput and latency of the gateway against a bare pass-through proxy and the upstream itself.

    .venv/bin/python bench/run.py [--duration 3] [--repeat 3] [--warmup 1] [--connections 1,16,64]

Prints a table and writes the raw results to bench/results/<timestamp>.json. See bench/README.md.
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import harness

TARGETS = ("direct", "proxy", "gateway")
RESULTS_DIR = harness.BENCH_DIR / "results"
# The project's targets for one gateway process with auth, reservation and usage recording on.
GOAL_RPS_AT_16 = 2500
GOAL_ADDED_P50_MS_AT_1 = 0.5
# wrk and the servers need both cores; other work on the machine makes every number worse.
BUSY_LOAD_AVERAGE = 0.5


def main() -> int:
    args = parse_args()
    harness.exit_on_sigterm()
    load_before = os.getloadavg()[0]
    if load_before > BUSY_LOAD_AVERAGE:
        print(f"warning: load average {load_before:.2f} before start; other processes will skew results",
              file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="alltoken-bench-"))
    try:
        rows, accounting = measure(work, args)
    except BaseException:
        print(f"benchmark failed; servers stopped, logs kept in {work}", file=sys.stderr)
        raise
    shutil.rmtree(work)
    add_overhead(rows)
    goals = check_goals(rows)
    host = {**machine(), "load_average_before": load_before}
    print_table(rows, goals, accounting)
    print(f"\n{host['nproc']} cores, Python {host['python']}, load average {load_before:.2f} before and "
          f"{host['load_average_after']:.2f} after")
    path = write_results(rows, goals, accounting, args, host)
    print(f"raw results: {path.relative_to(harness.BENCH_DIR.parent)}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured run (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per point; the median counts")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load before each point")
    parser.add_argument("--connections", default="1,16,64", help="comma-separated connection counts")
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    return args


def measure(work: Path, args) -> tuple[list[dict], dict]:
    """Every (mode, target, connections) point; and, per mode, the gateway's usage records
    against the requests it completed, so a gateway that skipped its bookkeeping shows."""
    rows, accounting = [], {}
    gateway = harness.Gateway(work)
    with harness.nginx_upstream(work) as upstreams:
        gateway.configure(upstreams["json"])
        api_key = gateway.provision_key()
        for mode in harness.MODES:
            script = harness.wrk_script(work, mode, api_key)
            for target in TARGETS:
                records_before = gateway.usage_record_count()
                with start(target, work, gateway, upstreams[mode]) as url:
                    harness.check_response(url, mode, api_key)
                    points, completed = load_points(url, script, args, work / f"wrk-{mode}-{target}.log")
                rows += [{"target": target, "mode": mode, **point} for point in points]
                if target == "gateway":  # read after it stopped: SIGTERM flushes every record
                    records = gateway.usage_record_count() - records_before
                    abandoned_at_most = (1 + args.repeat) * sum(args.connections)  # per wrk run
                    accounting[mode] = usage_accounting(records, completed, abandoned_at_most)
    return rows, accounting


def usage_accounting(records: int, completed: int, abandoned_at_most: int) -> dict:
    """Every completed request needs a usage record. wrk also abandons up to one in-flight request
    per connection when each run ends, which the gateway still serves and records."""
    return {"usage_records": records, "requests_completed": completed, "abandoned_at_most": abandoned_at_most,
            "consistent": completed <= records <= completed + abandoned_at_most}


def load_points(url: str, script: Path, args, log: Path) -> tuple[list[dict], int]:
    """One point per connection count; and how many requests completed in all of them, counting
    the check request."""
    points, completed = [], 1
    for connections in args.connections:
        warm = harness.run_wrk(url, script, connections, args.warmup, log)
        runs = [harness.run_wrk(url, script, connections, args.duration, log) for _ in range(args.repeat)]
        completed += warm["requests"] + sum(run["requests"] for run in runs)
        points.append(median_point(connections, runs))
        print(f"  {log.stem} c={connections}: {points[-1]['requests_per_s']:,.0f} req/s", file=sys.stderr)
    return points, completed


def median_point(connections: int, runs: list[dict]) -> dict:
    """The run with the median req/s stands for the point (its own latencies with it): a burst of
    other work on the machine spoils one run, not the point. The spread says how much it varied."""
    ordered = sorted(runs, key=lambda run: run["requests_per_s"])
    median = ordered[len(ordered) // 2]
    spread = (ordered[-1]["requests_per_s"] - ordered[0]["requests_per_s"]) / 2 / median["requests_per_s"]
    return {"connections": connections, **median, "spread_pct": 100 * spread, "runs": runs}


@contextlib.contextmanager
def start(target: str, work: Path, gateway: harness.Gateway, upstream_base: str):
    """The URL to load for `target`, with its server running while the block runs."""
    if target == "direct":
        yield upstream_base + "/chat/completions"
    elif target == "proxy":
        with harness.passthrough_proxy(work, upstream_base) as url:
            yield url
    else:
        with gateway.serve(upstream_base) as url:
            yield url


def add_overhead(rows: list[dict]) -> None:
    """Latency a target adds over calling the upstream directly, at the same mode and connections."""
    direct = {(r["mode"], r["connections"]): r["latency_us"] for r in rows if r["target"] == "direct"}
    for row in rows:
        base = direct.get((row["mode"], row["connections"]))
        if row["target"] != "direct" and base:
            row["added_latency_us"] = {p: row["latency_us"][p] - base[p] for p in ("p50", "p99")}


def check_goals(rows: list[dict]) -> list[dict]:
    def gateway_row(connections: int) -> dict | None:
        return next((r for r in rows if r["target"] == "gateway" and r["mode"] == "json"
                     and r["connections"] == connections), None)

    goals = []
    at_16, at_1 = gateway_row(16), gateway_row(1)
    if at_16:
        rps = at_16["requests_per_s"]
        goals.append({"goal": f"gateway json, 16 connections: >= {GOAL_RPS_AT_16:,} req/s",
                      "measured": f"{rps:,.0f} req/s", "met": rps >= GOAL_RPS_AT_16})
    if at_1 and "added_latency_us" in at_1:
        added = at_1["added_latency_us"]["p50"] / 1000
        goals.append({"goal": f"gateway json, 1 connection: <= {GOAL_ADDED_P50_MS_AT_1} ms added p50",
                      "measured": f"{added:.3f} ms", "met": added <= GOAL_ADDED_P50_MS_AT_1})
    return goals


def print_table(rows: list[dict], goals: list[dict], accounting: dict) -> None:
    print(_table_line(("target", "mode", "conns", "req/s", "±%", "p50 ms", "p99 ms", "+p50 ms", "+p99 ms",
                       "errors")))
    for row in rows:
        added = row.get("added_latency_us")
        print(_table_line((
            row["target"], row["mode"], str(row["connections"]), f"{row['requests_per_s']:,.0f}",
            f"{row['spread_pct']:.0f}", _ms(row["latency_us"]["p50"]), _ms(row["latency_us"]["p99"]),
            _ms(added["p50"]) if added else "-", _ms(added["p99"]) if added else "-",
            str(sum(sum(run["errors"].values()) for run in row["runs"])))))  # an error in any run counts
    print()
    for goal in goals:
        print(f"{'MET ' if goal['met'] else 'MISS'}  {goal['goal']}: {goal['measured']}")
    for mode, counts in accounting.items():
        verdict = "ok" if counts["consistent"] else "MISMATCH"
        print(f"{verdict:4}  gateway {mode}: {counts['usage_records']:,} usage records for "
              f"{counts['requests_completed']:,} completed requests (+ at most {counts['abandoned_at_most']} "
              "abandoned by wrk)")


def _table_line(cells: tuple[str, ...]) -> str:
    widths = (8, 6, 5, 9, 4, 8, 8, 8, 8, 6)
    return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def _ms(microseconds: float) -> str:
    return f"{microseconds / 1000:.3f}"


def write_results(rows: list[dict], goals: list[dict], accounting: dict, args, host: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{stamp}.json"
    payload = {"finished_at": stamp, "machine": host, "settings": {
        "duration_s": args.duration, "repeat": args.repeat, "warmup_s": args.warmup, "connections": args.connections,
        "request": {mode: harness.request_body(mode) for mode in harness.MODES}},
        "results": rows, "goals": goals, "gateway_accounting": accounting}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def machine() -> dict:
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": _cpu_model(), "platform": platform.platform(),
            "python": sys.version.split()[0], "nginx": _first_line([harness.NGINX, "-v"]),
            "wrk": _first_line([harness.WRK, "-v"]), "git_commit": _first_line(["git", "rev-parse", "HEAD"]),
            "git_dirty": bool(_first_line(["git", "status", "--porcelain", "--", "src"])),
            "load_average_after": os.getloadavg()[0]}


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def _first_line(argv: list[str]) -> str:
    """What a command prints first, on either stream (nginx and wrk print their version on stderr)."""
    done = subprocess.run(argv, capture_output=True, text=True, cwd=harness.BENCH_DIR)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if lines else ""


if __name__ == "__main__":
    sys.exit(main())
