"""`hyperamy soup`: the uniform average of the tuned weights of several training runs.

Runs that start from the same heads (one `--seed`) and differ only in batch order and dropout
(`--data-seed`) end in one basin of the loss, so their average is a model of its own, usually
as good as the best of them and less dependent on the luck of one order (Wortsman et al. 2022,
"Model soups"). Runs from different seeds start from different random heads: the 64-d space
of one is a rotation of the other's, and averaging them gives noise, so that is refused.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch

from hyperamy.encoder.weights import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE, fingerprint, read_config, read_tensors
from hyperamy.errors import InputError, WeightsError
from hyperamy.files import atomic_path, write_json


def average_runs(runs: Sequence[Path], out: Path) -> dict:
    """Write the mean of the runs' tuned weights and a config naming them into `out`; return that config."""
    from safetensors.torch import save_file

    runs = [Path(run) for run in runs]
    if len(runs) < 2:
        raise InputError("a soup needs at least two weights folders")
    if len({run.resolve() for run in runs}) < len(runs):
        raise InputError("a weights folder is given twice; each run should count once")
    out = Path(out)
    if out.resolve() in {run.resolve() for run in runs}:
        raise InputError(f"--out {out} is one of the runs; write the soup to a new folder")
    configs = [read_config(run) for run in runs]
    encoder = configs[0][0]
    for run, (config, _) in zip(runs[1:], configs[1:]):
        if config != encoder:
            raise InputError(f"{run} has encoder settings {config} unlike {runs[0]}'s {encoder}; "
                             "only runs of one architecture can be averaged")
    seeds = [raw.get("training", {}).get("config", {}).get("seed") for _, raw in configs]
    if None in seeds or len(set(seeds)) > 1:
        listed = ", ".join(f"{run}: {seed}" for run, seed in zip(runs, seeds))
        raise InputError(f"the runs do not share one training --seed ({listed}); runs from different seeds "
                         "start from different heads and their average is noise. Train with one --seed "
                         "and different --data-seed values")
    total: dict[str, torch.Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    for run in runs:
        tensors = read_tensors(run)
        if total and set(tensors) != set(total):
            raise WeightsError(f"{run / WEIGHTS_FILE} holds other tensors than {runs[0] / WEIGHTS_FILE}")
        for name, tensor in tensors.items():
            if name in total and total[name].shape != tensor.shape:
                raise WeightsError(f"{run / WEIGHTS_FILE}: {name} has shape {tuple(tensor.shape)}, "
                                   f"{runs[0]} has {tuple(total[name].shape)}")
            total[name] = total.get(name, 0) + tensor.double()
            dtypes[name] = tensor.dtype
    mean = {name: (value / len(runs)).to(dtypes[name]).contiguous() for name, value in total.items()}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        save_file(mean, str(tmp), metadata={"format_version": str(FORMAT_VERSION)})
    raw = dict(configs[0][1])
    raw["training"] = {
        "soup": [{"run": str(run), "fingerprint": fingerprint(run), "data_seed": _data_seed(config_raw),
                  "best_epoch": config_raw.get("training", {}).get("best_epoch")}
                 for run, (_, config_raw) in zip(runs, configs)],
        "config": configs[0][1]["training"]["config"] | {"data_seed": None},
    }
    write_json(out / CONFIG_FILE, raw)
    return raw


def _data_seed(raw: dict):
    config = raw.get("training", {}).get("config", {})
    return config.get("data_seed") if config.get("data_seed") is not None else config.get("seed")


def soup_lines(training: dict) -> list[str]:
    """Model-card lines naming the runs a soup averages."""
    lines = [f"- a uniform average (model soup) of {len(training['soup'])} runs that share their starting "
             f"heads (seed {training['config'].get('seed')}) and differ in batch order and dropout:"]
    for part in training["soup"]:
        lines.append(f"  - `{part['run']}` (data seed {part['data_seed']}, best epoch {part['best_epoch']}, "
                     f"weights {part['fingerprint']})")
    lines.append(f"- each run's settings: `{json.dumps(training['config'])}`")
    return lines
