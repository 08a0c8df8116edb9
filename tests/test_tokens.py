import numpy as np
import pytest
import torch

from hyperamy.encoder.tokens import check_texts, length_sorted_batches, resolve_span, tokenize
from hyperamy.errors import InputError


def test_a_span_weighs_its_own_word_pieces_fully_and_the_rest_of_its_clause_half(backbone):
    tokenizer, _ = backbone
    texts = ["Villefort turned pale and trembled.", "Hi", "Villefort turned pale, while Albert laughed."]
    batch = tokenize(tokenizer, texts, ["Villefort", None, "Albert"], 256)
    # [CLS] ville ##fort turned pale and trembled . [SEP]: the clause ends at the full stop
    assert batch["token_mask"][0].tolist()[:9] == [0, 1, 1, 0.5, 0.5, 0.5, 0.5, 0, 0]
    assert batch["token_mask"][1].tolist()[:4] == [1, 1, 1, 0]
    # [CLS] ville ##fort turned pale , while albert laughed . [SEP]: "while" starts Albert's clause
    assert batch["token_mask"][2].tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0.5, 0, 0]


def test_a_clause_ends_at_punctuation_and_contrasting_conjunctions():
    from hyperamy.encoder.tokens import span_clause

    text = "Dantes wept, while Danglars laughed; Mercedes, alone, waited but hoped."
    assert text[slice(*span_clause(text, (0, 6)))] == "Dantes wept"
    assert text[slice(*span_clause(text, (19, 27)))] == "Danglars laughed"
    assert text[slice(*span_clause(text, (37, 45)))] == "Mercedes"
    assert text[slice(*span_clause(text, (54, 60)))] == "waited"
    assert span_clause(text, (0, 11)) == (0, 11)  # a span that holds a boundary is taken as given


def test_one_pass_batches_equal_the_tokenizers_own_padding(backbone):
    tokenizer, _ = backbone
    texts = ["A long sentence with several words in it.", "Short.", "word " * 300, "Café 東京 😀", "Mid length one."]
    inverse, batches = length_sorted_batches(tokenizer, texts, None, 256, batch_size=2)
    batches = list(batches)
    assert [len(b["input_ids"]) for b in batches] == [2, 2, 1] and sum(b["truncated"] for b in batches) == 1
    order = np.argsort(inverse)  # batch position -> input index
    assert order.tolist() == [2, 0, 3, 4, 1]  # longest first
    for start, batch in zip((0, 2, 4), batches):
        theirs = tokenizer([texts[i] for i in order[start:start + 2]], padding=True, truncation=True,
                           max_length=256, return_tensors="pt")
        assert torch.equal(batch["input_ids"], theirs["input_ids"])
        assert torch.equal(batch["attention_mask"], theirs["attention_mask"])
        assert torch.equal(batch["token_mask"], theirs["attention_mask"].float())


def test_character_pair_span_inside_a_word_selects_that_word(backbone):
    tokenizer, _ = backbone
    batch = tokenize(tokenizer, ["Villefort turned pale and trembled."], [(10, 16)], 256)
    assert batch["token_mask"][0].tolist() == [0, 0.5, 0.5, 1, 0.5, 0.5, 0.5, 0, 0]


def test_span_missing_from_text_is_named():
    with pytest.raises(InputError, match="span 'Morcerf' does not occur in the text 'Villefort turned pale'"):
        resolve_span("Villefort turned pale", "Morcerf")


@pytest.mark.parametrize("span, message", [((5, 3), r"outside the text"), ((0, 99), "outside the text"),
                                           ("  ", "span is empty"), ((1,), "must be a substring")])
def test_bad_spans_are_rejected(span, message):
    with pytest.raises(InputError, match=message):
        resolve_span("Villefort turned pale", span)


def test_span_past_the_token_window_is_an_error_not_a_fallback(backbone):
    tokenizer, _ = backbone
    text = "word " * 300 + "Villefort"
    with pytest.raises(InputError, match=r"span 'Villefort' at characters 1500-1509 covers no token within the first 64"):
        tokenize(tokenizer, [text], ["Villefort"], 64)


@pytest.mark.parametrize("texts, message", [(["ok", ""], "text 1 is empty"), (["ok", 3], "text 1 is int"),
                                            ("just one string", "not one string"), ([" \n"], "text 0 is empty")])
def test_bad_texts_are_rejected(texts, message):
    with pytest.raises(InputError, match=message):
        check_texts(texts)


def test_very_long_texts_are_cut_before_tokenizing_with_the_same_window(backbone):
    tokenizer, _ = backbone
    words = " ".join(f"word{i % 977}" for i in range(100_000))  # about 0.8 MB: thousands of windows
    spaced = "x " + " " * 20000 + "tail " * 400  # a cut inside the spaces would lose the window's words
    giant = "y" * 150 + " " + "z" * 300 + " " + "after " * 300  # words longer than the tokenizer reads
    texts = [words, spaced, giant, "short text"]
    batch = tokenize(tokenizer, texts, [None, None, None, "short"], 64)
    for i, text in enumerate(texts):
        whole = tokenizer([text], truncation=True, max_length=64)["input_ids"][0]
        assert batch["input_ids"][i][: len(whole)].tolist() == whole, i
    assert batch["truncated"] == 3
