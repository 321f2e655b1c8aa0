"""Warm start copies a blessed (trimmed, pruned and stripped, exported) model into a freshly built classifier."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from models import features
from models.classifier import classifier, export, vocabulary_trim, warm_start
from tiny_model import LABELS, TinyPreprocessing

TEXTS = ["pizza bread soup today cheese", "banca soldi prezzo oggi conto", "football goal the match"]


@dataclasses.dataclass
class Blessed:
    path: str
    model: object  # the in-memory classifier that was exported
    trim: vocabulary_trim.VocabularyTrim
    weights: warm_start.BlessedWeights


def _corpus_ids(corpus):
    encoded = TinyPreprocessing(corpus.asset)({features.TEXT: tf.constant([r[0] for r in corpus.train_rows])})
    return encoded[features.INPUT_IDS].numpy().reshape(-1)


@pytest.fixture(scope="module")
def blessed(tiny_corpus, tmp_path_factory):
    """A blessed model as the Trainer exports one: trimmed vocabulary, pruned then stripped, moved off the
    pretrained weights (here by noise instead of training, which is what keeps this fast)."""
    checkpoint = tiny_corpus.checkpoint
    trim = vocabulary_trim.plan_trim(checkpoint.vocabulary, checkpoint.config.vocab_size, _corpus_ids(tiny_corpus),
                                     margin_per_script=0)
    model = classifier.build_classifier(vocabulary_trim.trimmed_checkpoint(checkpoint, trim), len(LABELS), seed=1)
    rng = np.random.default_rng(3)
    model.set_weights([w + rng.normal(0, 0.1, w.shape).astype(np.float32) for w in model.get_weights()])
    model = classifier.strip_pruning(classifier.prunable_copy(model, classifier.pruning_schedule(0.5, 10)))
    path = str(tmp_path_factory.mktemp("blessed") / "Format-Serving")
    module = export.ServingModule(model, TinyPreprocessing(tiny_corpus.asset), tiny_corpus.raw_spec, trim.remap,
                                  LABELS)
    export.export_saved_model(module, path)
    return Blessed(path=path, model=model, trim=trim, weights=warm_start.read_blessed(path))


def _fresh(corpus, margin, num_layers=None):
    """A classifier as the next run builds it: pretrained encoder, its own (wider) vocabulary trim."""
    checkpoint = corpus.checkpoint
    trim = vocabulary_trim.plan_trim(checkpoint.vocabulary, checkpoint.config.vocab_size, _corpus_ids(corpus),
                                     margin_per_script=margin)
    model = classifier.build_classifier(vocabulary_trim.trimmed_checkpoint(checkpoint, trim), len(LABELS),
                                        num_layers=num_layers, seed=0)
    return model, trim


def test_warm_start_copies_blessed_weights_and_predictions(blessed, tiny_corpus):
    model, trim = _fresh(tiny_corpus, margin=20)
    assert trim.size > blessed.trim.size
    unk = tiny_corpus.checkpoint.vocabulary.unk_id
    report = warm_start.initialize(model, trim, unk, LABELS, blessed.path)

    assert report == {"used": True, "from": blessed.path, "copied": len(model.variables) - 1,
                      "embedding_rows": blessed.trim.size}
    for ours, theirs in zip(model.variables, blessed.model.variables):
        if ours.name.startswith(warm_start.WORD_EMBEDDING):
            word, blessed_word = ours.numpy(), theirs.numpy()
        else:
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=ours.name)
    np.testing.assert_array_equal(word[trim.remap[blessed.trim.kept_ids]], blessed_word)
    only_ours = np.setdiff1d(trim.kept_ids, blessed.trim.kept_ids)
    np.testing.assert_array_equal(word[trim.remap[only_ours]],
                                  tiny_corpus.checkpoint.weights["embeddings.word"][only_ours])

    served = tf.saved_model.load(blessed.path).signatures["serving_default"](text=tf.constant(TEXTS))
    encoded = TinyPreprocessing(tiny_corpus.asset)({features.TEXT: tf.constant(TEXTS)})
    ids = tf.gather(trim.remap, tf.cast(encoded[features.INPUT_IDS], tf.int32))
    logits = model({"input_ids": ids, "input_mask": tf.cast(encoded[features.INPUT_MASK], tf.int32)})
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), served["probabilities"].numpy(), atol=1e-5)


def test_changed_label_set_falls_back_to_the_pretrained_encoder(blessed, tiny_corpus):
    model, trim = _fresh(tiny_corpus, margin=0)
    before = [w.copy() for w in model.get_weights()]
    labels = ["food", "money", "travel"]
    report = warm_start.initialize(model, trim, tiny_corpus.checkpoint.vocabulary.unk_id, labels, blessed.path)

    assert report["used"] is False and report["from"] == blessed.path
    assert "label set changed" in report["reason"]
    assert "'sports'" in report["reason"] and "'travel'" in report["reason"]
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)


def test_other_layer_count_is_refused_naming_both(blessed, tiny_corpus):
    model, trim = _fresh(tiny_corpus, margin=0, num_layers=1)
    with pytest.raises(warm_start.WarmStartMismatch, match="has 2 layers, hidden size 32.*has 1 layers"):
        warm_start.copy_blessed_weights(model, trim, tiny_corpus.checkpoint.vocabulary.unk_id, LABELS,
                                        blessed.weights)


def test_first_run_without_blessed_model_starts_pretrained(tiny_corpus):
    model, trim = _fresh(tiny_corpus, margin=0)
    report = warm_start.initialize(model, trim, tiny_corpus.checkpoint.vocabulary.unk_id, LABELS, None)
    assert report["used"] is False and "no blessed model yet" in report["reason"]


def test_train_classifier_reports_the_warm_start(blessed, tiny_corpus, tmp_path):
    from models.classifier.fine_tune import Recipe, train_classifier
    from tiny_model import split_datasets
    train, evaluation = split_datasets(tiny_corpus, tmp_path)
    recipe = Recipe(epochs=1, train_steps=1, batch_size=16, target_sparsity=0.0, warm_start=True)
    trained = train_classifier(tiny_corpus.checkpoint, train, evaluation, LABELS, recipe,
                               blessed_model_dir=blessed.path)
    assert trained.report["warm_start"]["used"] is True
    assert trained.report["warm_start"]["embedding_rows"] == blessed.trim.size
