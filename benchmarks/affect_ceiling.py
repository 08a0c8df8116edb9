"""How far valence, arousal and dominance can be read from EmoBank with this backbone at all.

Tunes the top `--layers` transformer layers of an encoder (all six: the whole MiniLM) and a
linear head over their mean token state on valence, arousal and dominance alone: EmoBank train,
less the tenth `hyperamy train` holds out (the same hash split, read_emobank), for `--epochs`,
scoring that tenth and EmoBank dev after every epoch (Pearson r per dimension). No label loss
shares the layers, so this bounds what the shipped multi-task model's affect head can reach.

    python benchmarks/affect_ceiling.py --layers 6 --epochs 3 --lr 5e-5 [--weights DIR]

The dev split is reported, never chosen on: read the epoch off the held-out tenth.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, markdown_table, weights_folder, write_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=weights_folder, help="start from these weights [the shipped model]")
    parser.add_argument("--layers", type=int, default=6, help="top transformer layers to tune (1-6)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5, help="learning rate of the tuned layers (head: 2e-3)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="train and score on the first N sentences of each part only (a smoke run)")
    parser.add_argument("--out", type=Path, help="results file [benchmarks/results/affect_ceiling.jsonl]")
    args = parser.parse_args()

    import torch
    from scipy.stats import pearsonr
    from torch.nn import functional as F

    from hyperamy.config import TrainConfig
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.training.data import read_emobank
    from hyperamy.encoder.tokens import check_texts, tokenize

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    encoder = EmotionEncoder.load(args.weights)
    trunk = encoder.model.trunk
    layers = trunk.layers
    if not 1 <= args.layers <= len(layers):
        parser.error(f"--layers must be 1 to {len(layers)}")
    split = len(layers) - args.layers
    for parameter in encoder.model.parameters():
        parameter.requires_grad = False
    tuned = [p for layer in layers[split:] for p in layer.parameters()]
    for parameter in tuned:
        parameter.requires_grad = True
    head = torch.nn.Linear(trunk.model.config.hidden_size, 3)

    path = DATA / "emobank"
    fit = read_emobank(path / "train.jsonl", TrainConfig.affect_holdout, "train")[: args.limit or None]
    held = read_emobank(path / "train.jsonl", TrainConfig.affect_holdout, "test")[: args.limit or None]
    dev = read_emobank(path / "dev.jsonl")[: args.limit or None]
    rated = torch.tensor([s.affect for s in fit], dtype=torch.float32)
    mean, spread = rated.mean(0), rated.std(0)

    def forward(texts):
        batch = tokenize(encoder.tokenizer, check_texts(texts), None, encoder.config.max_length)
        attention = batch["attention_mask"]
        with torch.no_grad():
            hidden = trunk.run_layers(trunk.model.embeddings(input_ids=batch["input_ids"]), attention, layers[:split])
        hidden = trunk.run_layers(hidden, attention, layers[split:])
        mask = attention.unsqueeze(-1).float()
        return head((hidden * mask).sum(1) / mask.sum(1))

    def score(samples) -> list[float]:
        with torch.inference_mode():
            predicted = torch.cat([forward([s.text for s in samples[i:i + 128]]) for i in range(0, len(samples), 128)])
        truth = np.asarray([s.affect for s in samples])
        return [round(float(pearsonr(predicted[:, j].numpy(), truth[:, j])[0]), 3) for j in range(3)]

    steps = args.epochs * (len(fit) // args.batch_size)
    optimizer = torch.optim.AdamW([{"params": tuned, "lr": args.lr}, {"params": head.parameters(), "lr": 2e-3}],
                                  weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[args.lr, 2e-3], total_steps=steps,
                                                   pct_start=0.06, anneal_strategy="linear")
    started, epochs = time.time(), []
    for epoch in range(args.epochs):
        order = list(range(len(fit)))
        rng.shuffle(order)
        for i in range(0, len(order) - args.batch_size + 1, args.batch_size):
            batch = [fit[j] for j in order[i:i + args.batch_size]]
            target = (torch.tensor([s.affect for s in batch], dtype=torch.float32) - mean) / spread
            loss = F.mse_loss(forward([s.text for s in batch]), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        epochs.append({"epoch": epoch + 1, "held_out": score(held), "dev": score(dev),
                       "seconds": round(time.time() - started)})
        print(epochs[-1], flush=True)
    chosen = max(epochs, key=lambda e: sum(e["held_out"]))
    print(markdown_table(["epoch", "held-out tenth V / A / D", "EmoBank dev V / A / D", "s"],
                         [[e["epoch"], " / ".join(map(str, e["held_out"])), " / ".join(map(str, e["dev"])),
                           e["seconds"]] for e in epochs]))
    print(f"chosen on the held-out tenth: epoch {chosen['epoch']}, EmoBank dev r {chosen['dev']}")
    write_record("affect_ceiling", vars(args) | {"weights": str(args.weights or "shipped"), "out": None},
                 "EmoBank train (fit) / its held-out tenth (choice) / dev (report)",
                 {"epochs": epochs, "chosen_epoch": chosen["epoch"], "dev_r": chosen["dev"]},
                 {"seconds": epochs[-1]["seconds"]}, args.out)


if __name__ == "__main__":
    main()
