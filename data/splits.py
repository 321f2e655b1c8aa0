"""Names of the example splits beyond train/eval, shared by the data side and the model side (SPLITS.md).

`holdout` holds every row of the languages in `data.holdout_languages`: those languages never reach train or
eval, so evaluating a model on `holdout` measures how it does in a language it never saw labelled.
"""

from typing import Sequence

from data.input_format import fold_language

HOLDOUT = "holdout"


def check_holdout_languages(languages: Sequence[str], holdout_languages: Sequence[str]) -> None:
    """Raises ValueError unless every held-out language is configured and at least one language is trained on."""
    configured = {fold_language(code) for code in languages}
    unknown = [code for code in holdout_languages if fold_language(code) not in configured]
    if unknown:
        raise ValueError(f"data.holdout_languages {', '.join(unknown)} not in data.languages ({', '.join(languages)})")
    if configured <= {fold_language(code) for code in holdout_languages}:
        raise ValueError("data.holdout_languages holds out every configured language; nothing is left to train on")
