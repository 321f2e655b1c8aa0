"""Upstream protos that the tensorflow-serving-api wheel does not ship, declared with their upstream field numbers.

- `BatchingParameters` (tensorflow_serving/servables/tensorflow/session_bundle_config.proto): the text format of
  `--batching_parameters_file`.
- `MonitoringConfig` / `PrometheusConfig` (tensorflow_serving/config/monitoring_config.proto): the text format of
  `--monitoring_config_file`.
- `SSLConfig` (tensorflow_serving/config/ssl_config.proto): the text format of `--ssl_config_file`.
- `ProfileRequest` / `ProfileResponse` (tsl/profiler/protobuf/profiler_service.proto, package `tensorflow`): the
  fields of `tensorflow.ProfilerService/Profile` that the server reads and writes (others parse as unknown).

They live in a private descriptor pool: a process that also imports the upstream modules sees no clash.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2

_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(descriptor_pb2.FileDescriptorProto.FromString(wrappers_pb2.DESCRIPTOR.serialized_pb))

_SESSION_BUNDLE_CONFIG = """
name: "nlp2prod/tensorflow_serving/session_bundle_config.proto"
package: "tensorflow.serving"
dependency: "google/protobuf/wrappers.proto"
syntax: "proto3"
message_type {
  name: "BatchingParameters"
  field { name: "max_batch_size" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".google.protobuf.Int64Value" }
  field { name: "batch_timeout_micros" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".google.protobuf.Int64Value" }
  field { name: "max_enqueued_batches" number: 3 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".google.protobuf.Int64Value" }
  field { name: "num_batch_threads" number: 4 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".google.protobuf.Int64Value" }
  field { name: "thread_pool_name" number: 5 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".google.protobuf.StringValue" }
  field { name: "allowed_batch_sizes" number: 6 label: LABEL_REPEATED type: TYPE_INT64 }
  field { name: "pad_variable_length_inputs" number: 7 label: LABEL_OPTIONAL type: TYPE_BOOL }
  field { name: "enable_large_batch_splitting" number: 8 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".google.protobuf.BoolValue" }
  field { name: "max_execution_batch_size" number: 9 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".google.protobuf.Int64Value" }
}
"""

_MONITORING_CONFIG = """
name: "nlp2prod/tensorflow_serving/monitoring_config.proto"
package: "tensorflow.serving"
syntax: "proto3"
message_type {
  name: "PrometheusConfig"
  field { name: "enable" number: 1 label: LABEL_OPTIONAL type: TYPE_BOOL }
  field { name: "path" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
}
message_type {
  name: "MonitoringConfig"
  field { name: "prometheus_config" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.PrometheusConfig" }
}
"""

_SSL_CONFIG = """
name: "nlp2prod/tensorflow_serving/ssl_config.proto"
package: "tensorflow.serving"
syntax: "proto3"
message_type {
  name: "SSLConfig"
  field { name: "server_key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "server_cert" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "custom_ca" number: 3 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "client_verify" number: 4 label: LABEL_OPTIONAL type: TYPE_BOOL }
}
"""

_PROFILER_SERVICE = """
name: "nlp2prod/tsl/profiler_service.proto"
package: "tensorflow"
syntax: "proto3"
message_type {
  name: "ProfileRequest"
  field { name: "duration_ms" number: 1 label: LABEL_OPTIONAL type: TYPE_UINT64 }
  field { name: "repository_root" number: 5 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "session_id" number: 6 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "host_name" number: 7 label: LABEL_OPTIONAL type: TYPE_STRING }
}
message_type {
  name: "ProfileResponse"
  field { name: "empty_trace" number: 7 label: LABEL_OPTIONAL type: TYPE_BOOL }
}
"""


def _declare(file_text: str, *message_names: str):
    _POOL.Add(text_format.Parse(file_text, descriptor_pb2.FileDescriptorProto()))
    factory = message_factory.MessageFactory(_POOL)
    return tuple(factory.GetPrototype(_POOL.FindMessageTypeByName(name)) for name in message_names)


(BatchingParameters,) = _declare(_SESSION_BUNDLE_CONFIG, "tensorflow.serving.BatchingParameters")
PrometheusConfig, MonitoringConfig = _declare(
    _MONITORING_CONFIG, "tensorflow.serving.PrometheusConfig", "tensorflow.serving.MonitoringConfig")
(SSLConfig,) = _declare(_SSL_CONFIG, "tensorflow.serving.SSLConfig")
ProfileRequest, ProfileResponse = _declare(_PROFILER_SERVICE, "tensorflow.ProfileRequest", "tensorflow.ProfileResponse")
