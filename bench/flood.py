"""Data-plane latency while sign-up and sign-in are flooded.

    .venv/bin/python bench/flood.py [--rate 50] [--seconds 20] [--loops 4] [--spread] [--control]

One gateway (fresh SQLite, the nginx fake upstream, default settings) serves /v1/chat/completions with a
real key at a fixed rate, first alone, then while another process floods /api/auth/signup and
/api/auth/login from LOOPS loops of each. Prints p50/p99 of both phases, what the flood got (statuses,
accounts created), and writes the raw numbers to bench/results/flood-<timestamp>.json. See bench/README.md.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import harness

RESULTS_DIR = harness.BENCH_DIR / "results"
PASSWORD = "a flood of passwords"
SETTLE_SECONDS = 2.0     # the flood runs this long before the flooded phase is measured, and after it


def main() -> int:
    args = parse_args()
    if args.flooder:
        print(json.dumps(asyncio.run(flood(args.flooder, args.loops, args.spread, args.victim, args.seconds,
                                           args.control))))
        return 0
    harness.exit_on_sigterm()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="alltoken-flood-"))
    gateway = harness.Gateway(work)
    with harness.nginx_upstream(work) as upstreams, gateway.serve(upstreams["json"]) as url:
        key = gateway.provision_key()
        harness.check_response(url, "json", key)
        base = url.removesuffix(harness.CHAT_PATH)
        victim = asyncio.run(sign_up_victim(base))
        users_before = count_users(gateway.db_path)
        alone = asyncio.run(probe(url, key, args.rate, args.seconds))
        flood_seconds = args.seconds + 2 * SETTLE_SECONDS
        flooder = subprocess.Popen([sys.executable, __file__, "--flooder", base, "--loops", str(args.loops),
                                    "--victim", victim, "--seconds", str(flood_seconds),
                                    *(["--spread"] if args.spread else []), *(["--control"] if args.control else [])],
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(SETTLE_SECONDS)
        flooded = asyncio.run(probe(url, key, args.rate, args.seconds))
        flood_stats = json.loads(flooder.communicate(timeout=flood_seconds + 60)[0])
        flood_stats["accounts_created"] = count_users(gateway.db_path) - users_before
    report = {"args": vars(args), "alone": alone, "flooded": flooded, "flood": flood_stats,
              "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "nproc": os.cpu_count(), "commit": commit()}
    shutil.rmtree(work)
    print_report(report)
    path = write_results(report)
    print(f"raw results: {path.relative_to(harness.BENCH_DIR.parent)}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50, help="data-plane requests per second (default 50)")
    parser.add_argument("--seconds", type=float, default=20, help="length of each measured phase (default 20)")
    parser.add_argument("--loops", type=int, default=4, help="sign-up loops, and as many sign-in loops (default 4)")
    parser.add_argument("--spread", action="store_true",
                        help="every flood request from a new loopback address, so per-address limits never apply")
    parser.add_argument("--control", action="store_true",
                        help="flood GET /health/live instead: what being flooded with the cheapest request costs")
    parser.add_argument("--flooder", help=argparse.SUPPRESS)       # the flooding process: the gateway's base URL
    parser.add_argument("--victim", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the data plane, at a fixed rate -----------------------------------------------------------------

async def probe(url: str, key: str, rate: float, seconds: float) -> dict:
    """Requests sent on a fixed schedule whatever the answers take (open loop); each one's latency runs from
    when it was due, so a stalled client or server shows rather than thinning the schedule."""
    body = harness.request_body("json")
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        loop = asyncio.get_running_loop()

        async def one(due: float) -> tuple[int, float]:
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                return response.status, loop.time() - due

        start, tasks = loop.time() + 0.1, []
        for index in range(int(rate * seconds)):
            due = start + index / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            tasks.append(asyncio.ensure_future(one(due)))
        results = await asyncio.gather(*tasks, return_exceptions=True)
    latencies = sorted(result[1] * 1000 for result in results if isinstance(result, tuple) and result[0] == 200)
    return {"requests": len(results), "errors": len(results) - len(latencies),
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": latencies[-1] if latencies else None}


def percentile(values: list[float], percent: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, round(percent / 100 * (len(values) - 1)))]


# --- the flood ---------------------------------------------------------------------------------------

async def sign_up_victim(base: str) -> str:
    """The account the sign-in loops guess the password of (besides unknown emails)."""
    email = f"victim-{time.time_ns()}@example.com"
    async with aiohttp.ClientSession() as session:
        async with session.post(base + "/api/auth/signup", json={"email": email, "password": PASSWORD,
                                                                 "accept_terms": True}) as answer:
            if answer.status != 201:
                raise harness.BenchError(f"the victim's sign-up answered {answer.status}: {await answer.text()}")
    return email


async def flood(base: str, loops: int, spread: bool, victim: str, seconds: float, control: bool) -> dict:
    """LOOPS sign-up loops and LOOPS sign-in loops, each one request after another, for `seconds`."""
    statuses: dict[str, Counter] = {"sign_up": Counter(), "sign_in": Counter()}
    deadline = time.monotonic() + seconds

    async def loop(kind: str, number: int) -> None:
        own_address = f"127.0.{1 + number}.{1 if kind == 'sign_up' else 2}"
        session = None if spread else aiohttp.ClientSession(connector=connector(own_address))
        try:
            while time.monotonic() < deadline:
                status = await attempt(session, base, "control" if control else kind, victim)
                statuses[kind][str(status)] += 1
        finally:
            if session is not None:
                await session.close()

    started = time.monotonic()
    await asyncio.gather(*(loop(kind, number) for kind in statuses for number in range(loops)))
    return {**{kind: dict(counts) for kind, counts in statuses.items()}, "seconds": time.monotonic() - started}


async def attempt(session: aiohttp.ClientSession | None, base: str, kind: str, victim: str) -> int | str:
    """One sign-up (a new email) or sign-in (a wrong password, for the victim or an unknown email), or for
    `control` a health check; without a session, on a new connection from a random loopback address."""
    if kind == "control":
        path, body = "/health/live", None
    elif kind == "sign_up":
        path, body = "/api/auth/signup", {"email": f"flood-{time.time_ns()}-{random.random()}@example.com",
                                          "password": PASSWORD, "accept_terms": True}
    else:
        email = victim if random.random() < 0.5 else f"nobody-{time.time_ns()}@example.com"
        path, body = "/api/auth/login", {"email": email, "password": "a wrong guess at it"}
    own = session or aiohttp.ClientSession(connector=connector(random_loopback()))
    try:
        async with own.request("GET" if body is None else "POST", base + path, json=body) as answer:
            await answer.read()
            return answer.status
    except aiohttp.ClientError as exc:
        return type(exc).__name__
    finally:
        if session is None:
            await own.close()


def connector(address: str) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(local_addr=(address, 0), limit=1)


def random_loopback() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"


# --- report --------------------------------------------------------------------------------------------

def count_users(db_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return db.execute("SELECT count(*) FROM users").fetchone()[0]


def print_report(report: dict) -> None:
    args = report["args"]
    flooded = "GET /health/live (control)" if args["control"] else "sign-up and sign-in"
    print(f"data plane: {args['rate']:g} requests/s for {args['seconds']:g} s per phase; flood: {flooded} from "
          f"{2 * args['loops']} loops{', each request from a new address' if args['spread'] else ''}")
    print(f"{'phase':10} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for phase in ("alone", "flooded"):
        row = report[phase]
        print(f"{phase:10} {row['requests']:>9} {row['errors']:>7} {fmt(row['p50_ms'])} {fmt(row['p99_ms'])} "
              f"{fmt(row['max_ms'])}")
    flood_stats = report["flood"]
    for kind in ("sign_up", "sign_in"):
        label = kind.replace("_", "-") + (" loops, on GET /health/live" if args["control"] else "")
        counts = ", ".join(f"{status}: {count}" for status, count in sorted(flood_stats[kind].items()))
        rate = sum(flood_stats[kind].values()) / flood_stats["seconds"]
        print(f"flood {label}: {counts} ({rate:,.0f} answers/s)")
    print(f"accounts created by the flood: {flood_stats['accounts_created']}")
    before, after = report["load_average_before"], report["load_average_after"]
    print(f"{report['nproc']} cores; load average {before[0]:.2f} {before[1]:.2f} {before[2]:.2f} before, "
          f"{after[0]:.2f} {after[1]:.2f} {after[2]:.2f} after")


def fmt(value: float | None) -> str:
    return f"{value:8.1f}" if value is not None else f"{'-':>8}"


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=harness.BENCH_DIR)
    return done.stdout.strip()


def write_results(report: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"flood-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2))
    return path


if __name__ == "__main__":
    sys.exit(main())
