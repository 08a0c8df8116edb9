"""The `hyperamy` command line: click commands, each a thin adapter over the Python API."""
from __future__ import annotations

import logging
import sys

import click

from hyperamy import __version__
from hyperamy.errors import AddInterrupted, DataFormatError, HyperamyError, InputError


class Group(click.Group):
    """Renders hyperamy errors as one clean line.

    Exit 2: what was typed or fed in is wrong (options, arguments, the input files' contents);
    exit 1: what is stored is missing, damaged or busy (an index, a model), or another runtime
    failure. README states the same rule.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HyperamyError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2 if isinstance(exc, (InputError, DataFormatError)) else 1)
        except AddInterrupted as exc:
            click.echo(str(exc), err=True)
            ctx.exit(130)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs.")
@click.version_option(__version__, prog_name="hyperamy")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Retrieval that understands how text feels as well as what it says.

    \b
    Example:
      hyperamy predict "I can't believe they cancelled it, I'm furious"
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("hyperamy").setLevel(logging.DEBUG if debug else logging.INFO)


from hyperamy.cli import (  # noqa: E402,F401,I001
    arc_command, encoder_commands, entity_commands, index_commands, manage_commands, mcp_command, serve_command)
