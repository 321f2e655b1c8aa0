"""The TF Serving request-log messages, built at run time from descriptors, so no TensorFlow is imported.

`tensorflow_serving.apis.prediction_log_pb2` imports TensorFlow's own protos (`tensorflow.core.framework`), which
loads all of TensorFlow; the gateway has none. The messages below are the subset of TF Serving's and
TensorFlow's schemas that a request log needs (PredictionLog with its predict_log, LogMetadata, ModelSpec,
TensorProto, LoggingConfig; tf.Example to read training examples), with the upstream full names and field
numbers, built in a private descriptor pool so they never collide with the official classes in one process.
Their bytes are the official messages' bytes: tests/monitoring parses them with TF Serving's own classes and
checks every field here against the official descriptors.

One field is ours: `PredictionLog.nlp2prod_request` (number 1001, far from upstream's 1-7) carries the request
id and the features derived from each text (language, length), which the monitor reads and which stand in for
the text when the log keeps no raw text. Official readers keep it as an unknown field and ignore it.
"""

from __future__ import annotations

from typing import Sequence, Tuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

__all__ = ["DataType", "Example", "LoggingConfig", "PredictionLog", "RequestRecord", "TensorProto"]

F = descriptor_pb2.FieldDescriptorProto
# (name, number, type, repeated, type name of a message or enum, oneof index)
Field = Tuple[str, int, int, bool, str, int]


def _f(name: str, number: int, kind: int, repeated: bool = False, type_name: str = "", oneof: int = -1) -> Field:
    return name, number, kind, repeated, type_name, oneof


def _add(container, name: str, fields: Sequence[Field], oneofs: Sequence[str] = ()) -> descriptor_pb2.DescriptorProto:
    message = container.add(name=name)
    for oneof in oneofs:
        message.oneof_decl.add(name=oneof)
    for field_name, number, kind, repeated, type_name, oneof in fields:
        field = message.field.add(name=field_name, number=number, type=kind,
                                  label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
        if type_name:
            field.type_name = type_name
        if oneof >= 0:
            field.oneof_index = oneof
        if repeated and kind not in (F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_MESSAGE):
            field.options.packed = True
    return message


def _add_map(message: descriptor_pb2.DescriptorProto, full_name: str, field: str, number: int, entry: str,
             value_type: str) -> None:
    """A map<string, value_type> field, written as protoc does: a nested *Entry message marked map_entry."""
    nested = _add(message.nested_type, entry, [_f("key", 1, F.TYPE_STRING),
                                               _f("value", 2, F.TYPE_MESSAGE, type_name=value_type)])
    nested.options.map_entry = True
    message.field.add(name=field, number=number, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                      type_name=f".{full_name}.{entry}")


def _tensorflow_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name="nlp2prod_monitoring/tensorflow.proto", package="tensorflow",
                                               syntax="proto3")
    dtype = proto.enum_type.add(name="DataType")
    for name, number in (("DT_INVALID", 0), ("DT_FLOAT", 1), ("DT_DOUBLE", 2), ("DT_INT32", 3),
                         ("DT_STRING", 7), ("DT_INT64", 9), ("DT_BOOL", 10)):
        dtype.value.add(name=name, number=number)
    shape = _add(proto.message_type, "TensorShapeProto",
                 [_f("dim", 2, F.TYPE_MESSAGE, True, ".tensorflow.TensorShapeProto.Dim"),
                  _f("unknown_rank", 3, F.TYPE_BOOL)])
    _add(shape.nested_type, "Dim", [_f("size", 1, F.TYPE_INT64), _f("name", 2, F.TYPE_STRING)])
    _add(proto.message_type, "TensorProto", [
        _f("dtype", 1, F.TYPE_ENUM, type_name=".tensorflow.DataType"),
        _f("tensor_shape", 2, F.TYPE_MESSAGE, type_name=".tensorflow.TensorShapeProto"),
        _f("version_number", 3, F.TYPE_INT32), _f("tensor_content", 4, F.TYPE_BYTES),
        _f("float_val", 5, F.TYPE_FLOAT, True), _f("double_val", 6, F.TYPE_DOUBLE, True),
        _f("int_val", 7, F.TYPE_INT32, True), _f("string_val", 8, F.TYPE_BYTES, True),
        _f("int64_val", 10, F.TYPE_INT64, True), _f("bool_val", 11, F.TYPE_BOOL, True)])
    _add(proto.message_type, "BytesList", [_f("value", 1, F.TYPE_BYTES, True)])
    _add(proto.message_type, "FloatList", [_f("value", 1, F.TYPE_FLOAT, True)])
    _add(proto.message_type, "Int64List", [_f("value", 1, F.TYPE_INT64, True)])
    _add(proto.message_type, "Feature", [
        _f("bytes_list", 1, F.TYPE_MESSAGE, type_name=".tensorflow.BytesList", oneof=0),
        _f("float_list", 2, F.TYPE_MESSAGE, type_name=".tensorflow.FloatList", oneof=0),
        _f("int64_list", 3, F.TYPE_MESSAGE, type_name=".tensorflow.Int64List", oneof=0)], oneofs=["kind"])
    features = _add(proto.message_type, "Features", [])
    _add_map(features, "tensorflow.Features", "feature", 1, "FeatureEntry", ".tensorflow.Feature")
    _add(proto.message_type, "Example", [_f("features", 1, F.TYPE_MESSAGE, type_name=".tensorflow.Features")])
    return proto


def _serving_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="nlp2prod_monitoring/serving.proto", package="tensorflow.serving", syntax="proto3",
        dependency=["google/protobuf/wrappers.proto", "nlp2prod_monitoring/tensorflow.proto",
                    "nlp2prod_monitoring/request_record.proto"])
    S, T = ".tensorflow.serving.", ".tensorflow."
    message = proto.message_type
    _add(message, "ModelSpec", [
        _f("name", 1, F.TYPE_STRING),
        _f("version", 2, F.TYPE_MESSAGE, type_name=".google.protobuf.Int64Value", oneof=0),
        _f("version_label", 4, F.TYPE_STRING, oneof=0), _f("signature_name", 3, F.TYPE_STRING)],
        oneofs=["version_choice"])
    _add(message, "SamplingConfig", [_f("sampling_rate", 1, F.TYPE_DOUBLE), _f("attributes", 2, F.TYPE_INT32)])
    _add(message, "LogCollectorConfig", [_f("type", 1, F.TYPE_STRING), _f("filename_prefix", 2, F.TYPE_STRING)])
    _add(message, "LoggingConfig", [
        _f("log_collector_config", 1, F.TYPE_MESSAGE, type_name=S + "LogCollectorConfig"),
        _f("sampling_config", 2, F.TYPE_MESSAGE, type_name=S + "SamplingConfig")])
    _add(message, "LogMetadata", [
        _f("model_spec", 1, F.TYPE_MESSAGE, type_name=S + "ModelSpec"),
        _f("sampling_config", 2, F.TYPE_MESSAGE, type_name=S + "SamplingConfig"),
        _f("saved_model_tags", 3, F.TYPE_STRING, True), _f("timestamp_secs", 4, F.TYPE_INT64)])
    request = _add(message, "PredictRequest", [_f("model_spec", 1, F.TYPE_MESSAGE, type_name=S + "ModelSpec"),
                                               _f("output_filter", 3, F.TYPE_STRING, True)])
    _add_map(request, "tensorflow.serving.PredictRequest", "inputs", 2, "InputsEntry", T + "TensorProto")
    response = _add(message, "PredictResponse", [_f("model_spec", 2, F.TYPE_MESSAGE, type_name=S + "ModelSpec")])
    _add_map(response, "tensorflow.serving.PredictResponse", "outputs", 1, "OutputsEntry", T + "TensorProto")
    _add(message, "PredictLog", [_f("request", 1, F.TYPE_MESSAGE, type_name=S + "PredictRequest"),
                                 _f("response", 2, F.TYPE_MESSAGE, type_name=S + "PredictResponse")])
    _add(message, "PredictionLog", [
        _f("log_metadata", 1, F.TYPE_MESSAGE, type_name=S + "LogMetadata"),
        _f("predict_log", 6, F.TYPE_MESSAGE, type_name=S + "PredictLog", oneof=0),
        _f("nlp2prod_request", 1001, F.TYPE_MESSAGE, type_name=".nlp2prod.monitoring.RequestRecord")],
        oneofs=["log_type"])
    return proto


def _request_record_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name="nlp2prod_monitoring/request_record.proto",
                                               package="nlp2prod.monitoring", syntax="proto3")
    _add(proto.message_type, "TextFeatures", [
        _f("language", 1, F.TYPE_STRING), _f("language_confidence", 2, F.TYPE_FLOAT),
        _f("char_count", 3, F.TYPE_INT32), _f("word_count", 4, F.TYPE_INT32)])
    _add(proto.message_type, "RequestRecord", [
        _f("request_id", 1, F.TYPE_STRING),
        _f("texts", 2, F.TYPE_MESSAGE, True, ".nlp2prod.monitoring.TextFeatures"),
        _f("raw_text_stored", 3, F.TYPE_BOOL), _f("source", 4, F.TYPE_STRING),
        _f("latency_ms", 5, F.TYPE_DOUBLE)])
    return proto


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto.FromString(wrappers_pb2.DESCRIPTOR.serialized_pb)
    for file_proto in (wrappers, _tensorflow_file(), _request_record_file(), _serving_file()):
        pool.Add(file_proto)
    return pool


POOL = _build_pool()
_factory = message_factory.MessageFactory(POOL)


def message_class(full_name: str):
    """The generated class of a message in this module's pool, e.g. "tensorflow.serving.PredictLog"."""
    return _factory.GetPrototype(POOL.FindMessageTypeByName(full_name))


PredictionLog = message_class("tensorflow.serving.PredictionLog")
LoggingConfig = message_class("tensorflow.serving.LoggingConfig")
TensorProto = message_class("tensorflow.TensorProto")
Example = message_class("tensorflow.Example")
RequestRecord = message_class("nlp2prod.monitoring.RequestRecord")
DataType = POOL.FindEnumTypeByName("tensorflow.DataType")
