"""TokenizationGate: per-language <unk> and truncation rates after Transform, checked before training."""

__all__ = ["component", "executor", "tokenization"]
