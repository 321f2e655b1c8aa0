"""ServingCheck: the InfraValidator stand-in (op list vs. the pinned TF Serving image, load, gRPC canaries)."""

__all__ = ["canary", "component", "executor", "servability"]
