"""CuratedSchemaGen: the schema of cleaned examples, built from the run configuration."""

__all__ = ["component", "executor", "schema"]
