"""Entity mentions with the real shipped encoder: the CLI end to end, and mentions felt as spans are."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hyperamy.cli import main
from hyperamy.emotions import LABELS

pytestmark = pytest.mark.model

PASSAGES = [
    {"id": "p1", "text": "Danglars laughed with delight, while Villefort trembled with terror."},
    {"id": "p2", "text": "Villefort smiled at his bride; Danglars was seething with rage at the harbour."},
    {"id": "p3", "text": "Edmond Dantès, called Sinbad, walked with Villefort along the quay."},
    {"id": "p4", "text": "Sinbad and Villefort spoke of Danglars for an hour."},
]


def test_mentions_are_felt_as_the_same_spans_read_alone(shipped_encoder):
    from hyperamy.encoder.joint import SharedTrunkEncoder
    from hyperamy.entities.detect import detect

    encoder = SharedTrunkEncoder.from_backbone(shipped_encoder, precision="float32")  # like for like
    texts = [p["text"] for p in PASSAGES]
    spans = [[(f.start, f.end) for f in detect(t)] for t in texts]
    encoded = encoder.encode(texts, mentions=spans, batch_size=2)
    assert len(encoded.mentions) == sum(map(len, spans)) == 10
    alone = shipped_encoder.encode([texts[d] for d in encoded.mentions.doc],
                                   spans=[spans[d][n] for d, n in zip(encoded.mentions.doc, encoded.mentions.number)])
    assert np.abs(alone.mu - encoded.mentions.emotion.mu).max() < 1e-5
    assert np.abs(alone.probs - encoded.mentions.emotion.probs).max() < 1e-5
    # Villefort trembles with terror in p1: his own clause, not Danglars' delight
    felt = encoded.mentions.emotion.probs[1].copy()
    felt[LABELS.index("neutral")] = 0
    assert LABELS[int(np.argmax(felt))] in ("fear", "nervousness")


def test_index_with_an_entity_list_then_ask_about_it(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in PASSAGES), encoding="utf-8")
    listing = tmp_path / "people.txt"
    listing.write_text("Dantès | Edmond Dantès | Sinbad\n", encoding="utf-8")
    index = ["--index", str(tmp_path / "idx")]
    runner = CliRunner()
    built = runner.invoke(main, ["index", str(corpus), *index, "--entities", str(listing), "--json"])
    assert built.exit_code == 0, built.output
    listed = [json.loads(line) for line in runner.invoke(main, ["entities", *index, "--json"]).stdout.splitlines()]
    counts = {e["name"]: (e["mentions"], e["source"]) for e in listed}
    # Danglars opens two sentences and is inside only one: too little evidence that it is a name
    assert counts == {"Villefort": (4, "auto"), "Dantès": (3, "list")}
    about = runner.invoke(main, ["search", "someone terrified", *index, "--about", "Villefort", "--json", "-k", "4"])
    hits = [json.loads(line) for line in about.stdout.splitlines()]
    assert hits[0]["id"] == "p1" and {h["id"] for h in hits} == {"p1", "p2", "p3", "p4"}
    assert hits[0]["mention"]["entity"] == "Villefort" and hits[0]["mention"]["text"] == "Villefort"
    alias = runner.invoke(main, ["entity", "sinbad", *index, "--json"])
    assert alias.exit_code == 0 and json.loads(alias.stdout)["name"] == "Dantès"
