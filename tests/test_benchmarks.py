"""Every benchmark script runs on a tiny input and writes its record, so none of them rots."""
import contextlib
import io
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[1]
CORPUS = [
    ("c0", "Dantes sat alone in his cell, overcome with despair."),
    ("c1", "The wedding feast was merry, full of laughter and toasts."),
    ("c2", "Villefort trembled with fear when he read the letter."),
    ("c3", "The ship entered the harbour of Marseilles at noon."),
    ("c4", "Mercedes wept for Edmond, grieving in silence."),
]


# Scripts run in a process of their own: they start Ray or servers, patch what others read, or
# measure their own process's memory. The rest run in this one, as `python benchmarks/NAME` runs
# them (as __main__, with its arguments, from the project folder): torch, sentence-transformers
# and the models are imported once for all of them, not once a script (about 3 s each).
OWN_PROCESS = {"scale.py", "concurrency.py", "serve_load.py", "long_text.py"}


def run_script(name, *args):
    argv = [str(ROOT / "benchmarks" / name), *map(str, args)]
    if name in OWN_PROCESS:
        result = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors), \
            _argv(argv):
        try:
            runpy.run_path(argv[0], run_name="__main__")
        except SystemExit as exit:
            assert exit.code in (None, 0), errors.getvalue()[-3000:]
    return printed.getvalue()


@contextlib.contextmanager
def _argv(argv):
    kept = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = kept


@pytest.fixture()
def tiny_monte_cristo(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in CORPUS))
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"qid": 0, "question": "Who was in despair in a prison cell?", "gold_ids": ["c0"]}) + "\n"
                  + json.dumps({"qid": 1, "question": "Which man was afraid of a letter?", "gold_ids": ["c2"]}) + "\n")
    return corpus, qa


def test_recall_monte_cristo_runs_every_system(tiny_monte_cristo, tmp_path):
    corpus, qa = tiny_monte_cristo
    out = tmp_path / "r.jsonl"
    table = run_script("recall_monte_cristo.py", "--corpus", corpus, "--qa", qa, "--out", out)
    for system in ("hyperamy hybrid", "hyperamy emotion", "BM25 (bm25s)", "MiniLM + FAISS (dense)",
                   "reciprocal-rank fusion", "txtai hybrid"):
        assert system in table
    record = json.loads(out.read_text().splitlines()[-1])
    assert record["metrics"]["qa"]["hyperamy hybrid"]["R@20"] == 1.0  # 5 passages: everything is in the top 20
    assert record["metrics"]["qa"]["txtai hybrid"]["R@20"] == 1.0 and record["commit"]


def test_recall_goemotions_runs_every_system(tmp_path):
    out = tmp_path / "g.jsonl"
    table = run_script("recall_goemotions.py", "--corpus-limit", 60, "--queries", 8, "--out", out)
    for system in ("hyperamy emotion", "MiniLM + FAISS (dense)", "NRC emotion lexicon", "random (expected)"):
        assert system in table
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert 0.0 < metrics["random"]["P@10"] < metrics["hyperamy emotion"]["P@10"] <= 1.0  # feeling finds feeling


def test_recall_fairytaleqa_searches_each_question_within_its_story(tmp_path):
    out = tmp_path / "f.jsonl"
    table = run_script("recall_fairytaleqa.py", "--stories", 1, "--no-txtai", "--out", out)
    for system in ("hyperamy hybrid", "fusion=evidence (hand-set)", "BM25 (bm25s)", "MiniLM + FAISS (dense)",
                   "reciprocal-rank fusion"):
        assert system in table
    questions = [json.loads(line) for line in (ROOT / "data" / "fairytaleqa" / "val" / "questions.jsonl").open()]
    first = sorted({q["story"] for q in questions})[0]
    asked = [q for q in questions if q["story"] == first]
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert metrics["hyperamy hybrid"]["all"]["n"] == len(asked)
    assert metrics["BM25 (bm25s)"]["feeling"]["n"] == sum("feeling" in q["attributes"] for q in asked)
    for system in metrics.values():  # every answer is among the story's sections, so MRR > 0 everywhere
        assert 0 < system["all"]["R@1"] <= system["all"]["R@3"] <= 1 and system["all"]["MRR"] > 0


def test_recall_fairytaleqa_ranks_sections_by_their_best_passage_when_chunked(tmp_path):
    out = tmp_path / "c.jsonl"
    run_script("recall_fairytaleqa.py", "--stories", 1, "--chunk", 48, "--no-peers", "--modes", "lexical", "--out", out)
    record = json.loads(out.read_text().splitlines()[-1])
    lexical = record["metrics"]["hyperamy lexical"]["all"]
    assert record["config"]["chunk"] == 48 and lexical["n"] > 0  # hits name sections, not passages
    assert 0 < lexical["R@1"] <= lexical["R@3"] <= 1


def test_analyzers_each_change_reads_fairytaleqa_questions_better_on_the_first_stories(tmp_path):
    out = tmp_path / "a.jsonl"
    table = run_script("analyzers.py", "--stories", 5, "--out", out)
    found = [m["R@1"] for m in json.loads(out.read_text().splitlines()[-1])["metrics"].values()]
    assert "(english)" in table and len(found) == 4
    assert found[0] < found[1] < found[2]  # words, stems, stems without function words (0.768, 0.795, 0.834)


def test_speed_reports_throughput_and_latency(tiny_monte_cristo, tmp_path):
    corpus, qa = tiny_monte_cristo
    out = tmp_path / "s.jsonl"
    table = run_script("speed.py", "--corpus", corpus, "--qa", qa, "--queries", 3, "--cli-queries", 1,
                       "--synthetic", 5000, "--out", out)
    assert "txtai hybrid index" in table and "Python API" in table and "HNSW" in table
    timings = json.loads(out.read_text().splitlines()[-1])["timings"]
    assert timings["hyperamy_docs_per_s"] > 0 and timings["api_p50_ms"] > 0 and timings["cli_p50_ms"] > 0
    synthetic = timings["synthetic_5000"]
    assert synthetic["flat_recall@10_vs_exact"] == 1.0
    recalls = [synthetic[f"hnsw_ef{ef}_recall@10_vs_exact"] for ef in (128, 512, 1024)]
    assert recalls == sorted(recalls) and recalls[-1] >= 0.99  # a wider search finds more, nearly all at 1024


def test_encoder_speed_compares_with_sentence_transformers(tmp_path):
    out = tmp_path / "e.jsonl"
    table = run_script("encoder_speed.py", "--limit", 100, "--repeats", 1, "--out", out)
    assert "sentence-transformers" in table and "predict --file" in table
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert metrics["ratio"] > 0 and metrics["predict_file_ratio"] > 0


def test_span_leakage_compares_the_other_clause_with_the_own(tmp_path):
    out = tmp_path / "l.jsonl"
    table = run_script("span_leakage.py", "--set", "dev", "--out", out)
    metrics = json.loads(out.read_text().splitlines()[-1])["timings"]
    assert metrics["n"] == 432 and 0 < metrics["leakage"] < metrics["signal"] and "span accuracy" in table


def test_intensity_ladders_compare_with_vader(tmp_path):
    out = tmp_path / "i.jsonl"
    table = run_script("intensity_ladders.py", "--split", "dev", "--out", out)
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert "VADER absolute compound score" in table and len(metrics) == 5
    assert metrics["hyperamy strength"]["pooled"] > metrics["hyperamy kappa"]["pooled"]


def test_robustness_reads_rewritten_comments_and_docstrings(tmp_path):
    out = tmp_path / "b.jsonl"
    table = run_script("robustness.py", "--limit", 60, "--out", out)
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert "rewritten" in table and 0 <= metrics["top1_agreement"] <= 1
    assert metrics["technical_n"] > 100 and metrics["technical_mean_strength"] < 0.5


def test_affect_ceiling_tunes_the_top_layers_on_ratings_alone_and_reports_each_epoch(tmp_path):
    out = tmp_path / "a.jsonl"
    table = run_script("affect_ceiling.py", "--layers", 1, "--epochs", 2, "--limit", 64, "--out", out)
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2] and "held-out tenth V / A / D" in table
    best = max(metrics["epochs"], key=lambda e: sum(e["held_out"]))  # chosen on the held-out tenth, not dev
    assert metrics["chosen_epoch"] == best["epoch"] and metrics["dev_r"] == best["dev"]
    assert best["held_out"][0] > 0.1  # valence is read from 64 sentences already (0.20 after one epoch)


def test_query_latency_times_every_step(tiny_monte_cristo, tmp_path):
    corpus, qa = tiny_monte_cristo
    out = tmp_path / "q.jsonl"
    table = run_script("query_latency.py", "--corpus", corpus, "--qa", qa, "--index", tmp_path / "idx",
                       "--repeats", 1, "--processes", 1, "--out", out)
    record = json.loads(out.read_text().splitlines()[-1])
    steps = record["timings"]
    assert "ONNX Runtime" in table and "fetch the 10 hits" in table and record["dataset"] == "corpus.jsonl (5 passages)"
    assert "as `hyperamy search` (ONNX Runtime: no torch, no transformers)" in table
    assert "torch encoder loaded too" in table and "index opened" in table
    assert "hand-set evidence fusion" in table  # the fitted fusion's cost, beside the one it replaced
    assert len(steps) == 9
    assert all(0 < t["p50_ms"] <= t["p95_ms"] for t in steps.values())


def test_compare_runs_gives_each_runs_training_objective_and_probes(tiny_data, tmp_path):
    from hyperamy.config import EncoderConfig, TrainConfig
    from hyperamy.training.train import train

    runs = []
    for data_seed in (1, 2):
        runs.append(tmp_path / f"d{data_seed}")
        config = TrainConfig(epochs=2, batch_size=2, patience=10, lr_backbone=3e-4, lr_heads=1e-2, seed=5,
                             data_seed=data_seed)
        train(tiny_data, runs[-1], EncoderConfig(tuned_layers=1), config, show_progress=False)
    out = tmp_path / "c.jsonl"
    table = run_script("compare_runs.py", *runs, "--data", tiny_data, "--probe", "I'm so scared", "--out", out)
    record = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert "dev loss" in table and "probe 1: I'm so scared" in table
    for run in runs:
        best = min(e["dev_loss"] for e in json.loads((run / "metrics_history.json").read_text()))
        assert record[str(run)]["dev_loss"] == pytest.approx(best, rel=1e-3)  # weights saved in float16
        assert [p["text"] for p in record[str(run)]["probes"]] == ["I'm so scared"]


@pytest.mark.parametrize("name, option", [("recall_monte_cristo.py", "--qa"), ("recall_goemotions.py", "--corpus"),
                                          ("speed.py", "--corpus"), ("encoder_speed.py", "--texts"),
                                          ("query_latency.py", "--qa")])
def test_a_missing_input_file_is_a_usage_error(name, option, tmp_path):
    missing = tmp_path / "nope.jsonl"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), option, str(missing)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert f"error: argument {option}: no such file: {missing}" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("name, option", [("recall_monte_cristo.py", "--weights"), ("recall_goemotions.py", "--weights"),
                                          ("encoder_speed.py", "--weights"), ("compare_runs.py", None),
                                          ("affect_ceiling.py", "--weights"), ("arousal_weight.py", "--weights")])
def test_a_missing_weights_folder_is_a_usage_error(name, option, tmp_path):
    missing = tmp_path / "no-run"
    args = [option, str(missing)] if option else [str(missing)]
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert f"weights folder {missing} does not exist" in result.stderr and "Traceback" not in result.stderr


def test_query_precision_compares_int8_query_graphs_with_float32(tmp_path):
    from hyperamy import HyperAmy

    out, index = tmp_path / "q.jsonl", tmp_path / "idx"
    HyperAmy.open(index, create=True).add([{"id": str(i), "text": f"The sailor wept with joy on day {i}."}
                                           for i in range(5)])
    table = run_script("query_precision.py", "--texts", 4, "--questions", 4, "--passages", 40, "--out", out,
                       "--index", index, "--repeats", 1)
    assert "| int8 per-channel |" in table and "| float32 (shipped) |" in table
    assert "whole hybrid searches of" in table and "with int8" in table
    record = json.loads(out.read_text().splitlines()[-1])
    assert record["config"] == {"texts": 8, "passages": 40, "index": str(index)}
    searched = record["timings"]["search"]
    assert searched["n"] == 4 and searched["int8_p50_ms"] > 0 and searched["float32_p50_ms"] > 0
    assert "HYPERAMY_QUERY_PRECISION" not in os.environ  # the script set it only while loading
    for name in ("int8 per-tensor", "int8 per-channel"):
        assert 0.5 < record["metrics"][name]["semantic_cosine_median"] < 1.0  # close to float32, not the same graph
        assert record["timings"][name]["int8_p50_ms"] > 0
    assert set(record["metrics"]["dense_recall@10"]) == {"float32", "int8 per-tensor", "int8 per-channel"}


def test_write_cost_times_writes_at_each_size(tmp_path):
    out = tmp_path / "w.jsonl"
    table = run_script("write_cost.py", "--sizes", "30,60", "--repeats", 3, "--out", out)
    assert "| 60 |" in table and "add_1_s at 60 / at 30" in table
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert metrics["60"]["documents"] == 60 + 3 + 300 - 3  # base, 3 singles, 3 batches of 100, 3 deleted


def test_million_grows_one_index_and_times_it_at_each_size(tmp_path):
    out = tmp_path / "m.jsonl"
    table = run_script("million.py", "--sizes", "30,60", "--queries", 3, "--repeats", 2, "--anchors", 40, "--index", tmp_path / "idx",
                       "--out", out)
    assert "| 60 |" in table
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert metrics["30"]["documents"] == 30 and metrics["60"]["documents"] == 60  # 2 real passages in, 2 out, each size
    assert metrics["60"]["hnsw_recall_at_10"] == 1.0  # 60 vectors: the graph finds them all
    assert metrics["60"]["first_open_s"] > 0 and metrics["60"]["rss_after_open_mb"] > 0
    searched = metrics["60"]  # after a search: private and file-backed pages make up what is resident
    assert searched["anon_searched_mb"] + searched["file_searched_mb"] == pytest.approx(searched["rss_searched_mb"],
                                                                                         abs=1.0)
    assert sorted(p.name for p in (tmp_path / "idx" / "segments").glob("*/verified.json"))  # opening stamped them
    run_script("million.py", "--measure-only", "--queries", 2, "--repeats", 1, "--index", tmp_path / "idx", "--out", out)
    measured = json.loads(out.read_text().splitlines()[-1])
    assert measured["config"]["measure_only"] and list(measured["metrics"]) == ["60"]
    assert measured["metrics"]["60"]["add_1_s"] is None and measured["metrics"]["60"]["hnsw_recall_at_10"] == 1.0
    run_script("million.py", "--measure-only", "--writes", "--queries", 2, "--repeats", 2, "--index",
               tmp_path / "idx", "--out", out)
    written = json.loads(out.read_text().splitlines()[-1])["metrics"]["60"]
    assert written["add_1_s"] > 0 and written["delete_1_s"] > 0 and written["compact_s"] is None
    assert written["documents"] == 60  # counted before its writes: 2 real passages in, 2 synthetic ones out
    from hyperamy.engine import HyperAmy

    assert len(HyperAmy.open(tmp_path / "idx")) == 60
    usage = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "million.py"), "--sizes", "60,30"],
                           capture_output=True, text=True)
    assert usage.returncode == 2 and "--sizes must be positive and ascending" in usage.stderr
    for bad, said in ((["--sizes", "10,x"], "whole numbers"), (["--queries", "0"], "at least 1"),
                      (["--repeats", "0"], "at least 1")):
        refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "million.py"), *bad, "--index",
                                  str(tmp_path / "never")], capture_output=True, text=True)
        assert refused.returncode == 2 and said in refused.stderr and not (tmp_path / "never").exists()
    # the breadth of the graph's search, on that index: every breadth finds all 60 vectors' top 10
    asked = tmp_path / "asked.jsonl"
    asked.write_text("".join(json.dumps({"question": q}) + "\n" for q in ("Who wept for Edmond?", "A ship at noon")))
    breadths = tmp_path / "b.jsonl"
    table = run_script("hnsw_breadth.py", "--index", tmp_path / "idx", "--breadths", "16,64", "--choose", asked,
                       "--report", asked, "--repeats", 1, "--out", breadths)
    assert "| reporting (public) | 2 | 64 | 1.000 | 1.000 |" in table
    swept = json.loads(breadths.read_text().splitlines()[-1])["metrics"]
    assert sorted(swept) == sorted(f"{s} ef{b}" for s in ("choosing (paraphrase dev)", "reporting (public)")
                                   for b in (16, 64))
    assert all(m["recall_at_10"] == m["top10_in_100"] == 1.0 and m["questions"] == 2 for m in swept.values())
    for bad, said in ((["--breadths", "wide"], "whole numbers"), (["--breadths", "0,64"], "at least 1"),
                      (["--repeats", "0"], "at least 1")):
        refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "hnsw_breadth.py"), "--index",
                                  str(tmp_path / "idx"), "--out", str(breadths), *bad], capture_output=True, text=True)
        assert refused.returncode == 2 and said in refused.stderr
    assert len(breadths.read_text().splitlines()) == 1  # nothing recorded for them


def test_sentence_windows_compares_readings_of_a_section(tmp_path):
    out = tmp_path / "s.jsonl"
    table = run_script("sentence_windows.py", "--every", 116, "--out", out)  # 2 stories
    assert "| single sentences, each encoded |" in table
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert metrics["whole"]["0.0"] == metrics["single sentences, each encoded"]["0.0"]  # BM25 alone: one figure
    assert metrics["whole"]["1.0"] != metrics["single sentences, each encoded"]["1.0"]


def test_passage_reading_compares_whole_and_sentence_readings(tmp_path):
    out = tmp_path / "p.jsonl"
    table = run_script("passage_reading.py", "--split", "val", "--limit", 6, "--out", out)
    assert "| strongest sentence |" in table and "6 passages" in table
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert set(metrics) == {"whole", "strongest sentence", "sentences weighted by strength"}
    assert metrics["whole"]["fairytaleqa_top1"] <= metrics["whole"]["fairytaleqa_top3"]


def test_concurrency_trials_pass(tmp_path):
    out = tmp_path / "c.jsonl"
    table = run_script("concurrency.py", "--trials", 1, "--docs", 30, "--scenarios", "index+delete,index+index",
                       "--out", out)
    assert "| index+delete | 1 | 1 | 0 |" in table and "| index+index | 1 | 1 | 0 |" in table


def test_serve_load_reports_throughput_and_lost_writes(tmp_path):
    out = tmp_path / "l.jsonl"
    table = run_script("serve_load.py", "--limit", 60, "--duration", 3, "--clients", 2, "--upserts", 20, "--batch", 10,
                       "--deletes", 5, "--no-txtai", "--out", out)
    assert "| hyperamy serve |" in table
    result = json.loads(out.read_text().splitlines()[-1])["metrics"]["hyperamy serve"]
    assert (result["search_errors"], result["lost_writes"], result["deleted_but_present"]) == (0, 0, 0)
    assert result["acknowledged_writes"] == 20 and result["requests"] > 0


def test_scale_compares_ray_builds_and_shards_with_one_process(tmp_path):
    out = tmp_path / "scale.jsonl"
    table = run_script("scale.py", "--limit", 60, "--queries", 4, "--out", out)
    assert "--ray, 2 actor(s)" in table and "2 shards" in table
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert metrics["ray_2_same_top10"] and metrics["sharded_same_top10"] and metrics["ray_2_same_documents"]
    assert metrics["ray_2_max_vector_difference"] < 1e-5


def test_long_text_adds_one_long_text_and_measures_its_memory(tmp_path):
    out = tmp_path / "l.jsonl"
    table = run_script("long_text.py", "--megabytes", 0.5, "--out", out)
    assert "| 500,000 characters |" in table
    metrics = json.loads(out.read_text().splitlines()[-1])["metrics"]
    assert metrics["characters"] == 500_000 and metrics["stored_whole"] is True
    assert metrics["peak_rss_mb"] >= metrics["rss_before_mb"] > 0
    assert metrics["mentions"] > 0  # the names within the encoder's reach were found and read


def test_document_precision_compares_bfloat16_with_float32_and_sentence_transformers(tmp_path):
    out = tmp_path / "d.jsonl"
    table = run_script("document_precision.py", "--limit", 40, "--repeats", 1, "--goemotions", 40, "--passages", 200,
                       "--out", out)
    assert "sentence-transformers (float32, batch 64)" in table and "hyperamy bfloat16 (batch 16)" in table
    record = json.loads(out.read_text().splitlines()[-1])
    assert record["metrics"]["fidelity"]["semantic_min_cos"] > 0.9999
    recall = record["metrics"]["dense_recall@10"]
    assert set(recall) == {"float32", "bfloat16"} and set(recall["float32"]) == {"public", "paraphrased test"}
    assert abs(record["metrics"]["goemotions_macro_f1"]["float32"]
               - record["metrics"]["goemotions_macro_f1"]["bfloat16"]) < 0.05
    assert record["timings"]["ratio_to_sentence_transformers"]["sentence-transformers (float32, batch 64)"] == 1.0


def test_fit_question_adapter_chooses_its_settings_by_story_folds_and_writes_the_fold_maps(tmp_path):
    from hyperamy.search import question_meaning

    output = run_script("fit_question_adapter.py", "--stories", 10, "--cache", tmp_path)
    assert "dense R@1 within the story, unmoved:" in output and "chosen: penalty" in output
    assert output.count(" epochs: held-out dense R@1") == 8  # four penalties, two epoch counts
    for part in range(5):
        backbone, weight = question_meaning.read(tmp_path / "question_meaning" / f"fold{part}.safetensors")
        assert backbone == "all-MiniLM-L6-v2" and weight.shape == (384, 384) and abs(weight).sum() > 0


def test_emotion_similarity_compares_ways_of_matching_feelings(tmp_path):
    table = run_script("emotion_similarity.py", "--cache", tmp_path, "--corpus", 200, "--queries", 20)
    assert "20 queries over 200 comments" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "way of matching" not in line]
    assert len(rows) == 5 and rows[0].startswith("| shipped: the chance both read as one non-neutral label")
    for row in rows:  # three P@10 figures, each a share
        assert all(0.0 <= float(cell) <= 1.0 for cell in row.strip("| ").split(" | ")[1:])
