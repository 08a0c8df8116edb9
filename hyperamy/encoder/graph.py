"""The encoder as one ONNX graph: exported from the torch model, cached per model, built once.

The graph computes everything `SharedTrunkEncoder.encode` computes (the semantic vector and mu,
kappa, label probabilities and strength) from token ids, the attention mask and the pooling
weights of the emotion heads (a span's, or the whole text's). ONNX Runtime runs it
(runtime.py) without torch; torch is needed only to build it.

No model hub: the graph is built from the backbone package and the weights folder on first use,
into a folder of $XDG_CACHE_HOME/hyperamy/graphs/ (or ~/.cache), under a lock so that two
processes never build it at once (the second waits, then uses the first one's). It is about
100 MB in float32, its weights in a separate file that ONNX Runtime memory-maps (a session loads
in about half the time of one with the weights inside the graph), and takes about 10 seconds
to build on 2 cores.

With $HYPERAMY_QUERY_PRECISION=int8, searches run the same graph with its weights in int8
(`ensure_query_graph`: ONNX Runtime's dynamic quantization, one scale per output channel,
activations quantized as they run), quantized from the float32 graph once, beside it. It encodes a
query in 5.2 ms against 11.2 (benchmarks/query_precision.py, commit c8a626c) but reads feeling a
little worse (GoEmotions emotion retrieval P@10 0.613 -> 0.604 on train texts), so float32 stays
the default; README.md ("Query precision") has both sets of figures. Documents are encoded by torch.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from hyperamy.errors import ExportError

GRAPH_VERSION = 3  # change when the graph's inputs, outputs, computation or files change
GRAPH_FILE = "encoder.onnx"  # its weights beside it, in encoder.onnx.data
QUERY_GRAPH_FILE = "encoder.int8.onnx"  # the same graph, weights in int8 per output channel (opt-in, for queries)
PRECISIONS = ("float32", "int8")  # of the query graph ($HYPERAMY_QUERY_PRECISION), the default first
INPUTS = ("input_ids", "attention_mask", "token_mask")
OUTPUTS = ("semantic", "mu", "kappa", "probs", "strength", "affect")


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hyperamy" / "graphs"


def graph_folder(model_id: str) -> Path:
    """Where the graph of one model (backbone + weights fingerprint) is cached."""
    safe = "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in model_id)
    return cache_folder() / f"{safe}-v{GRAPH_VERSION}"


def _build_lock(folder: Path):
    """The lock every build into a model's graph folder holds (the float32 export, the int8 copy)."""
    from hyperamy.locking import exclusive

    return exclusive(folder.parent / f"{folder.name}.lock")


def ensure_graph(weights: str | Path | None, model_id: str) -> Path:
    """The cached graph file of a model, built (under a lock) when it is not there yet.

    It is built in a temporary folder beside the final one and renamed into place, so a folder
    under its final name is always complete.
    """
    folder = graph_folder(model_id)
    path = folder / GRAPH_FILE
    if path.is_file():
        return path
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(folder):
        if path.is_file():  # another process built it while we waited
            return path
        for stale in folder.parent.glob(f".{folder.name}.*"):  # a killed build's (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        print(f"building the encoder's ONNX graph once, into {folder} (about 10 s)", file=sys.stderr)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        try:
            # no redirect of sys.stdout: this may run in a loader thread, and swapping the process's
            # stdout from there lost what the main thread printed meanwhile (the exporter, verbose=False,
            # prints nothing to stdout; its warnings go to stderr)
            export(weights, tmp / GRAPH_FILE)
            for written in tmp.iterdir():
                with open(written, "rb") as handle:
                    os.fsync(handle.fileno())
            tmp.chmod(0o755)  # mkdtemp makes folders private; a cache is shared like the files in it
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def ensure_query_graph(weights: str | Path | None, model_id: str) -> Path:
    """The cached int8 graph of a model, quantized from its float32 graph (`ensure_graph`) when it
    is not there yet, under the same lock; written beside it under a temporary name, then renamed."""
    source = ensure_graph(weights, model_id)
    path = source.parent / QUERY_GRAPH_FILE
    if path.is_file():
        return path
    with _build_lock(source.parent):
        if path.is_file():
            return path
        for stale in source.parent.glob(f".{QUERY_GRAPH_FILE}.*"):  # a killed quantization's
            stale.unlink(missing_ok=True)
        print(f"quantizing the query graph to int8 once, into {source.parent} (a few seconds)", file=sys.stderr)
        tmp = source.parent / f".{QUERY_GRAPH_FILE}.{os.getpid()}"
        try:
            _quantize(source, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def _quantize(source: Path, target: Path) -> None:
    import logging

    # The quantizer logs advice on the root logger ("consider pre-processing"), which would also
    # install a handler there for the whole process: a stand-in handler while it runs, and a filter.
    root = logging.getLogger()
    stand_in = None if root.handlers else logging.NullHandler()
    advice = logging.Filter("onnxruntime")  # on root, drops what is logged on root itself while this runs
    if stand_in is not None:
        root.addHandler(stand_in)
    root.addFilter(advice)
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    except Exception as exc:  # the quantizer raises many kinds; any of them means no int8 graph
        raise ExportError(f"could not quantize the query graph {source}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    finally:
        root.removeFilter(advice)
        if stand_in is not None:
            root.removeHandler(stand_in)


def export(weights: str | Path | None, path: Path) -> None:
    """Export the joint encoder of a weights folder to an ONNX file (needs torch)."""
    import torch

    from hyperamy.encoder.joint import SharedTrunkEncoder

    shared = SharedTrunkEncoder.load(weights)
    graph = _joint_module(shared)
    example = shared.emotion.tokenizer(["a text to trace", "and another, longer one to trace"], padding=True,
                                       return_tensors="pt")
    args = (example["input_ids"], example["attention_mask"], example["attention_mask"].float())
    batch, length = torch.export.Dim("batch", min=1, max=65536), torch.export.Dim("length", min=2, max=8192)
    shapes = {name: {0: batch, 1: length} for name in INPUTS}
    try:
        with torch.inference_mode():
            torch.onnx.export(graph, args, str(path), input_names=list(INPUTS), output_names=list(OUTPUTS),
                              dynamic_shapes=shapes, dynamo=True, external_data=True, verbose=False)
    except Exception as exc:  # the exporter raises many kinds; any of them means no graph for this model
        raise ExportError(f"could not export the encoder of {weights or 'the shipped weights'} to ONNX: "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc


def _joint_module(shared):
    import torch
    from torch.nn import functional as F

    from hyperamy.encoder.model import masked_mean

    model = shared.emotion.model
    trunk = model.trunk

    class Joint(torch.nn.Module):
        """ids and masks -> semantic vector (mean-pooled, normalised), mu, kappa, probs, strength, affect."""

        def __init__(self):
            super().__init__()
            self.embeddings = trunk.model.embeddings
            self.lower = torch.nn.ModuleList(trunk.layers[: trunk.split])
            self.tuned = torch.nn.ModuleList(trunk.layers[trunk.split:])
            self.semantic = shared.semantic_layers
            self.model = model

        def forward(self, input_ids, attention_mask, token_mask):
            additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
            hidden = self.embeddings(input_ids=input_ids)
            for layer in self.lower:
                hidden = layer(hidden, additive)
            semantic, tuned = hidden, hidden
            for layer in self.semantic:
                semantic = layer(semantic, additive)
            for layer in self.tuned:
                tuned = layer(tuned, additive)
            pooled = F.normalize(masked_mean(semantic, attention_mask), dim=-1)
            mu, kappa, _ = self.model.heads(tuned, token_mask)
            strength = (self.model.strength(tuned, token_mask) if self.model.has_intensity
                        else torch.full_like(kappa, float("nan")))
            affect = (self.model.affect(tuned, token_mask) if self.model.has_affect
                      else torch.full_like(mu[:, :3], float("nan")))
            return pooled, mu, kappa, self.model.label_probabilities(mu, kappa), strength, affect

    return Joint().eval()
