"""Does AllToken's database access work through PgBouncer in transaction pooling? (docs/production.md)

    apt-get install -y pgbouncer
    .venv/bin/python bench/pgbouncer_check.py

Starts PgBouncer (transaction pooling, 4 server connections) on a free port in front of the local
PostgreSQL (127.0.0.1:5432, user postgres, trust), creates a fresh database through it with the
app's migrations, then runs 20 concurrent clients of 30 transactions each (two queries per
transaction, the app's own SQLAlchemy engine) with the plain URL and with
`?prepared_statement_cache_size=0`, and prints how many transactions failed with each.
"""

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import harness
from sqlalchemy import func, select

from alltoken.store.db import create_engine, session_factory
from alltoken.store.migrate import upgrade_to_head
from alltoken.store.models import LedgerEntry, UsageRecord

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PGBOUNCER = "/usr/sbin/pgbouncer"


def pgbouncer_config(work: Path, port: int) -> Path:
    (work / "users.txt").write_text('"postgres" ""\n')
    config = work / "pgbouncer.ini"
    config.write_text(f"""[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {work}/users.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
""")
    return config


async def failed_transactions(url: str) -> tuple[int, set[str]]:
    engine = create_engine(url)
    errors: list[str] = []
    try:
        await upgrade_to_head(engine)
        sessions = session_factory(engine)

        async def client(n: int) -> None:
            for i in range(30):
                try:
                    async with sessions.begin() as session:
                        await session.execute(select(func.count()).select_from(UsageRecord)
                                              .where(UsageRecord.account_id == f"acct_{n}"))
                        await session.execute(select(func.sum(LedgerEntry.amount_units))
                                              .where(LedgerEntry.account_id == f"acct_{i}"))
                except Exception as exc:  # counted: this is what the check is about
                    errors.append(str(exc).splitlines()[0][:120])

        await asyncio.gather(*(client(n) for n in range(20)))
    finally:
        await engine.dispose()
    return len(errors), set(errors[:3])


async def check(port: int) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        for query in ("", "?prepared_statement_cache_size=0"):
            name = f"alltoken_pgbouncer_{secrets.token_hex(4)}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                failed, examples = await failed_transactions(f"postgresql://postgres@127.0.0.1:{port}/{name}{query}")
            finally:
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            print(f"{query or 'plain URL':<35} {failed:>4} of 600 transactions failed  {sorted(examples)[:1]}")
    finally:
        await admin.close()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="alltoken-pgbouncer-"))
    port = harness.free_port()
    argv = [PGBOUNCER, str(pgbouncer_config(work, port))]
    if os.geteuid() == 0:   # pgbouncer refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(work, user.pw_uid, user.pw_gid)
        argv = ["runuser", "-u", "postgres", "--", *argv]
    harness.exit_on_sigterm()
    log = (work / "pgbouncer.log").open("ab")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_listening(port, process)
        asyncio.run(check(port))
    finally:
        harness.stop(process)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + harness.START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise harness.BenchError(f"pgbouncer did not start (exit {process.poll()})")


if __name__ == "__main__":
    sys.exit(main())
