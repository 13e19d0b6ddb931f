"""`alltoken serve` start-up failures are one clear line and a non-zero exit, never a traceback."""

import socket
import subprocess

from .fakes.server import free_port
from .harness import ALLTOKEN, Gateway


def serve(gateway: Gateway, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`alltoken serve` run to its exit; on a free port unless `args` name one (the default port, 8080, may
    be taken by a quickstart server on this machine)."""
    port = () if "--port" in args else ("--port", str(free_port()))
    return subprocess.run([*ALLTOKEN, "serve", *port, *args], cwd=gateway.workdir,
                          env={**gateway.env, **(env or {})}, capture_output=True, text=True, timeout=60)


def test_port_in_use(tmp_path):
    gateway = Gateway(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = serve(gateway, "--port", str(busy.getsockname()[1]))
    assert result.returncode == 1
    assert "address is in use" in result.stderr and "Traceback" not in result.stderr
    assert not gateway.db_path.exists()  # nothing was set up for a server that cannot run


def test_unreachable_or_unsupported_database(tmp_path):
    gateway = Gateway(tmp_path)
    missing = serve(gateway, env={"ALLTOKEN_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/no_such_db_here"})
    assert missing.returncode == 2 and "cannot open the database" in missing.stderr
    assert "no_such_db_here" in missing.stderr and "Traceback" not in missing.stderr
    unsupported = serve(gateway, env={"ALLTOKEN_DATABASE_URL": "mysql://x@y/z"})
    assert unsupported.returncode == 2 and "unsupported database" in unsupported.stderr


def test_workers_without_redis_are_refused(tmp_path):
    result = serve(Gateway(tmp_path), "--workers", "2")
    assert result.returncode != 0 and "Redis" in result.stderr


def test_first_start_creates_the_admin_from_the_environment(tmp_path):
    gateway = Gateway(tmp_path, env={"ALLTOKEN_ADMIN_EMAIL": "root@example.com",
                                     "ALLTOKEN_ADMIN_PASSWORD": "s3cret-pass"}).start()
    assert gateway.stop() == 0
    log = gateway.log()
    assert "created the admin user root@example.com" in log and "s3cret-pass" not in log
    assert "demo provider is enabled" in log
    again = Gateway(tmp_path).start()
    assert again.stop() == 0
    assert again.log().count("created the admin user") == 1  # the second start found the admin
