"""The hand-written SentencePiece ModelProto of the e5 / XLM-R vocabulary gives ids equal to embedding rows."""

import functools
import math

import pytest
import tensorflow as tf

from models.tokenizer import sentencepiece_model
from models.tokenizer.text_encoder import load_tokenizer_asset, make_tokenizer, tokenize

# Texts on which XLM-R's normaliser is the identity (no full-width forms, ligatures or odd spaces).
PLAIN_TEXTS = [
    "hello world", "how are you today", "Hoe gaat het met je", "come stai oggi",
    "Привіт світ", "як справи", "你好世界", "我喜欢吃饭", "こんにちは", "元気ですか",
    "안녕하세요", "سلام دنیا", "حال شما چطور است",
]


@functools.lru_cache(maxsize=1)
def _vocabulary():
    pieces, scores, _ = sentencepiece_model.read_tokenizer_json(sentencepiece_model.e5_tokenizer_json_path())
    return pieces, scores


def _viterbi_ids(text):
    """Reference: best-scoring segmentation of '▁'-joined text over the NORMAL pieces (pure Python)."""
    pieces, scores = _vocabulary()
    index = {piece: i for i, piece in enumerate(pieces) if i > 3 and piece != "<mask>"}
    longest = max(len(piece) for piece in index)
    unknown_score = min(scores[i] for i in index.values()) - 10.0
    symbols = "\u2581" + text.replace(" ", "\u2581")
    best = [0.0] + [-math.inf] * len(symbols)
    back = [None] * (len(symbols) + 1)
    for start in range(len(symbols)):
        if best[start] == -math.inf:
            continue
        for end in range(start + 1, min(len(symbols), start + longest) + 1):
            piece_id = index.get(symbols[start:end])
            candidate = best[start] + (scores[piece_id] if piece_id is not None else
                                       unknown_score if end == start + 1 else -math.inf)
            if candidate > best[end]:
                best[end], back[end] = candidate, (start, piece_id if piece_id is not None else 3)
    ids, position = [], len(symbols)
    while position:
        start, piece_id = back[position]
        ids.append(piece_id)
        position = start
    return ids[::-1]


@pytest.fixture(scope="module")
def e5_ids():
    asset = load_tokenizer_asset("e5-small")
    tokenizer = make_tokenizer(asset)
    return lambda texts: tokenize(tokenizer, asset, tf.constant(texts)).to_list()


def test_special_pieces_sit_at_the_xlmr_ids():
    pieces, _ = _vocabulary()
    assert len(pieces) == 250002
    assert pieces[:4] == ("<s>", "<pad>", "</s>", "<unk>") and pieces[-1] == "<mask>"


def test_ids_equal_a_pure_python_viterbi_over_the_same_vocabulary(e5_ids):
    for text, ids in zip(PLAIN_TEXTS, e5_ids(PLAIN_TEXTS)):
        assert ids == _viterbi_ids(text), text


def test_special_tokens_are_never_produced_from_text(e5_ids):
    ids = e5_ids(["<s> </s> <pad> <mask> <unk>"])[0]
    assert not {0, 1, 2, 250001} & set(ids)


def test_normaliser_folds_full_width_forms(e5_ids):
    full, plain = e5_ids(["ＨＥＬＬＯ　１２３", "HELLO 123"])
    assert full == plain


def test_reference_sentencepiece_library_reads_the_same_model(e5_ids):
    sentencepiece = pytest.importorskip("sentencepiece")
    processor = sentencepiece.SentencePieceProcessor(model_proto=sentencepiece_model.e5_model_proto())
    assert processor.get_piece_size() == 250002
    assert [processor.is_control(i) for i in (0, 1, 2)] == [True] * 3 and processor.is_unknown(3)
    texts = PLAIN_TEXTS + ["ＡＢＣ ﬁne", "Ｄｉｅ Ｓｏｎｎｅ", "m²  и   ½", "ﺳﻼﻡ"]
    assert e5_ids(texts) == [processor.encode(text) for text in texts]


def test_wire_format_primitives():
    assert sentencepiece_model._varint(300) == b"\xac\x02"
    assert sentencepiece_model._int_field(41, 0) == b"\xc8\x02\x00"
    proto = sentencepiece_model.model_proto(["<s>", "<pad>", "</s>", "<unk>", "a"], [0, 0, 0, 0, -1.0],
                                            sentencepiece_model.XLMR_SPECIAL_IDS)
    assert proto.startswith(b"\x0a")  # field 1 (pieces), length-delimited
    with pytest.raises(sentencepiece_model.TokenizerAssetError):
        sentencepiece_model.model_proto(["a"], [], sentencepiece_model.XLMR_SPECIAL_IDS)
