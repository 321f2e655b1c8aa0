"""The ML library the pipeline's executors and module files call: the pretrained encoder, its in-graph tokenizer,
the classifier (fine-tuning, pruning, vocabulary trimming, export), the Evaluator's gate, feature keys and the
TFRecord readers. Nothing here imports TFX orchestration code, `pipeline` or `components`.
"""
