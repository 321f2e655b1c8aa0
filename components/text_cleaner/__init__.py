"""TextCleaner: per-row normalisation, noise removal, de-duplication and language/label checks."""

__all__ = ["cleaning", "component", "executor", "language_id", "normalisation", "summary"]
