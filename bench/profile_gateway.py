"""Where the gateway spends its time under load: py-spy samples it while wrk drives it, then the
functions with the most own time and the most total time are printed as text.

    .venv/bin/pip install py-spy
    .venv/bin/python bench/profile_gateway.py [--mode json|stream] [--connections 16] [--seconds 10]

Same setup as run.py (nginx upstream, fresh SQLite database, auth, reservation and usage recording
on). Only the event loop's thread is reported: it handles every request and is what saturates.
Sampling slows the gateway a little; the req/s printed is for reading the profile, not a result.
"""

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import harness

TOP = 25


def main() -> int:
    args = parse_args()
    harness.exit_on_sigterm()
    py_spy = shutil.which("py-spy", path=str(harness.BIN)) or shutil.which("py-spy")
    if not py_spy:
        sys.exit("py-spy not found: .venv/bin/pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="alltoken-profile-") as tmp:
        work = Path(tmp)
        stacks, load = profile(work, py_spy, args)
    own, total, samples = summarize(main_thread(stacks))
    print(f"gateway {args.mode}, {args.connections} connections: {load['requests_per_s']:,.0f} req/s while "
          f"sampled; the event loop's thread was busy in {100 * samples / (args.seconds * args.rate):.0f}% of "
          f"{args.seconds * args.rate:,} samples\n")
    print_top("own time (the function itself was running)", own, samples)
    # Frames in nearly every sample are the process's scaffolding (click, uvicorn, asyncio.run).
    below_scaffolding = collections.Counter({f: c for f, c in total.items() if c < 0.95 * samples})
    print_top("total time (the function or anything it called; scaffolding left out)", below_scaffolding, samples)
    ours = collections.Counter({frame: count for frame, count in total.items() if "(alltoken/" in frame})
    print_top("total time, AllToken's own functions", ours, samples)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=harness.MODES, default="json")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    return parser.parse_args()


def profile(work: Path, py_spy: str, args) -> tuple[list[tuple[list[str], int]], dict]:
    gateway = harness.Gateway(work)
    log = work / "wrk.log"
    with harness.nginx_upstream(work) as upstreams:
        gateway.configure(upstreams[args.mode])
        api_key = gateway.provision_key()
        script = harness.wrk_script(work, args.mode, api_key)
        with gateway.serve(upstreams[args.mode]) as url:
            harness.check_response(url, args.mode, api_key)
            harness.run_wrk(url, script, args.connections, 2, log)  # warm caches and the upstream pool
            raw = work / "profile.txt"
            argv = [py_spy, "record", "--pid", str(gateway.pid), "--duration", str(args.seconds), "--rate",
                    str(args.rate), "--format", "raw", "--nolineno", "--threads", "--output", str(raw)]
            sampler = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            # The load outlasts the sampling by a second, so every sample is taken under load.
            load = harness.run_wrk(url, script, args.connections, args.seconds + 1, log)
            _, errors = sampler.communicate(timeout=30)
            if sampler.returncode != 0:
                raise harness.BenchError(f"py-spy failed: {errors.strip()}")
    return parse_collapsed(raw.read_text()), load


def parse_collapsed(text: str) -> list[tuple[list[str], int]]:
    """py-spy's raw format: one `thread;outermost;...;innermost count` line per distinct stack."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append((stack.split(";"), int(count)))
    return stacks


def main_thread(stacks: list[tuple[list[str], int]]) -> list[tuple[list[str], int]]:
    """The event loop's stacks, without the thread frame. Every request is handled on that thread;
    the others are aiosqlite's, which py-spy counts as busy while they wait for work."""
    return [(frames, count) for (thread, *frames), count in stacks if thread.endswith(": MainThread") and frames]


def summarize(stacks: list[tuple[list[str], int]]) -> tuple[collections.Counter, collections.Counter, int]:
    """Samples per function as the innermost frame (own), and anywhere in the stack (total)."""
    own, total = collections.Counter(), collections.Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):  # a recursive function counts once per sample
            total[frame] += count
    return own, total, sum(count for _, count in stacks)


def print_top(title: str, counts: collections.Counter, samples: int) -> None:
    print(f"top {TOP} by {title}")
    for frame, count in counts.most_common(TOP):
        print(f"  {100 * count / samples:5.1f}%  {frame}")
    print()


if __name__ == "__main__":
    sys.exit(main())
