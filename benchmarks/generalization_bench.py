"""What each training step costs on text outside the corpus: frozen encoder + linear head, fine-tuning (gentle and
full), pruning and vocabulary trimming, per language, on the out-of-corpus set and a held-out language.

    .venv/bin/python benchmarks/generalization_bench.py --variant gentle --variant full \
        [--rows-per-topic N] [--json-dir DIR] [--output benchmarks/results/generalization.md]
    .venv/bin/python benchmarks/generalization_bench.py --report-only --json-dir DIR --output FILE

Data: the bundled corpus (all bundled languages and labels), cleaned by the TextCleaner's library; rows of the
held-out language(s) (default nl) form the held-out set; the others are split 4:1 by a hash of their group
(the row's position in its topic file, shared by the line-aligned translations across language folders, and
merged by text), so no translation of an eval line is trained on. The out-of-corpus set is
data/out_of_corpus (hand-written, 18 languages). Every variant runs the model library's `train_classifier`
(the Trainer's own code) with the Trainer's UDHR reference rows (trim plan, language head; --no-reference for
neither) and writes its training report as JSON; the report part prints the tables.

Variants:
  gentle  the earlier recipe (linear probe, then the top 2 blocks fine-tuned on cached activations, 3 epochs,
          lr 3e-5; vocabulary trim gated) plus the bfloat16-kernel gate
  full    the default recipe (the pipeline's): all 12 blocks, lr 5e-5, 60 steps (about 1/3 epoch), no trim
Every variant's label prior has the label-example head (data/label_examples), as the Trainer's does.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import logging
import os
import sys
import time
from typing import Dict, List, Sequence, Tuple

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

Example = Tuple[str, str, str]
VARIANTS = {
    "gentle": {"trainable_layers": 2, "epochs": 3, "learning_rate": 3e-5, "train_steps": None,
               "trim_vocabulary": True, "bfloat16_kernels": True},
    "full": {"trainable_layers": None, "epochs": 1, "learning_rate": 5e-5, "train_steps": 60,
             "trim_vocabulary": False},
}


def grouped_rows(languages: Sequence[str], labels: Sequence[str]) -> List[Tuple[str, str, str, str]]:
    """(text, label, lang, group) of the cleaned bundled corpus; group = label/position, merged by text."""
    from components.text_cleaner.cleaning import CleaningPolicy, Row, clean_rows
    from data.bundled import read_corpus
    from pipeline.configs import CleaningConfig

    raw = read_corpus(languages, labels)
    position: Dict[Tuple[str, str], int] = collections.Counter()
    groups = []
    for text, label, lang in raw:
        groups.append(f"{label}/{position[(lang, label)]}")
        position[(lang, label)] += 1
    by_text: Dict[str, str] = {}
    rows = [Row(split="all", source=str(i), text=text, label=label, lang=lang)
            for i, (text, label, lang) in enumerate(raw)]
    kept = []
    for row in clean_rows(rows, CleaningPolicy(tuple(languages), tuple(labels), CleaningConfig.min_chars,
                                                      CleaningConfig.max_chars)):
        if row.reason is None:
            group = by_text.setdefault(row.cleaned, groups[int(row.source)])
            kept.append((row.cleaned, row.label, row.lang, group))
    return kept


def split(rows, held_out: Sequence[str], eval_share: float = 0.2):
    """(train, eval, held-out) rows: held-out languages apart, the rest by a hash of the group."""
    def is_eval(group: str) -> bool:
        return int.from_bytes(hashlib.sha256(group.encode()).digest()[:4], "big") / 2 ** 32 < eval_share

    train = [r[:3] for r in rows if r[2] not in held_out and not is_eval(r[3])]
    evaluation = [r[:3] for r in rows if r[2] not in held_out and is_eval(r[3])]
    return train, evaluation, [r[:3] for r in rows if r[2] in held_out]


def run_variant(name: str, overrides: Dict[str, object], corpus, json_dir: str,
                use_reference: bool = True) -> Dict[str, object]:
    import tensorflow as tf

    from benchmarks.model_corpus import Preprocessing, transformed_examples
    from data import label_examples, out_of_corpus
    from components.trainer.trainer_module import reference_rows
    from data.bundled import BUNDLED_LABELS, BUNDLED_LANGUAGES
    from models.classifier import candidates, datasets, label_prior
    from models.classifier.fine_tune import train_classifier
    from models.classifier.recipe import Recipe
    from models.encoder import E5_SMALL, load_checkpoint
    from models.tokenizer.text_encoder import load_tokenizer_asset, make_tokenizer, tokenize

    train, evaluation, held = corpus
    asset = load_tokenizer_asset(E5_SMALL)
    preprocessing = Preprocessing(asset, 64, BUNDLED_LABELS)
    prefix = tuple(int(i) for i in tokenize(make_tokenizer(asset), asset, tf.constant(["query: "])).flat_values)
    ooc = [(s.text, s.label, s.lang) for s in out_of_corpus.load()]
    test_sets = {candidates.HELD_OUT: transformed_examples(held, preprocessing),
                 candidates.OUT_OF_CORPUS: transformed_examples(ooc, preprocessing)}
    reference = reference_rows(BUNDLED_LANGUAGES, BUNDLED_LABELS) if use_reference else None
    language_examples = transformed_examples(reference, preprocessing) if reference else None
    recipe = Recipe(**overrides)
    descriptions = transformed_examples(label_prior.description_rows(recipe.label_prior_template, BUNDLED_LABELS),
                                        preprocessing)
    examples = transformed_examples([(s.text, s.label, s.lang) for s in label_examples.load(BUNDLED_LABELS)],
                                    preprocessing)
    started = time.time()
    trained = train_classifier(load_checkpoint(E5_SMALL), transformed_examples(train, preprocessing),
                               transformed_examples(evaluation, preprocessing), BUNDLED_LABELS,
                               recipe, prefix_ids=prefix, test_sets=test_sets,
                               reference_ids=datasets.all_piece_ids(language_examples),
                               language_examples=language_examples, label_descriptions=descriptions,
                               label_examples=examples)
    report = dict(trained.report, variant=name, overrides=overrides, wall_seconds=round(time.time() - started, 1),
                  load_average=list(os.getloadavg()))
    os.makedirs(json_dir, exist_ok=True)
    with open(os.path.join(json_dir, f"{name}.json"), "w") as f:
        json.dump(report, f, indent=1, default=str)
    return report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    parser.add_argument("--held-out", default="nl")
    parser.add_argument("--json-dir", default="benchmarks/results/generalization")
    parser.add_argument("--output", default="benchmarks/results/generalization.md")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--no-reference", action="store_true", help="no UDHR text (trim plan, language head)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("nlp2prod.progress").setLevel(logging.INFO)
    if not args.report_only:
        from data.bundled import BUNDLED_LABELS, BUNDLED_LANGUAGES
        corpus = split(grouped_rows(BUNDLED_LANGUAGES, BUNDLED_LABELS), args.held_out.split(","))
        print(f"rows: train {len(corpus[0])}, eval {len(corpus[1])}, held-out {len(corpus[2])}", flush=True)
        for name in args.variant or ["gentle"]:
            report = run_variant(name, VARIANTS[name], corpus, args.json_dir, not args.no_reference)
            print(f"{name}: {report['wall_seconds']} s, chosen {report['chosen']}", flush=True)
    from benchmarks.generalization_report import write_report
    write_report(args.json_dir, args.output, " ".join(sys.argv))


if __name__ == "__main__":
    main()
