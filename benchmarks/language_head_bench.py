"""The language head alone: fitted as the Trainer fits it (every corpus row with its declared language, plus the
Trainer's UDHR reference rows), measured on the out-of-corpus set: share of texts named as their own language.

    .venv/bin/python benchmarks/language_head_bench.py [--output benchmarks/results/language_head.md]

Features: `classifier.with_language_features` (masked mean of the embedding layer's output; pretrained
embeddings, which training keeps frozen, so the figures hold for any trained model of the same encoder).
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> None:
    import numpy as np
    import tensorflow as tf
    import tf_keras

    from benchmarks.generalization_bench import grouped_rows, split
    from benchmarks.model_corpus import Preprocessing
    from components.trainer.trainer_module import reference_rows
    from data import out_of_corpus
    from data.bundled import BUNDLED_LABELS, BUNDLED_LANGUAGES
    from models.classifier import classifier, datasets, language_head
    from models.classifier.training import predictor
    from models.encoder import E5_SMALL, load_checkpoint
    from models.tokenizer.text_encoder import load_tokenizer_asset, make_tokenizer, tokenize

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default="benchmarks/results/language_head.md")
    args = parser.parse_args(argv)
    train, evaluation, held = split(grouped_rows(BUNDLED_LANGUAGES, BUNDLED_LABELS), ["nl"])
    reference = reference_rows(BUNDLED_LANGUAGES, BUNDLED_LABELS) or []
    ooc = [(s.text, s.label, s.lang) for s in out_of_corpus.load()]
    asset = load_tokenizer_asset(E5_SMALL)
    preprocessing = Preprocessing(asset, 64, BUNDLED_LABELS)
    prefix = tokenize(make_tokenizer(asset), asset, tf.constant(["query: "])).flat_values.numpy().tolist()
    checkpoint = load_checkpoint(E5_SMALL)
    model = classifier.build_classifier(checkpoint, len(BUNDLED_LABELS), num_layers=1)
    run = predictor(tf_keras.Model(model.input, classifier.with_language_features(model).outputs[1]))
    identity = np.arange(checkpoint.config.vocab_size, dtype=np.int32)

    def features(rows):
        parts = []
        for start in range(0, len(rows), 64):
            encoded = preprocessing({"text": tf.constant([r[0] for r in rows[start:start + 64]])})
            parts.append(run(*datasets.pack_for_model(encoded["input_ids"], encoded["input_mask"], identity,
                                                      prefix)).numpy())
        return np.concatenate(parts)

    fitted = train + evaluation + held + reference
    head = language_head.fit(features(fitted), [r[2] for r in fitted], sorted({r[2] for r in train}))
    report = language_head.identification_report(head, features(ooc), [r[2] for r in ooc])
    lines = ["# Language head on out-of-corpus text", "", f"Command: `{' '.join(sys.argv)}` (shared machine).", "",
             f"Fitted on {len(fitted)} rows ({len(reference)} UDHR reference rows); languages: "
             f"{', '.join(head.languages)}.", "", f"Named right overall: {report['overall']:.3f}", "",
             "| language | trained on (topics) | named right | most common answer |", "|---|---|---|---|"]
    for lang, row in report["per_language"].items():
        lines.append(f"| {lang} | {'yes' if lang in head.languages and head.trained[head.languages.index(lang)] else 'no'}"
                     f" | {row['accuracy']:.2f} | {row['most_common_answer']} |")
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
