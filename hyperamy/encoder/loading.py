"""Which encoder encodes documents and which encodes queries, each loaded when first needed.

Documents go through the torch encoder (`SharedTrunkEncoder`, batches); queries through the
weights' ONNX graph in ONNX Runtime (runtime.py), which needs neither torch nor transformers once
the graph is cached. The torch encoder's fastest single-query path (layers packed in bfloat16 on
this AMX CPU) took 7.4 ms a query against ONNX Runtime's 8.8 ms (commit 5e03678; medians of 60
questions x 3 passes, each path in its own process, three processes each, alternating): 16%
faster, under the 20% that would keep a second path, so it was removed.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from pathlib import Path

from hyperamy.errors import ExportError

log = logging.getLogger(__name__)


class Encoders:
    """The document and query encoders of one engine: `given` (an encoder object, e.g. a test's
    stand-in) or the model in the `weights` folder (None: the shipped one)."""

    def __init__(self, given=None, weights: str | Path | None = None):
        self.weights = weights
        self._documents = given
        self._queries = None  # an OnnxQueryEncoder, False where none can be made, None until loaded
        self._pending: Future | None = None  # the query encoder while it loads in a thread
        self._model_id: str | None = None  # of the weights folder (what its graph encodes with)
        self._loading = threading.Lock()  # concurrent first searches load the query encoder once

    def preload_queries(self) -> None:
        """Start loading the query encoder in a thread, so that its load (ONNX Runtime lets go of
        the GIL) overlaps the index's; the first query waits for it."""
        if self._documents is not None or self._pending is not None:
            return
        from hyperamy.encoder.runtime import OnnxQueryEncoder

        future: Future = Future()

        def load() -> None:
            try:
                future.set_result(OnnxQueryEncoder.load(self.weights))
            except BaseException as exc:  # handed to whoever asks for the encoder
                future.set_exception(exc)

        # not a daemon: a process that ends while ONNX Runtime is loading would abort in C++
        # ("terminate called without an active exception", exit 134); exit waits for the load instead
        threading.Thread(target=load, name="hyperamy-query-encoder", daemon=False).start()
        self._pending = future

    @property
    def documents(self):
        """The encoder that indexes: the one given, else the weights' torch encoder."""
        if self._documents is None:
            from hyperamy.encoder.joint import SharedTrunkEncoder

            self._documents = SharedTrunkEncoder.load(self.weights)
        return self._documents

    @property
    def queries(self):
        """What encodes queries: the weights' graph in ONNX Runtime. An encoder given for other
        weights (a test's stand-in) encodes its own queries, and the torch encoder does where no
        graph can be made for the backbone."""
        given = self._documents
        if given is not None and getattr(given, "model_id", None) != self._weights_model_id():
            return given
        with self._loading:
            if self._queries is None:
                from hyperamy.encoder.runtime import OnnxQueryEncoder

                pending, self._pending = self._pending, None
                try:  # None from load: no runtime for this backbone
                    self._queries = (pending.result() if pending else OnnxQueryEncoder.load(self.weights)) or False
                except ExportError as exc:
                    log.warning("%s; queries are encoded by the torch encoder instead", exc)
                    self._queries = False
        return self._queries or self.documents

    def _weights_model_id(self) -> str:
        if self._model_id is None:
            from hyperamy.encoder.weights import model_id

            self._model_id = model_id(self.weights)
        return self._model_id
