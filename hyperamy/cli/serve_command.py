"""`hyperamy serve`."""
from __future__ import annotations

import os

import click

from hyperamy.cli import main
from hyperamy.cli.common import weights_option
from hyperamy.cli.index_commands import index_option
from hyperamy.errors import InputError


@main.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", "-p", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes, each with its own encoder and open index.")
@click.option("--token", envvar="HYPERAMY_TOKEN", help="Required for writes, as 'Authorization: Bearer TOKEN' "
                                                      "[default: $HYPERAMY_TOKEN; none: writes are open].")
@click.option("--shards", type=click.IntRange(1, 1024),
              help="Search through this many Ray actors, each holding part of the index (see `hyperamy shard`).")
@click.option("--ray", "ray_address", help="Ray cluster to join for --shards [default: start a local one].")
@click.option("--quiet", "-q", is_flag=True, help="No access log (one line per request on stderr).")
@weights_option
def serve(index, host, port, workers, token, shards, ray_address, weights, quiet) -> None:
    """Serve an index over HTTP: a JSON API (docs at /docs) and a search page at /.

    Searches run concurrently and see each write once it commits; writes go one at a time.
    Says where it listens once it is ready, then logs each request on stderr (--quiet: not).
    A page URL such as /?q=a+storm&mode=emotion runs that search when opened.

    \b
    Example:
      hyperamy serve --index indexes/default --port 8000
    """
    import uvicorn

    from hyperamy.engine import index_path
    from hyperamy.serve import LOCAL_HOSTS, build_app, listening_socket

    if host not in LOCAL_HOSTS and not token:
        raise InputError(f"refusing to listen on {host} without a token: anyone who can reach it could change the "
                         "index; pass --token (or set HYPERAMY_TOKEN), or listen on 127.0.0.1")
    if shards and workers > 1:
        raise InputError("--shards serves from one process; leave --workers at 1")
    from hyperamy.encoder.runtime import check_environment

    check_environment()
    sock = listening_socket(host, port)  # a port in use fails now, before the model loads
    folder = index_path(index)
    click.echo(f"loading {folder} and the emotion model...", err=True)
    if workers == 1:
        app = build_app(index, weights, token, shards, ray_address, access_log=not quiet)
        _say_ready(host, sock, folder, len(app.state.engine))
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
        return
    os.environ.update({"HYPERAMY_SERVE_INDEX": index or "", "HYPERAMY_SERVE_WEIGHTS": weights or "",
                       "HYPERAMY_TOKEN": token or "", "HYPERAMY_SERVE_QUIET": "1" if quiet else ""})
    documents = len(build_app(index, weights, token).state.engine)  # fail here, once, on a missing index or model
    port = sock.getsockname()[1]
    sock.close()  # uvicorn's workers bind it again
    _say_ready(host, None, folder, documents, port)
    uvicorn.run("hyperamy.serve:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning")


def _say_ready(host, sock, folder, documents: int, port: int | None = None) -> None:
    port = port if sock is None else sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"hyperamy is serving {folder} ({documents:,} documents) at http://{shown}:{port}/ "
               f"(the page; the API's docs at /docs). Ctrl-C stops it.", err=True)
