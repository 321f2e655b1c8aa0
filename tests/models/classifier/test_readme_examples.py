"""The README's example texts get the answers written beside them (`# → label, ...`) from the frozen
multilingual-e5-small encoder + linear head: the candidate every training run starts from and keeps unless the
fine-tuned model is at least as good outside the corpus. Fitted here on a slice of the bundled corpus (30 rows
per topic of en, it, ja and de, which the bundled corpus trains on: with en, it, ja alone at 15 rows per topic
the German example came back as greetings)."""

import os
import re

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from models.classifier import classifier, datasets
from models.classifier.training import predictor

pytestmark = pytest.mark.e2e
README = os.path.join(os.path.dirname(__file__), "..", "..", "..", "README.md")
_EXAMPLE = re.compile(r"#\s*→\s*(?P<labels>[\w, -]+)$")
_QUOTED = re.compile(r'"([^"]+)"')


def readme_examples():
    """(text, expected label) pairs of every README line that ends in `# → label, ...`."""
    pairs = []
    with open(README, encoding="utf-8") as f:
        for line in f:
            match = _EXAMPLE.search(line.rstrip())
            if not match:
                continue
            texts = [t for t in _QUOTED.findall(line[:match.start()]) if t != "instances"]
            labels = [label.strip() for label in match.group("labels").split(",")]
            assert len(texts) == len(labels), line
            pairs += list(zip(texts, labels))
    return pairs


def test_readme_lists_examples_with_their_answers():
    assert len(readme_examples()) >= 3


def test_readme_examples_are_answered_as_written():
    from benchmarks.model_corpus import Preprocessing, load_corpus
    from data.bundled import BUNDLED_LABELS
    from models.encoder import E5_SMALL, load_checkpoint
    from models.tokenizer.text_encoder import load_tokenizer_asset, make_tokenizer, tokenize

    corpus = load_corpus(("en", "it", "ja", "de"), BUNDLED_LABELS, max_rows_per_topic=30)
    rows = corpus.train + corpus.eval
    asset = load_tokenizer_asset(E5_SMALL)
    preprocessing = Preprocessing(asset, 64, BUNDLED_LABELS)
    prefix = tokenize(make_tokenizer(asset), asset, tf.constant(["query: "])).flat_values.numpy().tolist()
    checkpoint = load_checkpoint(E5_SMALL)
    model = classifier.build_classifier(checkpoint, len(BUNDLED_LABELS))
    pooled = predictor(tf_keras.Model(model.inputs, model.get_layer(classifier.POOLING_LAYER).output))
    identity = np.arange(checkpoint.config.vocab_size, dtype=np.int32)

    def features(texts):
        encoded = preprocessing({"text": tf.constant(texts)})
        return np.concatenate([pooled(*datasets.pack_for_model(encoded["input_ids"][i:i + 32],
                                                               encoded["input_mask"][i:i + 32], identity,
                                                               prefix)).numpy()
                               for i in range(0, len(texts), 32)])

    labels = np.array([BUNDLED_LABELS.index(label) for _, label, _ in rows])
    kernel, bias, _ = classifier.fit_linear_head(features([text for text, _, _ in rows]), labels,
                                                 np.ones(len(BUNDLED_LABELS), np.float32), len(BUNDLED_LABELS))
    examples = readme_examples()
    predicted = np.argmax(features([text for text, _ in examples]) @ kernel + bias, axis=1)
    assert [BUNDLED_LABELS[i] for i in predicted] == [label for _, label in examples]

