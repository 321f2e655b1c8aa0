"""Input data: the input format users bring, its reader, and the bundled multilingual corpus."""

__all__ = ["bundled", "cli", "input_format"]
