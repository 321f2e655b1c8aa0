"""DataGate: stops the run on schema anomalies, missing split coverage or language/label drift."""

__all__ = ["component", "executor", "gate"]
