"""Fit hybrid search's fusion on real questions: a linear model over each leg's evidence.

Training queries (none from a set that reports a figure):
- FairytaleQA train: 8,548 expert-written questions, each searched within its story;
- Monte Cristo paraphrases, dev half (data/paraphrased/monte_cristo_dev.jsonl) over the 10,000 passages;
- GoEmotions train: comments as queries over other train comments, relevant when they share a
  non-neutral label (emotion retrieval).

For each query, hyperamy's own candidates (every leg's top, as `search` finds them) and their
features (hyperamy/rerank.py FEATURES: each leg standardised over the candidates, the evidence-
weighted legs, the emotion term with and without the query's certainty, ...). The model is a
listwise softmax: maximise the probability of the relevant candidates among each query's
candidates, with an L2 penalty; each training set weighs the same whatever its size, but the
paraphrases' weight against GoEmotions is chosen (below; --paraphrase-weight fixes it). A question's
score uses only the question_ weights and a statement's only the others, so the fit is two fits:
questions (FairytaleQA) and statements (the paraphrases, GoEmotions). For each half, its penalty
(and for the statements the paraphrases' weight: 1, 0.5, 0.25 or 0.1) is chosen by 5-fold
cross-validation (FairytaleQA folds by story, the other sets by query) on what the half adds to
the mean of the three sets' held-out R@1 (within 0.005 of the best, the strongest penalty, then
the weight nearest 1); then each half is fitted on all its queries and the weights are written to
hyperamy/fusion.json.

    python benchmarks/fit_fusion.py --cache runs/fusion      # features are cached there
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, SHARED, engine_for, story_folds  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "hyperamy" / "fusion.json"


def candidates(engine, query: str, where: str | None, question_map: np.ndarray | None = None):
    """Every candidate hyperamy's legs propose for the query (as a hybrid search finds them), and
    their features (rerank.features). A question's meaning is moved as search moves it
    (search/question_meaning.py), by `question_map` where given instead of the shipped map."""
    from hyperamy.rerank import asks_feeling, asks_question
    from hyperamy.search import Query, candidates as proposed, question_meaning

    view = engine.refresh()
    allowed = view.store.filter_rows(where, [])
    if allowed is not None:
        allowed = view.alive(allowed)
    encoded = engine.query_encoder.encode_query(query, None)
    felt = encoded.emotion
    meaning = question_meaning.for_search(encoded.semantic[0], query, view.manifest["models"]["encoder"], question_map)
    found = proposed(view, engine.settings, view.manifest["models"]["alpha"],
                     Query(query, meaning, felt.mu[0], felt.probs[0], float(felt.kappa[0])),
                     1, "hybrid", allowed)
    by_row = view.fetch(found.rows) if len(found.rows) else {}
    ids = [by_row[int(r)]["id"] for r in found.rows]
    # what rerank.features is made of: (candidates, 10), what is said of the query repeated
    return ids, np.stack([found.semantic, found.lexical, found.feeling,
                          np.full(len(ids), found.query_certainty), np.full(len(ids), found.semantic_share),
                          np.nan_to_num(found.strength), np.full(len(ids), float(asks_feeling(query))),
                          found.together, found.together_pair, np.full(len(ids), float(asks_question(query)))],
                         axis=1)


def question_maps(cache: Path) -> list[np.ndarray]:
    """The five fold maps of fit_question_adapter.py: fold k's questions are read through the map fitted
    without them, so the fusion learns from the semantic scores an unseen question gets."""
    from hyperamy.search import question_meaning

    folder = cache / "question_meaning"
    if not all((folder / f"fold{k}.safetensors").is_file() for k in range(5)):
        sys.exit(f"no fold maps in {folder}: run python benchmarks/fit_question_adapter.py --cache {cache} first")
    return [question_meaning.read(folder / f"fold{k}.safetensors")[1] for k in range(5)]


def fairytaleqa(cache: Path):
    from hyperamy.store import literal

    folder = DATA / "fairytaleqa" / "train"
    sections = [json.loads(line) for line in (folder / "sections.jsonl").open(encoding="utf-8")]
    questions = [json.loads(line) for line in (folder / "questions.jsonl").open(encoding="utf-8")]
    engine = engine_for(cache / "fairytaleqa_train", [{"id": s["id"], "text": s["text"], "story": s["story"],
                                                        "section": s["section"]} for s in sections])
    maps, fold = question_maps(cache), story_folds(q["story"] for q in questions)
    for q in questions:
        ids, x = candidates(engine, q["question"], f"story = {literal(q['story'])}", maps[fold[q["story"]]])
        if ids:
            yield q["story"], x, np.asarray([i in set(q["gold_ids"]) for i in ids])


def paraphrases(cache: Path):
    records = [json.loads(line) for line in (SHARED / "monte_cristo" / "corpus.jsonl").open(encoding="utf-8")]
    engine = engine_for(cache / "monte_cristo", records)
    for line in (DATA / "paraphrased" / "monte_cristo_dev.jsonl").open(encoding="utf-8"):
        q = json.loads(line)
        ids, x = candidates(engine, q["question"], None)
        yield "paraphrase", x, np.asarray([i in set(q["gold_ids"]) for i in ids])


def goemotions(cache: Path, corpus: int = 4000, queries: int = 400):
    rows = []
    for line in (DATA / "goemotions" / "train.tsv").open(encoding="utf-8"):
        text, labels, comment = line.rstrip("\n").split("\t")[:3]
        rows.append((comment, text, frozenset(int(x) for x in labels.split(",")) - {27}))
    random.Random(2026).shuffle(rows)
    documents, asked = rows[:corpus], [r for r in rows[corpus:] if r[2]][:queries]
    engine = engine_for(cache / "goemotions_train", [{"id": c, "text": t} for c, t, _ in documents])
    labels = {c: l for c, _, l in documents}
    for _, text, wanted in asked:
        ids, x = candidates(engine, text, None)
        yield "goemotions", x, np.asarray([bool(labels[i] & wanted) for i in ids])


def featured(raw: np.ndarray) -> np.ndarray:
    from hyperamy import rerank

    return rerank.features(raw[:, 0], raw[:, 1], raw[:, 2], float(raw[0, 3]), float(raw[0, 4]), raw[:, 5],
                           bool(raw[0, 6]), raw[:, 7], raw[:, 8], bool(raw[0, 9]))


def loss(weights, groups, penalty):
    """Listwise softmax loss (each group's queries weigh 1 / its size) and its gradient."""
    total, grad = 0.0, np.zeros_like(weights)
    for x, y, share in groups:
        s = x @ weights
        s = s - s.max()
        p = np.exp(s)
        p /= p.sum()
        q = np.where(y, p, 0.0)
        q /= q.sum()
        total -= share * np.log(np.exp(s)[y].sum() / np.exp(s).sum())
        grad -= share * (x.T @ (q - p))
    return total + penalty * weights @ weights, grad + 2 * penalty * weights


def fit(groups, penalty, start):
    """The weights minimising `loss`; those of rerank.NON_NEGATIVE features kept at 0 or above."""
    from scipy.optimize import minimize

    from hyperamy import rerank

    bounds = [(0.0, None) if name.removeprefix("question_") in rerank.NON_NEGATIVE else (None, None)
              for name in rerank.FEATURES]
    return minimize(loss, start, args=(groups, penalty), jac=True, method="L-BFGS-B", bounds=bounds).x


def recall_at_1(weights, groups):
    return float(np.mean([bool(y[int(np.argmax(x @ weights))]) for x, y, _ in groups]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("runs/fusion"))
    parser.add_argument("--write", action="store_true", help="write hyperamy/fusion.json")
    parser.add_argument("--paraphrase-weight", type=float, default=None,
                        help="how much the paraphrase set weighs against each other set (1: the same); "
                             "by default chosen by cross-validation among 1, 0.5, 0.25 and 0.1")
    parser.add_argument("--drop", action="append", default=[], metavar="PREFIX",
                        help="leave out the features whose names start with PREFIX, with or without question_ "
                             "(repeatable; e.g. together, question_): what each group adds, held out")
    args = parser.parse_args()
    from hyperamy import rerank

    if args.drop and args.write:
        parser.error("--drop is for comparing; the shipped fusion is fitted on every feature")
    kept = np.asarray([not (name.startswith(tuple(args.drop)) or name.removeprefix("question_").startswith(
        tuple(args.drop))) for name in rerank.FEATURES]) if args.drop else None

    args.cache.mkdir(parents=True, exist_ok=True)
    from hyperamy.search import question_meaning

    # what the signals were read with (the question maps, the code that scores candidates): cached
    # signals read with anything else are read again
    from hyperamy import rerank as scoring
    from hyperamy.search import proximity, ranking

    read_with = hashlib.sha256(b"".join(path.read_bytes() if path.is_file() else b"-" for path in [
        question_meaning.SHIPPED, *(args.cache / "question_meaning" / f"fold{k}.safetensors" for k in range(5)),
        *(Path(module.__file__) for module in (scoring, proximity, ranking))])).hexdigest()
    sets = {}
    for name, make in (("fairytaleqa", fairytaleqa), ("paraphrase", paraphrases), ("goemotions", goemotions)):
        saved = args.cache / f"{name}_signals.npz"
        data = np.load(saved, allow_pickle=True) if saved.exists() else None
        if data is not None and "read_with" in data and str(data["read_with"]) == read_with:
            sets[name] = list(zip(data["key"], data["x"], data["y"]))
        else:  # none yet, or read with other question maps or other scoring code
            sets[name] = [(k, x, y) for k, x, y in make(args.cache) if y.any()]
            np.savez(saved, read_with=read_with, key=np.asarray([k for k, _, _ in sets[name]], object),
                     x=np.asarray([x for _, x, _ in sets[name]], object),
                     y=np.asarray([y for _, _, y in sets[name]], object))
        # (key, features, relevant, a question?): a question's features fill only the question_ columns
        sets[name] = [(k, featured(raw) if kept is None else featured(raw) * kept, y, bool(raw[0, 9]))
                      for k, raw, y in sets[name]]
        print(f"{name}: {len(sets[name])} queries with a relevant candidate, "
              f"{sum(q for *_, q in sets[name])} of them questions", flush=True)

    def groups(chosen, weight, questions):
        """One half's queries (questions or statements), each weighing 1 / its set's size, the
        paraphrases `weight` times that."""
        return [(x, y, (weight if name == "paraphrase" else 1.0) / len(items))
                for name, items in chosen.items() for _, x, y, q in items if q == questions]

    start = np.asarray([rerank.START.get(f, 0.0) for f in rerank.FEATURES])
    asking = np.asarray([name.startswith("question_") for name in rerank.FEATURES])
    fold_of = story_folds(k for k, *_ in sets["fairytaleqa"])  # FairytaleQA by story, the others by query

    def fold(name, n, key):
        return fold_of[key] if name == "fairytaleqa" else n % 5

    # A question's score uses only the question_ weights, a statement's only the others, and the L2
    # penalty is a sum over weights: the fit is two separate fits, one per half, each with its own
    # penalty. The statements' half also chooses how much the paraphrases weigh against GoEmotions
    # (the paraphrase set holds no question).
    penalties = (0.001, 0.01, 0.1, 0.3, 1.0)
    weighings = {False: (1.0, 0.5, 0.25, 0.1) if args.paraphrase_weight is None else (args.paraphrase_weight,),
                 True: (1.0,)}
    held = {}  # (a question?, penalty, weighing, set) -> found at 1, over the held-out folds
    for questions in (False, True):
        for penalty in penalties:
            for weight in weighings[questions]:
                for part in range(5):
                    train = {name: [t for n, t in enumerate(items) if fold(name, n, t[0]) != part]
                             for name, items in sets.items()}
                    weights = fit(groups(train, weight, questions), penalty, start)
                    for name, items in sets.items():
                        held.setdefault((questions, penalty, weight, name), []).extend(
                            bool(y[int(np.argmax(x @ weights))]) for n, (k, x, y, q) in enumerate(items)
                            if fold(name, n, k) == part and q == questions)

    chosen, choice = {}, {name: 0.0 for name in sets}
    for questions in (False, True):
        # what the half's queries add to the mean over sets of held-out R@1 (each set weighs the same)
        shares = {(p, w): float(np.mean([sum(held[(questions, p, w, name)]) / len(items)
                                         for name, items in sets.items()]))
                  for p in penalties for w in weighings[questions]}
        print(("questions" if questions else "statements") + ": mean held-out R@1 added, by penalty"
              + (" and the paraphrases' weight" if len(weighings[questions]) > 1 else "") + ": "
              + ", ".join(f"{p}" + (f"/{w}" if len(weighings[questions]) > 1 else "") + f" {v:.3f}"
                          for (p, w), v in shares.items()), flush=True)
        # within 0.005 of the best (one question in 200): the strongest penalty (the simpler model),
        # then the weighing nearest each set weighing the same
        near = [key for key, v in shares.items() if v >= max(shares.values()) - 0.005]
        strongest = max(p for p, _ in near)
        chosen[questions] = min((key for key in near if key[0] == strongest), key=lambda key: abs(np.log(key[1])))
        for name, items in sets.items():
            choice[name] += sum(held[(questions, *chosen[questions], name)]) / len(items)
    choice["mean"] = float(np.mean(list(choice.values())))
    (penalty, weight), question_penalty = chosen[False], chosen[True][0]
    print(f"statements: penalty {penalty}, paraphrases weighing {weight}; questions: penalty {question_penalty}; "
          "held-out R@1 " + ", ".join(f"{k} {v:.3f}" for k, v in choice.items()), flush=True)
    weights = np.where(asking, fit(groups(sets, 1.0, True), question_penalty, start),
                       fit(groups(sets, weight, False), penalty, start))
    for name, items in sets.items():
        print(f"{name}: R@1 {recall_at_1(weights, [(x, y, 1) for _, x, y, _ in items]):.3f} fitted, "
              f"{recall_at_1(start, [(x, y, 1) for _, x, y, _ in items]):.3f} with the start weights")
    print(json.dumps(dict(zip(rerank.FEATURES, np.round(weights, 4).tolist())), indent=1))
    if args.write:
        OUT.write_text(json.dumps({
            "features": list(rerank.FEATURES), "weights": [round(float(w), 6) for w in weights],
            "penalty": {"statements": penalty, "questions": question_penalty}, "cross_validated_r1": choice,
            "paraphrase_weight": weight,
            "chosen_on": "FairytaleQA train (8,548 questions, within their story), Monte Cristo paraphrases dev "
                         "half, GoEmotions train comments as emotion queries; a penalty for the statement weights and one "
                         "for the question weights, and the paraphrases' weight against GoEmotions, by 5-fold CV "
                         "(FairytaleQA by story, the others by query), what each half adds to the mean of the three "
                         "sets' held-out R@1 (within 0.005 of the best, the strongest penalty, then the weight nearest 1); "
                         "questions read through the question map (search/question_meaning.py), FairytaleQA train's "
                         "through the map of the folds that never saw them", "script": "benchmarks/fit_fusion.py"}, indent=1) + "\n")
        print(f"written to {OUT}")


if __name__ == "__main__":
    main()
