"""Query encoding in int8: ONNX Runtime's dynamic quantization of the query graph, against the
float32 graph `hyperamy search` runs by default, for speed and fidelity. The per-channel graph is
what $HYPERAMY_QUERY_PRECISION=int8 runs (hyperamy/encoder/graph.py); per-tensor is a probe.
onnx_runtime.py quantized documents and queries together (dense Recall@10 moved by 0.04 either
way); here documents stay float32, as indexes store them, and only the query is int8.

    python benchmarks/query_precision.py                        # 200 questions + 300 GoEmotions dev texts
    python benchmarks/query_precision.py --texts 20 --passages 200   # smoke
    python benchmarks/query_precision.py --index DIR            # also whole hybrid searches of an index

With --index, whole hybrid searches through the Python API (k = 10, the --questions) are timed
with each precision's query encoder, alternating question by question in one process.

Each graph is timed alternately with float32 in one run (medians of single queries, ONNX Runtime's
default threads). Fidelity to float32: the cosine of the semantic vector and of the emotion
direction `mu`, and the share of texts with the same top label. Dense Recall@10 of the Monte Cristo
public questions and the paraphrased dev half over the corpus passages (documents encoded by the
shipped encoder), with float32 queries and with each int8 graph's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, SHARED, input_file, markdown_table, write_record  # noqa: E402

PROBES = {"int8 per-tensor": {"per_channel": False}}  # quantized here; per-channel is the shipped int8 graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--qa", type=input_file, default=str(SHARED / "monte_cristo" / "qa.jsonl"))
    parser.add_argument("--paraphrased", type=input_file,
                        default=str(DATA / "paraphrased" / "monte_cristo_dev.jsonl"))
    parser.add_argument("--goemotions", type=input_file, default=str(DATA / "goemotions" / "dev.tsv"))
    parser.add_argument("--texts", type=int, default=300, help="GoEmotions dev texts timed and compared")
    parser.add_argument("--questions", type=int, default=200, help="Monte Cristo questions timed and compared")
    parser.add_argument("--passages", type=int, default=0, help="use only the first N corpus passages (0: all)")
    parser.add_argument("--index", type=Path, help="an index to time whole hybrid searches on, both ways")
    parser.add_argument("--repeats", type=int, default=3, help="with --index: passes over the questions")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/query_precision.jsonl)")
    args = parser.parse_args()
    if args.index is not None and not (args.index / "manifest.json").is_file():
        parser.error(f"argument --index: {args.index} is not a hyperamy index")

    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from hyperamy.corpus import read_records
    from hyperamy.encoder.graph import ensure_graph
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.encoder.runtime import OUTPUTS, OnnxQueryEncoder
    from hyperamy.encoder.weights import model_id

    shipped = OnnxQueryEncoder.load(precision="float32")  # the default, whatever $HYPERAMY_QUERY_PRECISION says
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    sessions = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, settings in PROBES.items():
            target = Path(folder) / f"{name.replace(' ', '_')}.onnx"
            quantize_dynamic(str(ensure_graph(None, model_id())), str(target), weight_type=QuantType.QInt8,
                             **settings)
            sessions[name] = onnxruntime.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
    sessions["int8 per-channel"] = OnnxQueryEncoder.load(precision="int8").session  # what int8 searches run

    def encode(session, text: str) -> list[np.ndarray]:
        tokens = shipped.tokenizer.encode(text)
        ids = np.asarray([tokens.ids], np.int64)
        return session.run(list(OUTPUTS), {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                           "token_mask": np.ones((1, len(tokens.ids)), np.float32)})

    questions = [json.loads(line)["question"] for line in args.qa.read_text("utf-8").splitlines() if line.strip()]
    texts = questions[:args.questions] + [line.split("\t")[0] for line in
                                          args.goemotions.read_text("utf-8").splitlines()[:args.texts]]
    for text in texts[:10]:  # first calls out of the timing
        for session in (shipped.session, *sessions.values()):
            encode(session, text)
    metrics, timings = {}, {}
    for name, session in sessions.items():
        float_seconds, int_seconds, semantic, mu, same = [], [], [], [], []
        for text in texts:
            started = time.perf_counter()
            reference = encode(shipped.session, text)
            middle = time.perf_counter()
            quantized = encode(session, text)
            float_seconds.append(middle - started)
            int_seconds.append(time.perf_counter() - middle)
            semantic.append(_cosine(reference[0], quantized[0]))
            mu.append(_cosine(reference[1], quantized[1]))
            same.append(int(reference[3].argmax() == quantized[3].argmax()))
        timings[name] = {"float32_p50_ms": 1000 * statistics.median(float_seconds),
                         "int8_p50_ms": 1000 * statistics.median(int_seconds)}
        metrics[name] = {"semantic_cosine_median": statistics.median(semantic), "semantic_cosine_min": min(semantic),
                         "mu_cosine_median": statistics.median(mu), "mu_cosine_min": min(mu),
                         "same_top_label": float(np.mean(same))}

    records = list(read_records(args.corpus))
    records = records[:args.passages] if args.passages else records
    ids = np.asarray([r.id for r in records])
    documents = SharedTrunkEncoder.load().encode([r.text for r in records]).semantic
    documents /= np.linalg.norm(documents, axis=1, keepdims=True)
    recall = {}
    for label, path in (("public", args.qa), ("paraphrased dev", args.paraphrased)):
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
        for name, session in (("float32", shipped.session), *sessions.items()):
            found = []
            for row in rows:
                query = encode(session, row["question"])[0].ravel()
                top = set(ids[np.argsort(-(documents @ (query / np.linalg.norm(query))))[:10]].tolist())
                found.append(bool(top & set(row["gold_ids"])))
            recall.setdefault(name, {})[label] = float(np.mean(found))
    metrics["dense_recall@10"] = recall
    if args.index is not None:
        timings["search"] = _searches(args.index, questions[:args.questions], args.repeats)

    table = [["float32 (shipped)", "-", "1", "1", "1", *(f"{recall['float32'][s]:.3f}" for s in recall["float32"])]]
    for name in sessions:
        m, t = metrics[name], timings[name]
        table.append([name, f"{t['int8_p50_ms']:.2f} ms against {t['float32_p50_ms']:.2f} "
                      f"({t['float32_p50_ms'] / t['int8_p50_ms']:.2f}x)",
                      f"{m['semantic_cosine_median']:.4f} / {m['semantic_cosine_min']:.4f}",
                      f"{m['mu_cosine_median']:.4f} / {m['mu_cosine_min']:.4f}", f"{m['same_top_label']:.3f}",
                      *(f"{recall[name][s]:.3f}" for s in recall[name])])
    print(markdown_table(["query graph", "p50 a query (float32 in the same run)", "semantic cosine median / min",
                          "mu cosine median / min", "same top label",
                          *(f"dense R@10 {s}" for s in recall["float32"])], table))
    if "search" in timings:
        searched = timings["search"]
        print(f"\nwhole hybrid searches of {args.index} (Python API, k = 10, {searched['n']} each, alternating): "
              f"p50 {searched['float32_p50_ms']:.2f} ms with float32 queries, {searched['int8_p50_ms']:.2f} ms "
              f"with int8 ({searched['float32_p50_ms'] / searched['int8_p50_ms']:.2f}x); p95 "
              f"{searched['float32_p95_ms']:.2f} / {searched['int8_p95_ms']:.2f} ms")
    path = write_record("query_precision", {"texts": len(texts), "passages": len(records),
                                            "index": str(args.index) if args.index else None},
                        f"{args.qa.name}, {args.goemotions.name}, {args.paraphrased.name}, {args.corpus.name}",
                        metrics, timings, args.out)
    print(f"\nrecord appended to {path}")


def _searches(index: Path, questions: list[str], repeats: int) -> dict:
    """Whole hybrid searches with each precision's query encoder, alternating question by question."""
    from common import percentile

    from hyperamy.engine import HyperAmy

    engines = {}
    for precision in ("float32", "int8"):
        os.environ["HYPERAMY_QUERY_PRECISION"] = precision  # read when the engine loads its query encoder
        engines[precision] = HyperAmy.open(index)
        engines[precision].search(questions[0], k=10)  # loads it, out of the timing
        assert engines[precision].query_encoder.precision == precision
    del os.environ["HYPERAMY_QUERY_PRECISION"]
    seconds = {precision: [] for precision in engines}
    for _ in range(repeats):
        for question in questions:
            for precision, engine in engines.items():
                started = time.perf_counter()
                engine.search(question, k=10)
                seconds[precision].append(time.perf_counter() - started)
    result = {"n": len(seconds["int8"])}
    for precision, values in seconds.items():
        result[f"{precision}_p50_ms"] = 1000 * statistics.median(values)
        result[f"{precision}_p95_ms"] = 1000 * percentile(values, 95)
    return result


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


if __name__ == "__main__":
    main()
