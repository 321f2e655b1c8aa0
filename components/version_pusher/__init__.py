"""VersionPusher: atomic, numbered pushes of doubly blessed models, with warmup requests and metadata."""

__all__ = ["component", "executor", "push", "release"]
