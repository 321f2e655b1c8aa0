"""One error hierarchy for the server, its client and its commands.

Every error raised inside `serving/` that a caller may see is a `ServingError`. Each class carries the gRPC
status code and the HTTP status that TensorFlow Serving uses for that code (its `ToHTTPStatusCode` table), so
each protocol adapter maps errors in exactly one place:

    ServingError (INTERNAL, 500)
    ├── InvalidArgument (INVALID_ARGUMENT, 400)      bad request body, dtype, shape, batch, label ...
    │   └── ConfigError                              a config file or flag that does not parse or validate
    ├── NotFound (NOT_FOUND, 404)                    unknown model or version, an unknown REST path
    ├── FailedPrecondition (FAILED_PRECONDITION, 400) a label on a version that is not AVAILABLE
    ├── ResourceExhausted (RESOURCE_EXHAUSTED, 429)  a message over gRPC's size limit (HTTP says 413)
    ├── Unavailable (UNAVAILABLE, 503)               batching queue full, server stopping
    ├── DeadlineExceeded (DEADLINE_EXCEEDED, 504)    gRPC deadline or REST timeout passed
    ├── Unimplemented (UNIMPLEMENTED, 501)
    └── Internal (INTERNAL, 500)                     a model that fails while running

`CommandError` is the CLI's: a message for one stderr line plus the exit code.
Messages name the model and version they are about, so one log line says what failed where.
"""

from __future__ import annotations

from typing import Dict, Type

import grpc


class ServingError(Exception):
    """Base class: a message plus the status it maps to on each protocol."""

    grpc_code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    http_status: int = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def code_name(self) -> str:
        """TF Serving's name for the status code (`INVALID_ARGUMENT`, ...), as metrics and status use it."""
        return self.grpc_code.name


class InvalidArgument(ServingError):
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    http_status = 400


class ConfigError(InvalidArgument):
    """A config file or flag that does not parse or validate; the message names the file."""


class NotFound(ServingError):
    grpc_code = grpc.StatusCode.NOT_FOUND
    http_status = 404


class FailedPrecondition(ServingError):
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    http_status = 400


class ResourceExhausted(ServingError):
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    http_status = 429


class Unavailable(ServingError):
    grpc_code = grpc.StatusCode.UNAVAILABLE
    http_status = 503


class DeadlineExceeded(ServingError):
    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED
    http_status = 504


class Unimplemented(ServingError):
    grpc_code = grpc.StatusCode.UNIMPLEMENTED
    http_status = 501


class Internal(ServingError):
    grpc_code = grpc.StatusCode.INTERNAL
    http_status = 500


class CommandError(Exception):
    """A user's mistake on the command line: one line for stderr and a non-zero exit code."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


_BY_CODE: Dict[int, Type[ServingError]] = {
    cls.grpc_code.value[0]: cls
    for cls in (InvalidArgument, NotFound, FailedPrecondition, ResourceExhausted, Unavailable, DeadlineExceeded,
                Unimplemented)
}


def from_code(code: int, message: str) -> ServingError:
    """The error for a canonical status code (TensorFlow's `OpError.error_code` uses the same numbers)."""
    return _BY_CODE.get(code, Internal)(message)
