"""Monte Cristo as a book: the JSONL passages reassembled into one .txt with chapter headings,
indexed with hyperamy's default chunking, and the Monte Cristo questions answered on both indexes.

    python benchmarks/monte_cristo_book.py --out-dir runs/mc_book     # book + both indexes + recall
    python benchmarks/monte_cristo_book.py --book-only data/books/monte_cristo_1-12.txt --chapters 12
    hyperamy arc --index runs/mc_book/book_index --by chapter --plot arc.png

How the book is made (`reassemble`): the corpus holds 10,000 consecutive passages. Its first
passages are the table of contents (one chapter title each); in the body a chapter begins at the
passage whose first line is a chapter title, and the passage before it often ends with the line
"Chapter N". Walking the body in order, a passage opens chapter N when N is one of the next three
chapters and either its first line is N's title or the passage before ends with "Chapter N"
(titles repeat, chapters 2 and 12 are both "Father and Son", and a line of dialogue can equal a
later chapter's title, "Maximilian"; a few chapters' first passages are missing from the corpus). The book writes "Chapter N. Title" there, drops
the title line and the trailing "Chapter N" lines, and separates passages by a blank line; the
contents stay at the front, one line each, as front matter. Every passage's place in the book
is recorded, so a gold passage maps to the book passages that overlap it in characters: a
question is answered at rank r when a book passage overlapping its gold passage is at rank r.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, SHARED, input_file, markdown_table, weights_folder, write_record  # noqa: E402
from recall_monte_cristo import CUTOFFS, recall_and_mrr  # noqa: E402

TRAILING_HEADING = re.compile(r"(?:\s*\n)*\s*Chapter \d+\s*$")


def reassemble(rows: list[dict]) -> tuple[str, dict[str, tuple[int, int]], int]:
    """(book text, {passage id: (start, end) in the book}, chapters found)."""
    first_lines = [r["text"].split("\n", 1)[0].strip() for r in rows]
    body = next(i for i in range(2, len(rows)) if first_lines[i] == first_lines[1])  # title of chapter 1 again
    titles = first_lines[1:body]  # the contents: chapter n's title is titles[n - 1]
    parts, spans, at, chapter, found = [], {}, 0, 0, 0

    def write(piece: str, row_id: str | None = None, separator: str = "\n\n") -> None:
        nonlocal at
        if parts:
            parts.append(separator)
            at += len(separator)
        if row_id is not None:
            spans[row_id] = (at, at + len(piece))
        parts.append(piece)
        at += len(piece)

    for row in rows[:body]:
        write(row["text"].strip("\n"), row["id"], "\n")
    for i in range(body, len(rows)):
        text = TRAILING_HEADING.sub("", rows[i]["text"]).strip("\n")
        announced = re.search(r"Chapter (\d+)\s*$", rows[i - 1]["text"])
        following = [n for n in range(chapter + 1, min(chapter + 4, len(titles) + 1))
                     if titles[n - 1] == first_lines[i] or (announced and int(announced.group(1)) == n)]
        if following:
            chapter = following[0]
            found += 1
            write(f"Chapter {chapter}. {titles[chapter - 1]}")
            text = text.split("\n", 1)[1].strip("\n") if "\n" in text else ""
        if text.strip():
            write(text, rows[i]["id"])
    return "".join(parts), spans, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=input_file, default=str(SHARED / "monte_cristo" / "corpus.jsonl"))
    parser.add_argument("--qa", type=input_file, action="append",
                        help="question file (repeatable) [default: the 50 public questions and the paraphrased "
                             "test split]")
    parser.add_argument("--out-dir", type=Path, default=Path("runs/mc_book"),
                        help="where the book and both indexes go (kept, for arc and entity plots)")
    parser.add_argument("--weights", type=weights_folder, help="encoder weights folder (default: shipped)")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/monte_cristo_book.jsonl)")
    parser.add_argument("--book-only", type=Path, metavar="PATH", help="only write the book (no indexes) to PATH")
    parser.add_argument("--chapters", type=int, help="with --book-only: the front matter and the first N chapters")
    args = parser.parse_args()
    args.qa = args.qa or [input_file(str(SHARED / "monte_cristo" / "qa.jsonl")),
                          input_file(str(DATA / "paraphrased" / "monte_cristo_test.jsonl"))]

    from hyperamy.books import book_records
    from hyperamy.corpus import read_records
    from hyperamy.encoder import EmotionEncoder
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.engine import HyperAmy

    rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    text, spans, chapters = reassemble(rows)
    if args.book_only:
        if args.chapters:
            cut = re.search(rf"\n\nChapter {args.chapters + 1}\. ", text)
            text = text[:cut.start() + 1] if cut else text
        args.book_only.parent.mkdir(parents=True, exist_ok=True)
        args.book_only.write_text(text, encoding="utf-8")
        print(f"{args.book_only}: {len(text):,} characters")
        return
    args.out_dir.mkdir(parents=True, exist_ok=True)
    book = args.out_dir / "monte_cristo.txt"
    book.write_text(text, encoding="utf-8")
    passages = list(book_records(book))
    print(f"{book}: {len(text):,} characters, {chapters} chapter headings written, {len(passages):,} passages "
          f"(default chunking) from {len(rows):,} JSONL passages")

    encoder = SharedTrunkEncoder.from_backbone(EmotionEncoder.load(args.weights))
    timings, engines = {}, {}
    for name, records in (("book", passages), ("jsonl", list(read_records(args.corpus)))):
        engine = HyperAmy.open(args.out_dir / f"{name}_index", create=True, encoder=encoder)
        started = time.perf_counter()
        engine.add(records)
        timings[f"{name} index_seconds"] = round(time.perf_counter() - started, 1)
        engines[name] = engine

    # a gold JSONL passage is found in the book index by any book passage overlapping it
    starts = sorted((r.metadata["start"], r.metadata["end"], r.id) for r in passages)

    def book_ids(gold: set[str]) -> set[str]:
        wanted = [spans[g] for g in gold if g in spans]
        return {i for s, e, i in starts for a, b in wanted if s < b and a < e}

    metrics, tables = {}, {}
    for path in args.qa:
        questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        metrics[path.stem], tables[path.stem] = {}, []
        gold = {"jsonl": [set(q["gold_ids"]) for q in questions],
                "book": [book_ids(set(q["gold_ids"])) for q in questions]}
        unmapped = sum(not g for g in gold["book"])
        for mode in ("hybrid", "semantic", "lexical"):
            for name in ("jsonl", "book"):
                started = time.perf_counter()
                rankings = [[h.id for h in engines[name].search(q["question"], k=20, mode=mode)] for q in questions]
                timings[f"{path.stem}: {name} {mode} query_seconds"] = round(time.perf_counter() - started, 2)
                result = recall_and_mrr(rankings, gold[name])
                label = f"{'JSONL passages' if name == 'jsonl' else 'book .txt, default chunking'}, {mode}"
                metrics[path.stem][label] = result
                tables[path.stem].append([label] + [result[f"R@{c}"] for c in CUTOFFS] + [result["MRR"]])
        print(f"\n{path.stem} ({len(questions)} questions; {unmapped} gold passages not in the book's text)\n")
        print(markdown_table(["index, mode"] + [f"R@{c}" for c in CUTOFFS] + ["MRR"], tables[path.stem]))
    record = write_record("monte_cristo_book", {"weights": str(args.weights or "shipped"), "chapters": chapters,
                                                "book_passages": len(passages), "chunking": "default (128 tokens)"},
                          f"{args.corpus.name} ({len(rows)} passages) and the same reassembled as one .txt",
                          metrics, timings, args.out)
    print(f"\nrecord appended to {record}")


if __name__ == "__main__":
    main()
