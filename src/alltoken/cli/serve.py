"""`alltoken serve`: run the gateway."""

import sys

import click


@click.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config file (default ./alltoken.yaml).")
@click.option("--host", help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8080).")
@click.option("--workers", type=int, help="Processes (needs Redis when more than 1).")
@click.pass_context
def serve(ctx, config, host, port, workers):
    """Run the gateway."""
    from alltoken.config import ConfigError, load_settings
    from alltoken.server.serve import run_server

    try:
        settings = load_settings(config or ctx.obj.get("config"), {"host": host, "port": port, "workers": workers})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(run_server(settings))
