"""`alltoken serve --workers N`: N server processes on one port, under uvicorn's process supervisor.

The parent checks the configuration, migrates the database and creates the admin once, binds the
socket, then starts N workers (spawned, not forked: each is a fresh interpreter with its own event
loop). Every worker builds its own Gateway (runtime/gateway.py) from the same settings; what must hold across them
(rate limits, cache invalidation, breakers, balances) lives in PostgreSQL and Redis, which is why
more than one worker needs redis_url. SIGTERM (or SIGINT) to the parent drains every worker: each
stops taking requests, finishes the ones in flight and flushes its usage records. A worker that
dies is replaced.
"""

import base64
import logging
import os
import pickle

import uvicorn
from uvicorn.supervisors import Multiprocess

from alltoken.config import Settings

log = logging.getLogger("alltoken")

# How long a worker may take to answer the supervisor before it is replaced: a worker still starting
# on a busy host (imports, database pool) must not be killed for being slow.
HEALTHCHECK_SECONDS = 60

_SETTINGS_ENV = "ALLTOKEN_WORKER_SETTINGS"   # the parent's settings, for its workers (set by the parent only)


def run_workers(settings: Settings, server_options: dict) -> int:
    os.environ[_SETTINGS_ENV] = base64.b64encode(pickle.dumps(settings)).decode()
    config = uvicorn.Config("alltoken.server.workers:worker_app", factory=True, workers=settings.workers,
                            host=settings.host, port=settings.port, timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
                            **server_options)
    socket = config.bind_socket()
    log.info("starting %d workers", settings.workers)
    try:
        Multiprocess(config, sockets=[socket]).run()
    finally:
        socket.close()
    log.info("stopped: every worker drained")
    return 0


def worker_app():
    """The app of one worker process (uvicorn calls this in each one)."""
    from alltoken.runtime.gateway import Gateway
    from alltoken.server.app import create_app
    from alltoken.server.logging_setup import configure_logging

    configure_logging()
    settings: Settings = pickle.loads(base64.b64decode(os.environ[_SETTINGS_ENV]))
    state = Gateway.build(settings)
    state.schema_ready = True   # the parent migrated before starting the workers
    return create_app(settings, state)
