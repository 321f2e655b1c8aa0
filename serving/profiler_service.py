"""`tensorflow.ProfilerService` on the gRPC port, as tensorflow_model_server answers it (`--enable_profiler`).

`Profile` runs TensorFlow's own profiler in this process for the requested duration and writes the trace where
TF's profiler server writes it: `<repository_root>/<session_id>/<host_name>.xplane.pb`, on the server's disk, so
`tf.profiler.experimental.client.trace` and TensorBoard's capture button work against `nlp2prod serve`. As
upstream, the client names that directory: on an untrusted network serve with `--enable_profiler=false`.
`Terminate` answers at once (a trace ends at its duration); `Monitor` is UNIMPLEMENTED.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import threading

import grpc
import tensorflow as tf

from serving import protos

SERVICE = "tensorflow.ProfilerService"
MAX_DURATION_MS = 60_000  # one trace holds the profiler; a longer one would lock everyone else out


class ProfilerService:
    """The Profile and Terminate methods over TensorFlow's in-process profiler; one trace at a time."""

    def __init__(self):
        self._busy = threading.Lock()

    def profile(self, request, context: grpc.ServicerContext):
        if not self._busy.acquire(blocking=False):
            context.abort(grpc.StatusCode.UNAVAILABLE, "a profiling session is already running; retry later")
        try:
            return self._trace(request, context)
        finally:
            self._busy.release()

    def _trace(self, request, context: grpc.ServicerContext):
        names = (request.session_id, request.host_name)
        if not request.repository_root or any(not n or os.sep in n or n in (".", "..") for n in names):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ProfileRequest needs repository_root, and a "
                                                            "session_id and host_name without path separators")
        duration = min(request.duration_ms or 1000, MAX_DURATION_MS) / 1000.0
        scratch, traces = tempfile.mkdtemp(prefix="nlp2prod-profile-"), []
        try:
            tf.profiler.experimental.start(scratch)
            threading.Event().wait(duration)
            tf.profiler.experimental.stop()
            traces = glob.glob(os.path.join(scratch, "plugins", "profile", "*", "*.xplane.pb"))
            if traces:
                target = os.path.join(request.repository_root, request.session_id)
                os.makedirs(target, exist_ok=True)
                shutil.move(traces[0], os.path.join(target, f"{request.host_name}.xplane.pb"))
        except (tf.errors.OpError, OSError) as error:
            context.abort(grpc.StatusCode.INTERNAL, f"profiling failed: {error}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return protos.ProfileResponse(empty_trace=not traces)

    @staticmethod
    def terminate(request: bytes, context: grpc.ServicerContext) -> bytes:
        return b""  # an empty TerminateResponse


def add_profiler_service(server: grpc.Server) -> None:
    service = ProfilerService()
    handlers = {
        "Profile": grpc.unary_unary_rpc_method_handler(
            service.profile, request_deserializer=protos.ProfileRequest.FromString,
            response_serializer=protos.ProfileResponse.SerializeToString),
        "Terminate": grpc.unary_unary_rpc_method_handler(service.terminate),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
