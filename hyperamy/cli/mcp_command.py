"""`hyperamy mcp`."""
from __future__ import annotations

from hyperamy.cli import main
from hyperamy.cli.common import weights_option
from hyperamy.cli.index_commands import index_option
from hyperamy.errors import InputError


@main.command()
@index_option
@weights_option
def mcp(index, weights) -> None:
    """Serve an index to agents over the Model Context Protocol, on stdio.

    Tools: search (with feeling, --where-style filters and an entity to be about), add, delete,
    predict, entities, entity, arc and info. An MCP client starts this command itself; add it
    to the client's configuration as the command `hyperamy` with the arguments
    `mcp --index PATH`. Needs the mcp package: pip install "hyperamy[mcp]".

    \b
    Example (Claude Desktop's claude_desktop_config.json, "mcpServers"):
      "hyperamy": {"command": "hyperamy", "args": ["mcp", "--index", "/path/to/indexes/default"]}
    """
    try:
        from hyperamy.integrations import mcp_server
    except ImportError as exc:
        raise InputError(f"hyperamy mcp needs the mcp package ({exc}): pip install 'hyperamy[mcp]'") from None
    mcp_server.run(index, weights)
