"""The CLI's one error story: our errors, and a config file the command cannot use, end the command with
"Error: <message>" and exit status 1, as click reports its own usage errors."""

from typing import Any

import click

from alltoken.config import ConfigError
from alltoken.errors import AllTokenError


class ReportingGroup(click.Group):
    """The root command group: every subcommand runs inside its `invoke`, so it is the one place where our
    errors become exits (a crash of our own code still shows its traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (AllTokenError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None
