"""The training recipe's hyperparameters: a plain dataclass with no TensorFlow import.

`pipeline.configs.ModelConfig` takes its training defaults from here, so the CLI's defaults and the library's
are one set of numbers; the Trainer copies config.model's values into a `Recipe`.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

from models.value_ranges import Rule, refuse_out_of_range


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Hyperparameters of one training run (the Trainer fills it from config.model)."""

    num_layers: Optional[int] = None
    # None: every block trains, on the full model each step. N: only the top N blocks (and the head) train, on
    # activations of the frozen lower blocks computed once per row (an epoch of the top 2: 70 s against 430 s
    # for all 12 on the shared 2-core machine). Out of corpus (benchmarks/results/generalization.md) all 12 blocks
    # for 60 steps at 5e-5 (0.797; held-out language 0.849) beat the top 2 for 3 epochs at 3e-5 (0.770; 0.833)
    # and the frozen encoder + linear head (0.749; 0.815) in every language, so that short run is the default.
    trainable_layers: Optional[int] = None
    epochs: int = 1
    learning_rate: float = 5e-5
    batch_size: int = 32
    freeze_embeddings: bool = True
    dropout_rate: float = 0.1
    linear_probe: bool = True
    early_stopping_patience: int = 1
    class_weighting: bool = True
    # Magnitude pruning is off by default: at 50% it cost 2.5 points of eval macro-F1 on the bundled corpus
    # and bought neither speed nor size (zeros are stored and multiplied). When on, it is gated per language.
    target_sparsity: float = 0.0
    pruning_epochs: int = 2
    pruning_tolerance: float = 0.03
    # Structured pruning (structured_pruning.py): every block keeps this fraction of its FFN intermediate units,
    # the most important ones, in physically smaller kernels, then recovers for `ffn_recovery_steps` steps; kept
    # only within `pruning_tolerance` per language. 1.0 turns it off, the default: at 0.5 on e5-small (12 layers)
    # batch-32 throughput rose 1.40x but uk lost 9 points of eval macro-F1 (benchmarks/results/model.md).
    ffn_keep: float = 1.0
    ffn_recovery_steps: int = 150
    # Off by default: even with every split's pieces, UDHR text of 18 languages and a 5,000-piece margin per
    # script (45,493 of 250,037 rows), trimming cost 8–39 points of out-of-corpus accuracy per language (chat
    # words fall to <unk>); when on, the gate below keeps the untrimmed model unless every language holds.
    trim_vocabulary: bool = False
    vocab_margin_per_script: int = 5000
    # Trimming, bfloat16 kernels and the int8 word embedding are kept only if no language of any evaluation set
    # loses more than this (accuracy; macro-F1 on the eval split).
    compression_tolerance: float = 0.02
    # Export the transformer kernels as bfloat16 (half the weight bytes read per served call), gated as above.
    bfloat16_kernels: bool = False
    # Store the word embedding as int8 rows with a float32 scale each (gated as above): e5-small's untrimmed
    # 250,037 × 384 embedding is 384 MB of a 490 MB SavedModel in float32, 97 MB in int8.
    int8_word_embedding: bool = True
    # Mixes of the frozen and fine-tuned weights tried after fine-tuning (1 = as trained; tuning.py, WiSE-FT),
    # the best on the held-out languages kept.
    weight_mixes: Tuple[float, ...] = (0.5, 0.75, 1.0)
    # Add what the label names mean (label_prior.py): cosine to a description of each label, its strength
    # chosen per candidate on the held-out languages.
    label_prior: bool = True
    label_prior_template: str = "This text is about {label}."
    # Hand-written sentences per label that say what it means (data/label_examples), fitted as a second head and
    # weighted with the prior: the corpus's topics are what its files hold, a user's are what the names mean.
    label_examples: bool = True
    train_steps: Optional[int] = 60
    seed: int = 13
    warm_start: bool = False

    def __post_init__(self):
        refuse_out_of_range(self, "model", _RULES)


def _positive_or_none(value) -> bool:
    return value is None or value > 0


# What a run would only trip over minutes in.
_RULES: List[Rule] = [
    ("ffn_keep", lambda v: 0.0 < v <= 1.0, "in (0, 1] (1.0: no structured pruning)"),
    ("target_sparsity", lambda v: 0.0 <= v < 1.0, "in [0, 1) (0: no magnitude pruning)"),
    ("weight_mixes", lambda v: len(v) > 0 and all(0.0 < m <= 1.0 for m in v),
     "one or more mixes in (0, 1] (1: the fine-tuned weights as trained)"),
    ("ffn_recovery_steps", lambda v: v >= 0, ">= 0"),
    ("learning_rate", lambda v: v > 0, "> 0"),
    ("batch_size", lambda v: v > 0, "> 0"),
    ("epochs", lambda v: v > 0, "> 0"),
    ("dropout_rate", lambda v: 0.0 <= v < 1.0, "in [0, 1)"),
    ("num_layers", _positive_or_none, "a positive number of blocks or none"),
    ("trainable_layers", _positive_or_none, "a positive number of blocks or none"),
    ("train_steps", _positive_or_none, "a positive number of steps or none"),
]
