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
        except click.NoSuchOption as exc:
            raise _with_hint(exc) from None
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


# Options other tools use for what a hyperamy command calls otherwise.
OTHER_NAMES = {"-n": "-k", "--top-k": "-k", "--topk": "-k", "--top": "-k", "--limit": "-k", "--num": "-k",
               "--filter": "--where", "--query": "QUERY (an argument)", "-q": "QUERY (an argument)"}


def _with_hint(exc: click.NoSuchOption) -> click.NoSuchOption:
    """`search -n 2` says that the number of results is -k."""
    command = exc.ctx.command if exc.ctx is not None else None
    meant = OTHER_NAMES.get(exc.option_name)
    if command is None or meant is None:
        return exc
    known = {name for param in command.params for name in getattr(param, "opts", [])}
    if meant in known:
        return click.NoSuchOption(exc.option_name, message=f"No such option: {exc.option_name}; did you mean {meant}?",
                                  ctx=exc.ctx)
    if meant.startswith("QUERY") and any(param.name == "query" for param in command.params):
        return click.NoSuchOption(exc.option_name, message=f"No such option: {exc.option_name}; the query is the "
                                  "first argument: hyperamy search \"what to find\"", ctx=exc.ctx)
    return exc


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
    arc_command, encoder_commands, entity_commands, index_commands, manage_commands, mcp_command, predict_command,
    serve_command)
