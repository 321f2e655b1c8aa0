"""ModelExport: ONNX and TFLite exports of a blessed model, each gated per language, for the VersionPusher."""

__all__ = ["component", "executor"]
