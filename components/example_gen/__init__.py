"""SpanExampleGen: CSV + JSONL files of the newest span(s) -> tf.Examples with a deterministic hash split."""

__all__ = ["component", "executor", "records"]
