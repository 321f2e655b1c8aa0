"""The encoder's tokenizer in the TensorFlow graph: SentencePiece (e5 / XLM-R) or WordPiece (HF BERT)."""

__all__ = ["sentencepiece_model", "text_encoder"]
