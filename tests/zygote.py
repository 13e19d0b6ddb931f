"""Gateway processes forked from one interpreter that has already imported the gateway.

Starting `python -m alltoken.cli serve` spends ~3 s of CPU importing FastAPI, SQLAlchemy and the
gateway's modules before the server does anything, and the tests start about a hundred gateways. The
zygote, a process of its own (single-threaded, no event loop), imports all that once; each gateway is
then a fork of it that takes the gateway's working directory, environment and log, and runs the same
`alltoken serve` command line a shell runs. `tests/test_serve.py` still runs the real executable, so its
start-up (imports included) is tested as users run it. ALLTOKEN_TEST_FORK=0 turns the zygote off.

The zygote reads one JSON request a line on stdin and answers one JSON line on stdout:
    {"spawn": {"argv": [...], "env": {...}, "cwd": "...", "log": "..."}}  ->  {"pid": 123}
    {"poll": 123}                                                          ->  {"status": null | code}
A status is what subprocess.Popen.returncode would be: the exit code, or -N for signal N.
"""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import traceback

# What `alltoken serve` imports, also lazily (uvicorn's loop, protocol and lifespan implementations).
PRELOAD = ("alltoken.cli.main", "alltoken.cli.serve", "alltoken.config", "alltoken.server.serve",
           "alltoken.server.workers", "uvicorn.loops.uvloop", "uvicorn.protocols.http.httptools_impl",
           "uvicorn.protocols.websockets.auto", "uvicorn.lifespan.on")


def main() -> None:
    """The zygote's loop (run as `python -c`, so that a `serve --workers` child's spawned workers find no
    __main__ file of ours to import)."""
    import importlib

    from tests.password_cost import use_test_cost

    for name in PRELOAD:
        importlib.import_module(name)
    use_test_cost()
    exited: dict[int, int] = {}
    _answer({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        _reap(exited)
        if "spawn" in request:
            _answer({"pid": _fork(**request["spawn"])})
        else:
            _answer({"status": exited.get(request["poll"])})
    os._exit(0)   # stdin closed: the tests are over (and the interpreter's own shutdown takes seconds)


def _answer(reply: dict) -> None:
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def _reap(exited: dict[int, int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exited[pid] = os.waitstatus_to_exitcode(status)


def _fork(argv: list[str], env: dict[str, str], cwd: str, log: str) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.chdir(cwd)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        output = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.environ.clear()   # in place: code that keeps a reference to os.environ sees the gateway's
        os.environ.update(env)
        sys.argv = ["alltoken", *argv]
        code = _run_cli(argv)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run_cli(argv: list[str]) -> int:
    from alltoken.cli.main import main as cli_main

    try:
        cli_main.main(args=argv, prog_name="alltoken")
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)
        return 1
    return 0


class Zygote:
    """The test process's side: spawns gateways through the zygote process."""

    def __init__(self, env: dict[str, str]):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from tests.zygote import main; main()"], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._lock = threading.Lock()
        if self._read() != {"ready": True}:
            raise RuntimeError("the gateway zygote did not start")

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, log: str) -> "ForkedProcess":
        with self._lock:
            pid = self._ask({"spawn": {"argv": argv, "env": env, "cwd": cwd, "log": log}})["pid"]
            # Opened before the zygote can reap it (it reaps only while answering): the pidfd is this process.
            return ForkedProcess(self, pid, os.pidfd_open(pid))

    def status(self, pid: int) -> int | None:
        with self._lock:
            return self._ask({"poll": pid})["status"]

    def close(self) -> None:
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _ask(self, request: dict) -> dict:
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        return self._read()

    def _read(self) -> dict:
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the gateway zygote exited with {self._process.wait()}")
        return json.loads(line)


class ForkedProcess:
    """The subprocess.Popen calls the tests make on a gateway, for a gateway forked by the zygote."""

    def __init__(self, zygote: Zygote, pid: int, pidfd: int):
        self._zygote = zygote
        self.pid = pid
        self._pidfd = pidfd
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._zygote.status(self.pid)
            if self.returncode is not None:
                os.close(self._pidfd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        # A pidfd turns readable when its process exits; the zygote then reaps it on our next poll.
        if self.poll() is None:
            exited, _, _ = select.select([self._pidfd], [], [], timeout)
            if not exited:
                raise subprocess.TimeoutExpired(["alltoken", "serve"], timeout)
        returncode = self.poll()
        assert returncode is not None
        return returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self._pidfd, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
