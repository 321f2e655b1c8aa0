"""Names of the example splits beyond train/eval, shared by the data side and the model side (SPLITS.md).

`holdout` holds every row of the languages in `data.holdout_languages`: those languages never reach train or
eval, so evaluating a model on `holdout` measures how it does in a language it never saw labelled.
"""

from typing import Sequence, Tuple

from data.input_format import fold_language

HOLDOUT = "holdout"


def held_out(languages: Sequence[str], holdout_languages: Sequence[str]) -> Tuple[str, ...]:
    """The configured languages that are held out (a held-out code that is not configured has no rows to hold).

    Raises:
      ValueError: every configured language is held out, so nothing is left to train on.
    """
    wanted = {fold_language(code) for code in holdout_languages}
    chosen = tuple(code for code in languages if fold_language(code) in wanted)
    if languages and len(chosen) == len(languages):
        raise ValueError(f"data.holdout_languages ({', '.join(holdout_languages)}) holds out every configured "
                         f"language ({', '.join(languages)}); nothing is left to train on")
    return chosen
