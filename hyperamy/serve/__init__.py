"""`hyperamy serve`: the HTTP API and web page (app.py), started on uvicorn."""
from __future__ import annotations

import os

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def build_app(index: str | None, weights: str | None, token: str | None, shards: int | None = None,
              ray_address: str | None = None, access_log: bool = False):
    """One open index with its full encoder loaded, behind the API (searched through Ray shards
    when `shards` is given)."""
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.engine import HyperAmy
    from hyperamy.serve.app import create_app

    _one_thread_per_request()
    engine = HyperAmy.open(index, encoder=SharedTrunkEncoder.load(weights))
    engine.encoder  # noqa: B018 - checked against the index now, not on the first request
    engine.query_encoder  # noqa: B018 - loaded (its ONNX graph built, the first time) before serving
    if shards:
        engine.use_shards(shards, ray_address)
    return create_app(engine, token=token, access_log=access_log)


def listening_socket(host: str, port: int):
    """A socket bound to host:port, so a port in use is said at once, in words.

    Raises:
        HyperamyError: the port is taken or the address cannot be used (exit 1: busy, not mistyped).
    """
    import errno
    import socket

    from hyperamy.errors import HyperamyError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise HyperamyError(f"port {port} on {host} is already in use (another hyperamy serve?); "
                                f"stop that, or choose another with --port") from None
        raise HyperamyError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _one_thread_per_request() -> None:
    """A server runs many searches at once, so each uses one thread for torch and BLAS.

    Otherwise every concurrent request's products spread over all cores and fight each other:
    under 16 clients on 2 cores, searches/s went from 23.5 to 32.5 (benchmarks/serve_load.py,
    20 s runs, one after the other).
    """
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    os.environ.setdefault("HYPERAMY_QUERY_THREADS", "1")  # ONNX Runtime's threads per query (runtime.py)


def app_from_environment():
    """The app of one uvicorn worker process (`--workers N`), configured by `hyperamy serve`."""
    return build_app(os.environ.get("HYPERAMY_SERVE_INDEX") or None, os.environ.get("HYPERAMY_SERVE_WEIGHTS") or None,
                     os.environ.get("HYPERAMY_TOKEN") or None, access_log=not os.environ.get("HYPERAMY_SERVE_QUIET"))
