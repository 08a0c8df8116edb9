"""Encoder throughput: hyperamy's emotion encoder beside plain sentence-transformers, same backbone,
and `hyperamy predict --file` (reading a file, encoding, writing JSON Lines) beside the encoder alone.

    python benchmarks/encoder_speed.py                      # GoEmotions test texts
    python benchmarks/encoder_speed.py --limit 200 --repeats 1   # smoke run
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, input_file, markdown_table, timed, weights_folder, write_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=input_file, default=str(DATA / "goemotions" / "test.tsv"), help="GoEmotions-style TSV")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N texts")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per system; the median is reported")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/encoder_speed.jsonl)")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from hyperamy.encoder import EmotionEncoder
    from hyperamy.encoder.weights import resolve_backbone

    texts = [line.split("\t")[0] for line in args.texts.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = texts[: args.limit] if args.limit else texts
    encoder = EmotionEncoder.load(args.weights)
    plain = SentenceTransformer(str(resolve_backbone(encoder.config.backbone)), device="cpu")
    plain.max_seq_length = encoder.config.max_length
    # warm both up so neither pays first-call costs inside the timing
    encoder.encode(texts[:64])
    plain.encode(texts[:64])
    with torch.inference_mode():
        plain_seconds, _ = timed(lambda: plain.encode(texts, batch_size=args.batch_size), args.repeats)
        ours_seconds, _ = timed(lambda: encoder.encode(texts, batch_size=args.batch_size), args.repeats)
        file_seconds = label_file_seconds(encoder, texts, args.repeats)
    rows = [["sentence-transformers (same backbone, 384-d vector)", len(texts) / plain_seconds, 1.0, ""],
            ["hyperamy EmotionEncoder (mu, kappa, 28 probs)", len(texts) / ours_seconds,
             plain_seconds / ours_seconds, 1.0],
            ["hyperamy predict --file (read .txt, encode, write JSON Lines)", len(texts) / file_seconds,
             plain_seconds / file_seconds, ours_seconds / file_seconds]]
    print(markdown_table(["system", "texts/s (median)", "ratio to sentence-transformers",
                          "ratio to EmotionEncoder.encode"], rows))
    path = write_record("encoder_speed", {"batch_size": args.batch_size, "repeats": args.repeats,
                                          "threads": torch.get_num_threads()},
                        f"{args.texts.name} ({len(texts)} texts)",
                        {"ratio": plain_seconds / ours_seconds, "predict_file_ratio": ours_seconds / file_seconds},
                        {"plain_texts_per_s": len(texts) / plain_seconds, "ours_texts_per_s": len(texts) / ours_seconds,
                         "predict_file_texts_per_s": len(texts) / file_seconds},
                        args.out)
    print(f"\nrecord appended to {path}")


def label_file_seconds(encoder, texts: list[str], repeats: int) -> float:
    """Median seconds of predict --file's loop (hyperamy.labelling) over the texts as a .txt file."""
    import tempfile

    from hyperamy.labelling import LabelView, Sink, label_file

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "texts.txt", Path(folder) / "labels.jsonl"
        source.write_text("".join(t.replace("\n", " ") + "\n" for t in texts), encoding="utf-8")

        def run() -> None:
            sink = Sink(str(target), "jsonl", LabelView("goemotions", encoder.thresholds))
            written = label_file(encoder, str(source), sink, top=3, with_mu=False)
            sink.close(True)
            assert written == len(texts), (written, len(texts))

        seconds, _ = timed(run, repeats)
    return seconds


if __name__ == "__main__":
    main()
