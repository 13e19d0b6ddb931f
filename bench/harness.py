"""The processes a benchmark drives: nginx as the fake upstream, the pass-through proxy, the
gateway, and wrk as the load generator.

Every server runs in its own process group and is stopped (SIGTERM, then SIGKILL) when its
context exits, so an error or Ctrl-C never leaves one behind. Standard library only, so it runs
under any Python; the servers themselves run with the interpreter that runs this.
"""

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent          # the venv that has alltoken, aiohttp and py-spy
NGINX = "/usr/sbin/nginx"
WRK = "/usr/bin/wrk"
MODEL = "openai/gpt-4o-mini"
CHAT_PATH = "/v1/chat/completions"
MODES = ("json", "stream")
START_TIMEOUT = 30.0
# The gateway drains in-flight requests and flushes usage records on SIGTERM; give it time to.
STOP_TIMEOUT = 35.0


class BenchError(RuntimeError):
    """Something the benchmark cannot measure around; the message says what and where to look."""


# --- fake upstream -------------------------------------------------------------------------------

_CHUNK_BASE = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
               "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_bench"}
_USAGE = {"prompt_tokens": 14, "completion_tokens": 10, "total_tokens": 24,
          "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
          "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                        "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
_WORDS = ["Hello", "!", " How", " can", " I", " help", " you", " today", "?", " Cheers"]


def _dumps(payload) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def completion_body() -> str:
    """A chat.completion as OpenAI sends it."""
    message = {"role": "assistant", "content": "".join(_WORDS), "refusal": None}
    return _dumps({**_CHUNK_BASE, "object": "chat.completion",
                   "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
                   "usage": _USAGE, "service_tier": "default"})


def completion_stream() -> str:
    """A stream as OpenAI sends it with include_usage: a role chunk, ten content chunks, a finish
    chunk (each with "usage": null), a usage chunk with no choices, then [DONE]."""

    def chunk(delta: dict, finish_reason=None) -> dict:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**_CHUNK_BASE, "choices": [choice], "usage": None}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": word}) for word in _WORDS]
    chunks += [chunk({}, "stop"), {**_CHUNK_BASE, "choices": [], "usage": _USAGE}]
    return "".join(f"data: {_dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def _nginx_literal(text: str) -> str:
    """`text` as an nginx single-quoted string. `$` would start a variable, so it must not occur."""
    if "$" in text:
        raise ValueError("nginx `return` text cannot contain '$'")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def _nginx_server(port: int, content_type: str, body: str) -> str:
    return f"""
    server {{
        listen 127.0.0.1:{port};
        location = {CHAT_PATH} {{
            default_type {content_type};
            return 200 {_nginx_literal(body)};
        }}
    }}"""


def nginx_config(work: Path, ports: dict[str, int]) -> str:
    # One worker, so the upstream's share of the two cores is bounded and the same for every target.
    # Unlimited keep-alive requests: the default (1000) would make every client reconnect regularly.
    temp_paths = "\n".join(f"    {name}_temp_path {work}/nginx-{name};"
                           for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
{temp_paths}
{_nginx_server(ports["json"], "application/json", completion_body())}
{_nginx_server(ports["stream"], "text/event-stream", completion_stream())}
}}
"""


@contextlib.contextmanager
def nginx_upstream(work: Path) -> Iterator[dict[str, str]]:
    """Both fake upstreams in one nginx: the base URL (…/v1) per mode. nginx cannot read the
    JSON body cheaply, so the mode is chosen by port rather than by "stream": true."""
    ports = {mode: free_port() for mode in MODES}
    conf = work / "nginx.conf"
    conf.write_text(nginx_config(work, ports))
    argv = [NGINX, "-p", str(work), "-c", str(conf), "-e", str(work / "nginx-error.log")]
    with service("nginx", argv, work, ready_url=f"http://127.0.0.1:{ports['json']}/"):
        yield {mode: f"http://127.0.0.1:{port}/v1" for mode, port in ports.items()}


# --- targets in front of it ----------------------------------------------------------------------

@contextlib.contextmanager
def passthrough_proxy(work: Path, upstream_base: str) -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "passthrough_proxy.py"), "--port", str(port),
            "--upstream", upstream_base + "/chat/completions"]
    with service("proxy", argv, work, ready_url=f"http://127.0.0.1:{port}/"):
        yield f"http://127.0.0.1:{port}{CHAT_PATH}"


class Gateway:
    """AllToken on a fresh SQLite database in `work` (or on `database_url`, with `env` added), one
    provider of type openai, and any other settings in `config`."""

    def __init__(self, work: Path, database_url: str | None = None, env: dict | None = None,
                 config: dict | None = None):
        self.work = work
        self.config = config or {}
        self.db_path = work / "bench.db"
        self.config_path = work / "alltoken.yaml"
        # Nothing from the caller's environment may change what is measured (Redis, another database).
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ALLTOKEN_")}
        self.env["ALLTOKEN_DATABASE_URL"] = database_url or f"sqlite:///{self.db_path}"
        self.env.update(env or {})
        self.pid: int | None = None

    def configure(self, upstream_base: str) -> None:
        # JSON is valid YAML; the catalog model openai/gpt-4o-mini routes to the only openai provider.
        provider = {"id": "openai", "type": "openai", "api_key": "bench", "base_url": upstream_base}
        self.config_path.write_text(_dumps({**self.config, "providers": [provider]}))

    def cli(self, *args: str) -> dict:
        argv = [str(BIN / "alltoken"), "--config", str(self.config_path), *args, "--json"]
        done = subprocess.run(argv, cwd=self.work, env=self.env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise BenchError(f"`alltoken {' '.join(args)}` failed: {done.stderr.strip()}")
        return json.loads(done.stdout)

    def provision_key(self) -> str:
        """An account with plenty of credit, and a key for it."""
        account = self.cli("accounts", "create", "--email", "bench@example.com")["id"]
        self.cli("credits", "grant", "--account", account, "--usd", "100000")
        return self.cli("keys", "create", "--account", account)["key"]

    @contextlib.contextmanager
    def serve(self, upstream_base: str, workers: int = 1, name: str = "gateway") -> Iterator[str]:
        self.configure(upstream_base)
        port = free_port()
        argv = [str(BIN / "alltoken"), "serve", "--config", str(self.config_path), "--port", str(port)]
        if workers > 1:
            argv += ["--workers", str(workers)]
        with service(name, argv, self.work, env=self.env,
                     ready_url=f"http://127.0.0.1:{port}/health/ready") as process:
            self.pid = process.pid
            yield f"http://127.0.0.1:{port}{CHAT_PATH}"
        self.pid = None

    def usage_record_count(self) -> int:
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:
            return db.execute("SELECT count(*) FROM usage_records").fetchone()[0]


# --- load --------------------------------------------------------------------------------------

def request_body(mode: str) -> dict:
    body = {"model": MODEL, "max_tokens": 64,
            "messages": [{"role": "system", "content": "You are a helpful assistant."},
                         {"role": "user", "content": "Say hello in one short sentence."}]}
    return {**body, "stream": True} if mode == "stream" else body


# done() prints one machine-readable line; wrk's own --latency report goes to the log.
_WRK_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def wrk_script(work: Path, mode: str, api_key: str) -> Path:
    """The same request for every target: direct and proxy ignore the key."""
    path = work / f"{mode}.lua"
    path.write_text(f"""wrk.method = "POST"
wrk.body = [==[{_dumps(request_body(mode))}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {api_key}"
{_WRK_DONE}""")
    return path


def wrk_argv(url: str, script: Path, connections: int, seconds: int) -> list[str]:
    threads = 1 if connections <= 16 else 2   # one wrk thread keeps up to 16 connections on 2 cores
    return [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
            "-s", str(script), url]


def run_wrk(url: str, script: Path, connections: int, seconds: int, log: Path) -> dict:
    argv = wrk_argv(url, script, connections, seconds)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}\n")
    return parse_wrk(done, argv)


def parse_wrk(done: subprocess.CompletedProcess, argv: list[str]) -> dict:
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line.removeprefix("BENCH_RESULT "))
            result["requests_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise BenchError(f"wrk gave no result (exit {done.returncode}): {' '.join(argv)}\n{done.stderr.strip()}")


# --- correctness of what is measured ---------------------------------------------------------------

def check_response(url: str, mode: str, api_key: str) -> None:
    """One request before the load: a target that answers errors fast would look great under wrk."""
    request = urllib.request.Request(url, data=json.dumps(request_body(mode)).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            content_type, text = response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        raise BenchError(f"{url} answered HTTP {exc.code}: {exc.read()[:500]!r}") from None
    problem = _stream_problem(content_type, text) if mode == "stream" else _json_problem(content_type, text)
    if problem:
        raise BenchError(f"{url} ({mode}): {problem}: {text[:500]!r}")


def _json_problem(content_type: str, text: str) -> str | None:
    if not content_type.startswith("application/json"):
        return f"content type {content_type!r}"
    body = json.loads(text)
    if not body.get("choices") or not (body.get("usage") or {}).get("total_tokens"):
        return "no choices or no usage"
    return None


def _stream_problem(content_type: str, text: str) -> str | None:
    if not content_type.startswith("text/event-stream"):
        return f"content type {content_type!r}"
    events = [block.removeprefix("data: ") for block in text.split("\n\n") if block]
    if len(events) < 3 or events[-1] != "[DONE]":
        return "does not end with data: [DONE]"
    usage_chunk = json.loads(events[-2])
    if usage_chunk.get("choices") != [] or not (usage_chunk.get("usage") or {}).get("total_tokens"):
        return "no usage chunk before [DONE]"
    return None


# --- processes -----------------------------------------------------------------------------------

def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every server is stopped: they run in their own sessions and
    would otherwise outlive us."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def service(name: str, argv: list[str], work: Path, ready_url: str, env: dict | None = None
            ) -> Iterator[subprocess.Popen]:
    """Run a server until the block ends; its output goes to work/<name>.log."""
    log_path = work / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            _wait_ready(process, name, ready_url, log_path)
            yield process
        finally:
            stop(process)


def _wait_ready(process: subprocess.Popen, name: str, url: str, log_path: Path) -> None:
    """Ready when `url` answers anything but a 5xx (nginx and the proxy 404 on GET /)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{name} exited with {process.returncode} at start; see {log_path}:\n"
                             f"{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise BenchError(f"{name} not ready after {START_TIMEOUT:g}s; see {log_path}:\n{_tail(log_path)}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the whole process group (nginx has workers) and let it finish; then SIGKILL
    whatever is left of the group, a leader that ignored SIGTERM or a straggling child."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(5)


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
