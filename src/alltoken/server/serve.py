"""`alltoken serve`: prepare the database, announce what is enabled, run uvicorn, drain on SIGTERM."""

import asyncio
import logging
import signal
import socket
from typing import Any

import uvicorn

from alltoken import __version__
from alltoken.accounts.bootstrap import CreatedAdmin, ensure_admin
from alltoken.config import ConfigError, Settings
from alltoken.runtime.gateway import Gateway
from alltoken.server.app import create_app
from alltoken.server.console_site import console_directory, is_built
from alltoken.server.logging_setup import configure_logging
from alltoken.server.workers import run_workers
from alltoken.store.db import DatabaseUrlError, session_factory
from alltoken.store.migrate import upgrade_to_head

log = logging.getLogger("alltoken")


def run_server(settings: Settings) -> int:
    configure_logging()
    try:
        state = Gateway.build(settings)
    except (ConfigError, DatabaseUrlError) as exc:
        log.error("configuration error: %s", exc)
        return 2
    if not _port_is_free(settings.host, settings.port):
        log.error("cannot listen on %s:%d: the address is in use or not available", settings.host, settings.port)
        return 1
    try:
        admin = asyncio.run(_prepare_database(state))
    except Exception as exc:  # unreachable server, missing database, bad credentials, ...
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]  # without SQLAlchemy's help-link line
        log.error("cannot open the database %s: %s: %s", _safe_url(settings.database_url), type(exc).__name__, reason)
        return 2
    _announce(settings, state, admin)
    options: dict[str, Any] = dict(
        loop="uvloop", http="httptools", lifespan="on", access_log=False, log_level="warning", server_header=False,
        proxy_headers=False,  # X-Forwarded-For is believed per regions.trusted_proxies only
        timeout_graceful_shutdown=settings.shutdown_grace_seconds)
    if settings.workers > 1:
        return run_workers(settings, options)
    config = uvicorn.Config(create_app(settings, state), host=settings.host, port=settings.port, **options)
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has drained; a drained shutdown is a clean exit.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    except SystemExit:  # uvicorn exits on a bind failure it has already logged
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        return 1
    if state.recorder.unwritten:
        log.error("stopped, but %d usage records could not be written: the database stayed unreachable",
                  state.recorder.unwritten)
        return 1
    log.info("stopped cleanly; usage records flushed")
    return 0


def _port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


async def _prepare_database(state: Gateway) -> CreatedAdmin | None:
    await upgrade_to_head(state.engine)
    state.schema_ready = True  # the server's start-up need not check again
    admin = await ensure_admin(session_factory(state.engine))
    await state.engine.dispose()  # the server's own loop opens fresh connections
    return admin


def _announce(settings: Settings, state: Gateway, admin: CreatedAdmin | None) -> None:
    base = f"http://{settings.host}:{settings.port}"
    log.info("AllToken %s on %s (database %s)", __version__, base, _safe_url(settings.database_url))
    log.info("providers: %s; %d models", ", ".join(f"{p.id} ({p.type})" for p in settings.providers),
             len(state.models.all()))
    for notice in settings.notices:
        log.warning("%s", notice)
    if settings.demo_enabled:
        log.info("no provider credentials configured: the offline demo provider is enabled (model alltoken/demo)")
    if is_built(console_directory(settings.console_dir)):
        log.info("web console: %s/", base)
    else:
        log.warning("the web console is not built: run scripts/setup (it needs Node.js and npm); the APIs work")
    if admin:
        log.info("created the admin user %s", admin.email)
        if admin.password:
            log.info("admin password (shown once): %s", admin.password)
        log.info("this user signs in to the web console at %s/ (and the CLI manages accounts, keys and credits: "
                 "`alltoken --help`)", base)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable)"
