import numpy as np
import pytest
import sentencepiece

from models.classifier import export
from models.export.exporter import EvalRow
from tiny_model import LABELS, TinyPreprocessing, raw_example, tiny_corpus, trained_tiny  # noqa: F401  (fixtures)

# The input prefix the tiny model is exported with: inserted after bos in-graph, like e5's "query: ".
PREFIX_TEXT = "we like"


@pytest.fixture(scope="session")
def tiny_saved_model(trained_tiny, tiny_corpus, tmp_path_factory):
    """The trained tiny classifier with its vocabulary-trim remap and an input prefix, as the Trainer exports it."""
    processor = sentencepiece.SentencePieceProcessor(model_proto=tiny_corpus.asset.model)
    prefix_ids = processor.encode(PREFIX_TEXT)
    assert len(prefix_ids) >= 2 and not np.array_equal(trained_tiny.trim.remap, np.arange(len(trained_tiny.trim.remap)))
    module = export.ServingModule(trained_tiny.model, TinyPreprocessing(tiny_corpus.asset), tiny_corpus.raw_spec,
                                  trained_tiny.trim.remap, LABELS, prefix_ids=prefix_ids)
    return export.export_saved_model(module, str(tmp_path_factory.mktemp("export_source") / "model"))


@pytest.fixture(scope="session")
def eval_rows(tiny_corpus):
    """Every eval text of the tiny corpus, plus an empty text, one longer than max_seq_length and three rows of
    the out-of-corpus gate set."""
    rows = list(tiny_corpus.eval_rows) + [("", "food", "en"), (" ".join(["formaggio pasta"] * 20), "food", "it")]
    rows = [EvalRow(raw_example(text, label, lang), text, LABELS.index(label), lang) for text, label, lang in rows]
    written = [("pasta al forno stasera 🍝", "food", "it"), ("who won the match??", "sports", "en"),
               ("pane e formaggio", "food", "it")]
    return rows + [EvalRow(raw_example(text, label, lang), text, LABELS.index(label), lang, "out_of_corpus")
                   for text, label, lang in written]
