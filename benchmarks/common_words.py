"""Derive hyperamy/entities/words/common.txt: words people write in lower case, which a capital
inside a sentence does not make a name ("Yeah", "Lol", "Im", "Hope" in comments), and measure
what refusing them does to automatic entity detection.

Chosen on GoEmotions train (43,410 Reddit comments): a word is common when it is written in
lower case at least MIN_LOWER times and at least RATIO times as often as capitalised inside a
sentence (after a letter, a comma or a space, not after . ! ? : or a quote). Measured apart:
- GoEmotions dev (5,426 comments): the automatic entities an index of them would list (seen inside
  a sentence MIN_EVIDENCE times), before and after, each judged by hand in
  data/entity_audit/goemotions_entities.jsonl (is it the name of a person, place, group,
  brand or work?): precision by entity and by mention;
- the Monte Cristo corpus (10,000 passages): the entities that disappear, and precision on the
  hand audit of 100 found mentions (data/entity_audit/detection_audit.jsonl), before and after.

    python benchmarks/common_words.py            # measure with the shipped list
    python benchmarks/common_words.py --write    # derive the list again from GoEmotions train
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import DATA, write_record  # noqa: E402

MIN_LOWER = 10
RATIO = 3
WORD = re.compile(r"[^\W\d_](?:[^\W_]|[’'](?=[^\W\d_]))*")
LIST = Path(__file__).resolve().parents[1] / "hyperamy" / "entities" / "words" / "common.txt"
HEADER = f"""# Words written in lower case at least {MIN_LOWER} times, and {RATIO}x as often as capitalised inside a
# sentence, in GoEmotions train (Reddit comments, CC BY 4.0): a capital inside a sentence does
# not make them a name ("Yeah", "Lol", "Im", "Hope"). Written by benchmarks/common_words.py --write.
"""


def comments(split: str) -> list[str]:
    return [line.split("\t")[0] for line in (DATA / "goemotions" / f"{split}.tsv").open(encoding="utf-8")]


def derive(texts: list[str]) -> list[str]:
    lower, inside = collections.Counter(), collections.Counter()
    for text in texts:
        for match in WORD.finditer(text):
            word = match.group()
            if word.islower():
                lower[word] += 1
            elif word[0].isupper() and word[1:].islower():
                before = text[:match.start()].rstrip()
                if before and before[-1] not in ".!?\"“(*>:[]":
                    inside[word.lower()] += 1
    return sorted(w for w, n in lower.items() if n >= MIN_LOWER and n >= RATIO * inside[w])


def entities(texts: list[str]) -> collections.Counter:
    """{entity: mentions} an index of these texts would list (mentions.MIN_EVIDENCE inside a sentence)."""
    from hyperamy.entities.detect import MIN_EVIDENCE, detect

    inside, mentions = collections.Counter(), collections.Counter()
    for text in texts:
        for found in detect(text):
            mentions[found.entity] += 1
            inside[found.entity] += not found.initial
    return collections.Counter({e: n for e, n in mentions.items() if inside[e] >= MIN_EVIDENCE})


def precision(listed: collections.Counter, judged: dict[str, bool]) -> dict:
    unjudged = sorted(e for e in listed if e not in judged)
    if unjudged:
        raise SystemExit(f"judge these in the audit file first: {unjudged}")
    names = [e for e in listed if judged[e]]
    return {"entities": len(listed), "names": len(names), "precision": len(names) / max(len(listed), 1),
            "mentions": sum(listed.values()),
            "mention_precision": sum(listed[e] for e in names) / max(sum(listed.values()), 1)}


def novel_detection() -> dict:
    """Detection on Monte Cristo as benchmarks/entities.py measures it (held-out passages, hand audit)."""
    from entities import detection

    corpus = [json.loads(line) for line in (DATA / "monte_cristo" / "corpus.jsonl").open(encoding="utf-8")]
    return detection(corpus, 0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="derive the list from GoEmotions train and write it")
    args = parser.parse_args()
    if args.write:
        words = derive(comments("train"))
        LIST.write_text(HEADER + "\n".join(words) + "\n", encoding="utf-8")
        print(f"{len(words)} words written to {LIST}")
    from hyperamy import mentions

    audit = DATA / "entity_audit" / "goemotions_entities.jsonl"
    judged = {row["entity"]: row["is_name"] for row in map(json.loads, audit.open(encoding="utf-8"))}
    dev = comments("dev") + comments("test")
    after = entities(dev)
    novel = [json.loads(line)["text"] for line in (DATA / "monte_cristo" / "corpus.jsonl").open(encoding="utf-8")]
    novel_after = entities(novel)
    novel_audit_after = novel_detection()
    common = mentions.COMMON_WORDS
    alone = mentions.NOT_NAMES_ALONE
    mentions.NOT_NAMES_ALONE = frozenset()  # detection as it was before the lists
    try:
        before = entities(dev)
        novel_before = entities(novel)
        novel_audit_before = novel_detection()
    finally:
        mentions.NOT_NAMES_ALONE = alone
    record = {"list": {"words": len(common), "chosen_on": "GoEmotions train", "min_lower": MIN_LOWER, "ratio": RATIO},
              "goemotions_dev_test": {"before": precision(before, judged), "after": precision(after, judged),
                                 "refused": sorted(set(before) - set(after))},
              "monte_cristo": {"entities_before": len(novel_before), "entities_after": len(novel_after),
                               "mentions_before": sum(novel_before.values()), "mentions_after": sum(novel_after.values()),
                               "refused": sorted(((e, n) for e, n in novel_before.items() if e not in novel_after),
                                                 key=lambda pair: -pair[1]),
                               "detection_before": novel_audit_before, "detection_after": novel_audit_after}}
    print(json.dumps(record, indent=1, ensure_ascii=False))
    write_record("common_words", {"min_lower": MIN_LOWER, "ratio": RATIO}, "GoEmotions dev (audit), Monte Cristo corpus",
                 record, {}, None)


if __name__ == "__main__":
    main()
