"""Label examples: hand-written sentences that say what each bundled label means, trained on beside the corpus.

A topic corpus teaches a label by whatever its file holds (chatterbot's `psychology` file is mostly a bot
answering "you are cruel"); a user means the plain sense of the label's name. `data/label_examples/<lang>.jsonl`
(package data beside this module, the out-of-corpus set's format: `text`, `label`, `lang`, `style`) holds 20
English sentences per bundled label, formal and chat style, written apart from the out-of-corpus set, which stays
the test: no example shares more than 60% of its words with an English test sentence (tests/data).

The Trainer fits a head on them beside the corpus head and chooses its weight with the label prior
(`models/classifier/label_prior.py`); they are never part of a split and never a test set.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

from data.out_of_corpus import Sentence, read_file

FOLDER = os.path.join(os.path.dirname(__file__), "label_examples")


def load(labels: Optional[Sequence[str]] = None) -> List[Sentence]:
    """The examples of every file in the folder (file order), only those of `labels` when given.

    Raises:
      out_of_corpus.OutOfCorpusError: a malformed line (file and line number named).
    """
    sentences: List[Sentence] = []
    for name in sorted(os.listdir(FOLDER)):
        if name.endswith(".jsonl"):
            sentences += read_file(os.path.join(FOLDER, name))
    return [s for s in sentences if labels is None or s.label in labels]
