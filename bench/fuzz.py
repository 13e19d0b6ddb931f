"""Fuzz the data plane at scale: the request generators of tests/dataplane_fuzzing.py (built from the
endpoints' own schemas, then mutated) run CASES times against a gateway this script starts, with
every provider type behind the test suite's fake upstreams. It reports the answers by status and by
endpoint, every answer that is a server error or not in the endpoint's error shape (with the request
that got it), the distinct places the server crashed (innermost frames of the tracebacks in its log),
and the credit still reserved once every answer is in.

    .venv/bin/python bench/fuzz.py                       # 30,000 cases, seed 0
    .venv/bin/python bench/fuzz.py --cases 2000 --seed 7

Exits 1 when any answer had a problem, a crash was logged, the server died or a hold was left.
"""

import argparse
import collections
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # the repository root: tests/ is a package

from tests.dataplane_fuzzing import all_cases, crash_sites, fuzz_target, problem, send  # noqa: E402

FORGET_EVERY = 500          # the fakes keep what they receive; clear it this often


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)     # a fake's own tracebacks are not the gateway's
    with tempfile.TemporaryDirectory(prefix="alltoken-fuzz-") as workdir, fuzz_target(Path(workdir)) as target:
        statuses, problems, upstream, elapsed = _fuzz(target, args.cases, args.seed)
        alive = target.alive()
        reserved = target.reserved_usd() if alive else "unknown (the server died)"
        sites = crash_sites(target.gateway.log())
    _report(statuses, problems, upstream, sites, alive, reserved, elapsed, args)
    return 1 if problems or sites or not alive or reserved != "0.000000" else 0


def _fuzz(target, cases: int, chosen_seed: int) -> tuple[collections.Counter, list[str], collections.Counter, float]:
    statuses: collections.Counter = collections.Counter()
    upstream: collections.Counter = collections.Counter()     # 502/503/504 by error message
    problems: list[str] = []
    started = time.monotonic()

    with httpx.Client(timeout=120) as client:
        @settings(max_examples=cases, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @seed(chosen_seed)
        @given(case=all_cases(target.key))
        def run(case):
            try:
                answer = send(client, target.url, case)
            except httpx.HTTPError as exc:
                statuses[(case.path, "no answer")] += 1
                problems.append(f"no complete answer ({type(exc).__name__}) <- {case.describe()}")
                return
            statuses[(case.path, answer.status)] += 1
            found = problem(case, answer)
            if found:
                problems.append(f"{found}: {answer.body[:200]!r} <- {case.describe()}")
            elif answer.status >= 500:
                upstream[json.loads(answer.body)["error"]["message"][:120]] += 1
            done = sum(statuses.values())
            if done % FORGET_EVERY == 0:
                target.forget_requests()
                print(f"{done} cases, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

        run()
    return statuses, problems, upstream, time.monotonic() - started


def _report(statuses, problems, upstream, sites, alive, reserved, elapsed, args) -> None:
    total = sum(statuses.values())
    print(f"{total} cases in {elapsed:.0f} s (seed {args.seed}); server alive: {alive}; reserved afterwards: "
          f"{reserved} USD")
    by_status = collections.Counter()
    for (_, status), count in statuses.items():
        by_status[status] += count
    print("\nby status: " + ", ".join(f"{status}: {count}" for status, count in sorted(by_status.items(), key=str)))
    print("\nby endpoint and status:")
    for path in sorted({path for path, _ in statuses}):
        row = {status: count for (p, status), count in statuses.items() if p == path}
        print(f"  {path:28} " + ", ".join(f"{status}: {count}" for status, count in sorted(row.items(), key=str)))
    print("\nupstream failures (502/503/504) by message:")
    for message, count in upstream.most_common(10):
        print(f"  {count:6}  {message}")
    print(f"\nproblems: {len(problems)}")
    for line in problems[:20]:
        print("  " + line)
    print(f"\ncrash sites in the server's log: {len(sites)}")
    for site, count in sorted(sites.items(), key=lambda item: -item[1]):
        print(f"  {count:6}  {site}")


if __name__ == "__main__":
    sys.exit(main())
