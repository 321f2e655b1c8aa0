"""Names of the example splits beyond train/eval, shared by the data side and the model side (SPLITS.md).

`holdout` holds every row of the languages in `data.holdout_languages`: those languages never reach train or
eval, so evaluating a model on `holdout` measures how it does in a language it never saw labelled.
"""

HOLDOUT = "holdout"
