"""Feature keys shared by ingest, cleaning, Transform, Trainer and Evaluator: the one home of the data contract.

Raw examples (the user's input format and ExampleGen's output) carry three string features; Transform turns
them into fixed-length token ids plus bookkeeping features used by the tokenization gate and slicing.
"""

# Raw features, as users write them in CSV / JSONL (UTF-8).
TEXT = "text"
LABEL = "label"
LANG = "lang"
RAW_FEATURES = (TEXT, LABEL, LANG)

# Transformed features.
INPUT_IDS = "input_ids"        # int64 [max_seq_length], padded with the pad id
INPUT_MASK = "input_mask"      # int64 [max_seq_length], 1 for real tokens
LABEL_ID = "label_id"          # int64 index into the configured label list
TOKEN_COUNT = "token_count"    # int64 pieces before truncation (without special tokens)
UNKNOWN_COUNT = "unknown_count"  # int64 pieces that mapped to <unk>
TRUNCATED = "truncated"        # int64 1 when the text did not fit in max_seq_length
# `lang` passes through Transform unchanged so the Evaluator can slice by it.

SPLITS = ("train", "eval")
