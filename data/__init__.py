"""Input data: the input format users bring, its reader, the bundled multilingual corpus and its translation
groups, the hand-written out-of-corpus test set, split names, and reference texts per language."""

__all__ = ["alignment", "bundled", "cli", "input_format", "out_of_corpus", "reference_text", "splits"]
