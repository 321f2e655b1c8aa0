"""The model gate: the Evaluator's EvalConfig (sliced by language, floors and no-regression thresholds), the
argmax macro-F1 metric it uses, and a reader that says which threshold failed in which language."""

__all__ = ["gate", "macro_f1"]
