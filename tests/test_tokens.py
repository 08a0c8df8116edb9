import pytest

from hyperamy.encoder.tokens import check_texts, resolve_span, tokenize
from hyperamy.errors import InputError


def test_span_mask_covers_exactly_the_overlapping_word_pieces(backbone):
    tokenizer, _ = backbone
    batch = tokenize(tokenizer, ["Villefort turned pale and trembled.", "Hi"], ["Villefort", None], 256)
    # [CLS] ville ##fort turned pale and trembled . [SEP]
    assert batch["token_mask"][0].int().tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert batch["token_mask"][1].int().tolist() == [1, 1, 1, 0, 0, 0, 0, 0, 0]


def test_character_pair_span_inside_a_word_selects_that_word(backbone):
    tokenizer, _ = backbone
    batch = tokenize(tokenizer, ["Villefort turned pale and trembled."], [(10, 16)], 256)
    assert batch["token_mask"][0].int().tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0]


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
