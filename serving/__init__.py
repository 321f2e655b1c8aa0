"""A TensorFlow-Serving-compatible model server (gRPC + REST), its client, and version operations.

Never imports tfx, `pipeline` or `components`.
"""
