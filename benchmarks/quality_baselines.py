"""Quality baselines on the pipeline's own split, per language, next to the fine-tuned model.

    .venv/bin/python benchmarks/quality_baselines.py [--home .nlp2prod] [--examples DIR] [--report FILE]
        [--no-e5] [--output results.md]

Reads the train/eval splits the TextCleaner wrote in the latest pipeline run under --home (or the
`cleaned_examples` artifact folder given with --examples), so the baselines see exactly the rows the
fine-tuned model was trained and evaluated on, and fits:
  * TF-IDF over char_wb 1–4-grams + logistic regression (C=10);
  * frozen multilingual-e5-small ("query: " prefix, masked mean pooling, L2-normalised) + logistic
    regression (C=10).
Macro-F1 (argmax, the same definition as the Trainer and the Evaluator gate) per language and overall is
printed as a markdown table, beside the fine-tuned model's eval figures from the latest Trainer's
training_report.json (same eval split).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from models import features, tfrecords  # noqa: E402
from models.classifier.metrics import classification_report  # noqa: E402

Rows = List[Tuple[str, str, str]]  # (text, label, lang)
E5_PREFIX = "query: "


def latest_artifact(home: str, component: str, output: str) -> Optional[str]:
    """The newest artifact folder <home>/pipeline_root/<component>/<output>/<id> (by numeric id)."""
    folders = glob.glob(os.path.join(home, "pipeline_root", component, output, "*"))
    numbered = [f for f in folders if os.path.basename(f).isdigit()]
    return max(numbered, key=lambda f: int(os.path.basename(f)), default=None)


def read_split(examples_dir: str, split: str) -> Rows:
    """(text, label, lang) rows of one split of an Examples artifact."""
    return [(tfrecords.string_value(e, features.TEXT), tfrecords.string_value(e, features.LABEL),
             tfrecords.string_value(e, features.LANG))
            for e in tfrecords.read_examples(os.path.join(examples_dir, f"Split-{split}"))]


def tfidf_baseline(train: Rows, evaluation: Rows) -> np.ndarray:
    """Predicted labels of TF-IDF char_wb 1–4-grams + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)
    classifier = LogisticRegression(C=10.0, max_iter=3000)
    classifier.fit(vectorizer.fit_transform([r[0] for r in train]), [r[1] for r in train])
    return classifier.predict(vectorizer.transform([r[0] for r in evaluation]))


def e5_embeddings(texts: Sequence[str], batch_size: int = 64, max_seq_length: int = 64) -> np.ndarray:
    """L2-normalised, masked-mean-pooled multilingual-e5-small embeddings of "query: " + text."""
    import tensorflow as tf

    from models.encoder import E5_SMALL, load_checkpoint
    from models.encoder.keras_bert import build_encoder
    from models.classifier.training import predictor
    from models.tokenizer.text_encoder import encode_texts, load_tokenizer_asset, make_tokenizer

    encoder = build_encoder(load_checkpoint(E5_SMALL))
    embed = predictor(encoder)
    asset = load_tokenizer_asset(E5_SMALL)
    tokenizer = make_tokenizer(asset)
    order = np.argsort([len(t) for t in texts])  # similar lengths per batch: short batches stay short
    vectors = np.zeros((len(texts), encoder.output_shape[-1]), np.float32)
    for start in range(0, len(texts), batch_size):
        rows = order[start:start + batch_size]
        encoded = encode_texts(tokenizer, asset, tf.constant([E5_PREFIX + texts[i] for i in rows]), max_seq_length)
        mask = tf.cast(encoded[features.INPUT_MASK], tf.int32)
        length = int(tf.reduce_max(tf.reduce_sum(mask, axis=1)))
        ids = tf.cast(encoded[features.INPUT_IDS][:, :length], tf.int32)
        vectors[rows] = embed(ids, mask[:, :length]).numpy()
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def e5_baseline(train: Rows, evaluation: Rows) -> np.ndarray:
    """Predicted labels of frozen e5 embeddings + logistic regression."""
    from sklearn.linear_model import LogisticRegression

    embedded = e5_embeddings([r[0] for r in train + evaluation])
    classifier = LogisticRegression(C=10.0, max_iter=3000)
    classifier.fit(embedded[:len(train)], [r[1] for r in train])
    return classifier.predict(embedded[len(train):])


def scores(evaluation: Rows, predicted: Sequence[str], labels: Sequence[str]) -> Dict[str, object]:
    """The Trainer's report shape ({"overall", "per_language"}) for predicted label names."""
    index = {label: i for i, label in enumerate(labels)}
    return classification_report(np.array([index[r[1]] for r in evaluation]),
                                 np.array([index[p] for p in predicted]), [r[2] for r in evaluation], len(labels))


def table(evaluation: Rows, results: Dict[str, Dict[str, object]]) -> str:
    """Markdown: one row per language and overall, one macro-F1 column per model."""
    names = list(results)
    languages = sorted({r[2] for r in evaluation})
    lines = ["| language | eval rows | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for lang in languages + ["overall"]:
        cells = []
        for name in names:
            part = results[name]["overall"] if lang == "overall" else results[name]["per_language"].get(lang, {})
            cells.append(f"{part['macro_f1']:.3f}" if "macro_f1" in part else "–")
        count = len(evaluation) if lang == "overall" else sum(r[2] == lang for r in evaluation)
        lines.append(f"| {lang} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=".nlp2prod", help="the nlp2prod home of the pipeline run")
    parser.add_argument("--examples", help="a TextCleaner cleaned_examples artifact folder (default: latest)")
    parser.add_argument("--report", help="a Trainer training_report.json (default: the latest run's)")
    parser.add_argument("--no-e5", action="store_true", help="skip the frozen-e5 baseline (~1-2 min on 2 cores)")
    parser.add_argument("--output", help="also write the table to this markdown file")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    examples = args.examples or latest_artifact(args.home, "TextCleaner", "cleaned_examples")
    if not examples or not os.path.isdir(os.path.join(examples, "Split-eval")):
        print(f"no cleaned examples found (looked in {args.home}); run the pipeline first or pass --examples",
              file=sys.stderr)
        return 2
    train, evaluation = read_split(examples, "train"), read_split(examples, "eval")
    labels = sorted({r[1] for r in train + evaluation})
    results: Dict[str, Dict[str, object]] = {}
    for name, baseline in [("TF-IDF char 1-4 + LR", tfidf_baseline)] + (
            [] if args.no_e5 else [("frozen e5 + LR", e5_baseline)]):
        started = time.time()
        results[name] = scores(evaluation, baseline(train, evaluation), labels)
        print(f"{name}: macro-F1 {results[name]['overall']['macro_f1']:.3f} ({time.time() - started:.0f} s)",
              file=sys.stderr)
    report_path = args.report or os.path.join(latest_artifact(args.home, "Trainer", "model_run") or "",
                                              "training_report.json")
    if os.path.isfile(report_path):
        with open(report_path, encoding="utf-8") as f:
            results["fine-tuned (Trainer eval)"] = json.load(f)["eval"]
    text = (f"Split: {examples} ({len(train)} train / {len(evaluation)} eval rows, {len(labels)} labels); "
            f"macro-F1 over topics.\n\n" + table(evaluation, results))
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
