"""Gateway throughput against the number of worker processes, on PostgreSQL and Redis.

    .venv/bin/python bench/workers.py [--workers 1,2] [--connections 32] [--duration 5] [--repeat 3]
                                      [--layout processes|serve-workers] [--mode json|stream]

The same fake upstream as bench/run.py (nginx; json mode by default, stream for streamed replies).
For each worker count N, a fresh PostgreSQL database (127.0.0.1:5432, user postgres; dropped
afterwards) and Redis db 3 at 127.0.0.1:6379 (ALLTOKEN_REDIS_URL, keys under a fresh prefix), then:

- `processes` (default): N separate `alltoken serve` processes, one worker each, on N ports, and N
  wrk processes at once, each with connections/N connections to its own port: a round-robin
  client by construction, as a load balancer in front of N instances would be;
- `serve-workers`: one `alltoken serve --workers N` on one port, one wrk with all connections.

Each point is a warm-up and REPEAT measured runs; the median run (by req/s) stands. Latency: the
worst of the wrk processes' p50 and p99 (wrk corrects for coordinated omission, bench/README.md).
After each point the gateways are stopped (SIGTERM flushes usage) and the usage records counted
against the completed requests. See bench/README.md "Workers".
"""

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import harness

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/3"
# Several gateways (or spawned workers) starting at once on PostgreSQL take longer than run.py's one on SQLite,
# the more so on a busy machine.
harness.START_TIMEOUT = 180.0


def main() -> int:
    args = parse_args()
    harness.exit_on_sigterm()
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="alltoken-bench-workers-"))
    rows = []
    try:
        with harness.nginx_upstream(work) as upstreams:
            for workers in args.workers:
                rows.append(measure(work / f"w{workers}", upstreams[args.mode], workers, args))
    except BaseException:
        print(f"benchmark failed; servers stopped, logs kept in {work}", file=sys.stderr)
        raise
    shutil.rmtree(work)
    print_table(rows, args)
    print(f"\n{len(os.sched_getaffinity(0))} cores; load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; layout {args.layout}, mode {args.mode}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--connections", type=int, default=32, help="total connections (default 32)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run (default 5)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per point; the median counts")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load first")
    parser.add_argument("--layout", choices=("processes", "serve-workers"), default="processes")
    parser.add_argument("--mode", choices=harness.MODES, default="json", help="plain replies or streams")
    args = parser.parse_args()
    args.workers = [int(n) for n in args.workers.split(",")]
    return args


def measure(work: Path, upstream_base: str, workers: int, args) -> dict:
    work.mkdir()
    database = f"alltoken_bench_workers_{secrets.token_hex(4)}"
    run_sql(f'CREATE DATABASE "{database}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    try:
        gateway = harness.Gateway(work, url, {"ALLTOKEN_REDIS_URL": REDIS_URL,
                                              "ALLTOKEN_REDIS_PREFIX": f"bench-{secrets.token_hex(4)}:"})
        gateway.configure(upstream_base)
        api_key = gateway.provision_key()
        script = harness.wrk_script(work, args.mode, api_key)
        with contextlib.ExitStack() as servers:
            if args.layout == "processes":
                urls = [servers.enter_context(gateway.serve(upstream_base, name=f"gateway{n}")) for n in range(workers)]
            else:
                urls = [servers.enter_context(gateway.serve(upstream_base, workers=workers))]
            for url_n in urls:
                harness.check_response(url_n, args.mode, api_key)
            share = args.connections // len(urls)
            warm = run_together(urls, script, share, args.warmup, work)
            runs = [run_together(urls, script, share, args.duration, work) for _ in range(args.repeat)]
        completed = len(urls) + sum(r["requests"] for r in [warm, *runs])
        records = count_usage(url)
    finally:
        run_sql(f'DROP DATABASE "{database}" WITH (FORCE)')
    median = sorted(runs, key=lambda r: r["requests_per_s"])[len(runs) // 2]
    rates = [r["requests_per_s"] for r in runs]
    print(f"  {workers} worker(s): {median['requests_per_s']:,.0f} req/s", file=sys.stderr)
    return {"workers": workers, **median, "spread_pct": 100 * (max(rates) - min(rates)) / 2 / median["requests_per_s"],
            "usage_records": records, "completed": completed,
            "abandoned_at_most": (1 + args.repeat) * args.connections}


def run_together(urls: list[str], script: Path, connections: int, seconds: int, work: Path) -> dict:
    """One wrk per URL at the same time; their requests add up, the worst latency stands."""
    argvs = [harness.wrk_argv(url, script, connections, seconds) for url in urls]
    processes = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for argv in argvs]
    results = []
    with (work / "wrk.log").open("a") as log:
        for argv, process in zip(argvs, processes):
            out, err = process.communicate(timeout=seconds + 30)
            log.write(f"$ {' '.join(argv)}\n{out}{err}\n")
            results.append(harness.parse_wrk(subprocess.CompletedProcess(argv, process.returncode, out, err), argv))
    requests = sum(r["requests"] for r in results)
    return {"requests": requests,
            "requests_per_s": sum(r["requests_per_s"] for r in results),
            "errors": sum(sum(r["errors"].values()) for r in results),
            "latency_us": {p: max(r["latency_us"][p] for r in results) for p in ("p50", "p99")}}


def run_sql(statement: str, url: str = PG_ADMIN):
    async def run():
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval(statement)
        finally:
            await connection.close()
    return asyncio.run(run())


def count_usage(url: str) -> int:
    return run_sql("SELECT count(*) FROM usage_records", url)


def print_table(rows: list[dict], args) -> None:
    base = rows[0]["requests_per_s"] / rows[0]["workers"] if rows else 0   # per worker, at the first count
    print("\nworkers  conns     req/s   ±%   x 1 worker   p50 ms   p99 ms  errors  usage records / completed")
    for row in rows:
        speedup = row["requests_per_s"] / base if base else 0
        ok = row["completed"] <= row["usage_records"] <= row["completed"] + row["abandoned_at_most"]
        print(f"{row['workers']:>7}  {args.connections:>5}  {row['requests_per_s']:>8,.0f}  {row['spread_pct']:>3.0f}"
              f"   {speedup:>10.2f}  {row['latency_us']['p50'] / 1000:>7.2f}  {row['latency_us']['p99'] / 1000:>7.2f}"
              f"  {row['errors']:>6}  {row['usage_records']:,} / {row['completed']:,} {'ok' if ok else 'MISMATCH'}")
    print(json.dumps([{k: v for k, v in row.items() if k != "runs"} for row in rows]), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
