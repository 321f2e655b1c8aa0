"""Upstream protos that the tensorflow-serving-api wheel does not ship, declared with their upstream field numbers.

- `BatchingParameters` (tensorflow_serving/servables/tensorflow/session_bundle_config.proto): the text format of
  `--batching_parameters_file`.
- `MonitoringConfig` / `PrometheusConfig` (tensorflow_serving/config/monitoring_config.proto): the text format of
  `--monitoring_config_file`.

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


def _declare(file_text: str, *message_names: str):
    _POOL.Add(text_format.Parse(file_text, descriptor_pb2.FileDescriptorProto()))
    factory = message_factory.MessageFactory(_POOL)
    return tuple(factory.GetPrototype(_POOL.FindMessageTypeByName(name)) for name in message_names)


(BatchingParameters,) = _declare(_SESSION_BUNDLE_CONFIG, "tensorflow.serving.BatchingParameters")
PrometheusConfig, MonitoringConfig = _declare(
    _MONITORING_CONFIG, "tensorflow.serving.PrometheusConfig", "tensorflow.serving.MonitoringConfig")
