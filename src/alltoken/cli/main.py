"""The `alltoken` command: `serve`, and admin commands that act on the configured database.

Each command group is a module of this package named after it (`audit-log` is audit_log.py), registered here
in COMMANDS and nowhere else. A module is imported when its command runs or a help page lists it."""

from importlib import import_module
from typing import Any

import click

from alltoken.errors import AllTokenError

COMMANDS = ("accounts", "audit-log", "codes", "credits", "keys", "limits", "models", "moderation-log", "serve",
            "teams", "terms", "users")


class CommandModules(click.Group):
    """The commands of COMMANDS, each imported from its module on first use; our errors become exits."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = cmd_name.replace("-", "_")
        command: click.Command = getattr(import_module(f"alltoken.cli.{module}"), module)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Every command runs in here: the one place where our errors end it with "Error: <message>" and
        status 1, as click reports its own usage errors (a crash of our own code keeps its traceback)."""
        try:
            return super().invoke(ctx)
        except AllTokenError as exc:
            raise click.ClickException(exc.message) from None


@click.group(cls=CommandModules)
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config file (default ./alltoken.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
def main(ctx, config, as_json):
    """AllToken: one API for many LLM providers, with keys, credits and usage."""
    ctx.ensure_object(dict)
    ctx.obj.update(config=config, json=as_json)


if __name__ == "__main__":  # pragma: no cover
    main()
