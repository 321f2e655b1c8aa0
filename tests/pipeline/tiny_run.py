"""A tiny whole-pipeline run: two languages, three topics, a few hundred generated rows per span and a random
2-layer Hugging Face BERT checkpoint whose vocabulary covers them (models.encoder.synthetic), so the model
half trains in seconds. Shared by the scheduled-pipeline and the Airflow tests.
"""

import csv
import os
import random

from pipeline import configs

LANGUAGES = ("en", "it")
LABELS = ("food", "money", "sports")
_WORDS = {"en": {"food": "pizza bread soup cheese", "money": "bank coins price cash",
                 "sports": "football tennis goal match"},
          "it": {"food": "pane zuppa formaggio pasta", "money": "banca soldi prezzo conto",
                 "sports": "calcio partita gol squadra"}}
_FILLER = {"en": "the is very nice today we like", "it": "il molto bello oggi noi piace che"}


def span_rows(seed, per_topic=40):
    """(text, label, lang) rows of span `seed`: two topic words and three filler words each."""
    rng = random.Random(seed)
    rows = []
    for lang, topics in _WORDS.items():
        for label, words in topics.items():
            for _ in range(per_topic):
                tokens = rng.sample(words.split(), 2) + rng.sample(_FILLER[lang].split(), 3)
                rng.shuffle(tokens)
                rows.append((" ".join(tokens), label, lang))
    return rows


def write_span(data_root, span):
    """Writes span N of the tiny corpus as `span-N/rows.csv` under the data root."""
    folder = os.path.join(data_root, f"span-{span}")
    os.makedirs(folder)
    with open(os.path.join(folder, "rows.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("text", "label", "lang"))
        writer.writerows(span_rows(span))


def tiny_config(home: str) -> configs.RunConfig:
    """A whole-pipeline config that runs in about a minute on two cores."""
    from models.encoder.synthetic import write_synthetic_hf_bert

    texts = [text for span in (1, 2) for text, _, _ in span_rows(span)]
    encoder, _ = write_synthetic_hf_bert(os.path.join(home, "tiny-encoder"), texts, max_pieces=300)
    config = configs.RunConfig(home=home, data=configs.DataConfig(data_root=os.path.join(home, "data")),
                               push=configs.PushConfig(serving_root=os.path.join(home, "serving")))
    return configs.with_overrides(config, [
        f"data.languages={','.join(LANGUAGES)}", f"data.labels={','.join(LABELS)}",
        f"model.encoder={encoder}", "model.max_seq_length=16", "model.epochs=1", "model.batch_size=16",
        "model.target_sparsity=0", "model.trim_vocabulary=false",
        "eval.min_macro_f1=0", "eval.min_language_accuracy=0", "eval.regression_tolerance=1.0"])
