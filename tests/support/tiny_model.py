"""Shared by the model-half tests: a tiny multilingual topic corpus, a random checkpoint whose vocabulary covers
it, its transformed examples written the way Transform writes them (tokenized by the project's in-graph
tokenizer), a preprocessing layer standing in for Transform's, and tiny exported SavedModels."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from models import features
from models.encoder.synthetic import random_checkpoint, sentencepiece_vocabulary
from models.tokenizer.sentencepiece_model import model_proto
from models.tokenizer.text_encoder import SENTENCEPIECE, TextEncoder, TokenizerAsset

LABELS = ("food", "money", "sports")
MAX_SEQ_LENGTH = 16
_WORDS = {"en": {"food": ["pizza", "bread", "soup", "cheese"], "money": ["bank", "coins", "price", "cash"],
                 "sports": ["football", "tennis", "goal", "match"]},
          "it": {"food": ["pane", "zuppa", "formaggio", "pasta"], "money": ["banca", "soldi", "prezzo", "conto"],
                 "sports": ["calcio", "partita", "gol", "squadra"]}}
_FILLER = {"en": ["the", "is", "very", "nice", "today", "we", "like"],
           "it": ["il", "molto", "bello", "oggi", "noi", "piace", "che"]}


@dataclasses.dataclass
class TinyCorpus:
    train_rows: list  # (text, label, lang)
    eval_rows: list
    checkpoint: object
    asset: TokenizerAsset
    raw_spec: dict
    transformed_spec: dict


def _rows(seed, per_topic):
    rng = np.random.default_rng(seed)
    rows = []
    for lang, topics in _WORDS.items():
        for label, words in topics.items():
            for _ in range(per_topic):
                tokens = list(rng.choice(words, 2)) + list(rng.choice(_FILLER[lang], 3))
                rng.shuffle(tokens)
                rows.append((" ".join(tokens), label, lang))
    return rows


class TinyPreprocessing(tf_keras.layers.Layer):
    """Stands in for Transform's layer: text → input_ids/input_mask, label → label_id when given."""

    def __init__(self, asset, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.text_encoder = TextEncoder(asset, MAX_SEQ_LENGTH)
        self.label_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(LABELS), tf.range(len(LABELS), dtype=tf.int64)), -1)

    def call(self, raw):
        out = dict(self.text_encoder(raw[features.TEXT]))
        if features.LABEL in raw:
            out[features.LABEL_ID] = self.label_table.lookup(raw[features.LABEL])
        return out


@pytest.fixture(scope="session")
def tiny_corpus():
    train, evaluation = _rows(0, 30), _rows(1, 8)
    vocabulary = sentencepiece_vocabulary([text for text, _, _ in train + evaluation], max_pieces=300)
    checkpoint = random_checkpoint(vocabulary, seed=5)
    asset = TokenizerAsset(SENTENCEPIECE, dict(vocabulary.special_ids),
                           model=model_proto(vocabulary.pieces, vocabulary.scores, vocabulary.special_ids))
    raw_spec = {key: tf.io.FixedLenFeature([], tf.string) for key in features.RAW_FEATURES}
    transformed_spec = {features.INPUT_IDS: tf.io.FixedLenFeature([MAX_SEQ_LENGTH], tf.int64),
                        features.INPUT_MASK: tf.io.FixedLenFeature([MAX_SEQ_LENGTH], tf.int64),
                        features.LABEL_ID: tf.io.FixedLenFeature([], tf.int64),
                        features.LANG: tf.io.FixedLenFeature([], tf.string)}
    return TinyCorpus(train_rows=train, eval_rows=evaluation, checkpoint=checkpoint, asset=asset,
                      raw_spec=raw_spec, transformed_spec=transformed_spec)


def raw_example(text, label=None, lang=None):
    feature = {features.TEXT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))}
    for key, value in ((features.LABEL, label), (features.LANG, lang)):
        if value is not None:
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_transformed(corpus, rows, path):
    """Writes rows as Transform would (GZIP TFRecords of input_ids, input_mask, label_id, lang)."""
    layer = TinyPreprocessing(corpus.asset)
    encoded = layer({features.TEXT: tf.constant([r[0] for r in rows]),
                     features.LABEL: tf.constant([r[1] for r in rows])})
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for i, (_, _, lang) in enumerate(rows):
            feature = {key: tf.train.Feature(int64_list=tf.train.Int64List(value=encoded[key][i].numpy().reshape(-1)))
                       for key in (features.INPUT_IDS, features.INPUT_MASK, features.LABEL_ID)}
            feature[features.LANG] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[lang.encode()]))
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return path


def split_datasets(corpus, folder):
    """(train, eval) parsed example datasets of the corpus, read back from GZIP TFRecords."""
    from models.classifier import datasets
    train = write_transformed(corpus, corpus.train_rows, str(folder / "train.gz"))
    evaluation = write_transformed(corpus, corpus.eval_rows, str(folder / "eval.gz"))
    return (datasets.read_examples([train], corpus.transformed_spec),
            datasets.read_examples([evaluation], corpus.transformed_spec))


FAST_RECIPE = dict(epochs=6, learning_rate=3e-3, batch_size=16, dropout_rate=0.0, early_stopping_patience=3,
                   target_sparsity=0.5, pruning_epochs=2, pruning_tolerance=0.2, vocab_margin_per_script=5)


@pytest.fixture(scope="session")
def trained_tiny(tiny_corpus, tmp_path_factory):
    from models.classifier.fine_tune import Recipe, train_classifier
    train, evaluation = split_datasets(tiny_corpus, tmp_path_factory.mktemp("transformed"))
    return train_classifier(tiny_corpus.checkpoint, train, evaluation, LABELS, Recipe(**FAST_RECIPE))


def export_untrained(corpus, directory, seed=0):
    """Exports an untrained tiny classifier (fast; for tests of what happens to a model after training)."""
    from models.classifier import classifier, export
    model = classifier.build_classifier(corpus.checkpoint, len(LABELS), seed=seed)
    remap = np.arange(corpus.checkpoint.config.vocab_size, dtype=np.int32)
    module = export.ServingModule(model, TinyPreprocessing(corpus.asset), corpus.raw_spec, remap, LABELS)
    return export.export_saved_model(module, str(directory))


def write_raw_examples(rows, path):
    """Raw examples (text, label, lang) as a GZIP TFRecord, the way the cleaned eval split is stored."""
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for text, label, lang in rows:
            writer.write(raw_example(text, label, lang))
    return path
