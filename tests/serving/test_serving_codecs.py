"""TensorProto and JSON conversions, on plain values (no server)."""

import base64

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import input_pb2

from serving import codec, rest_codec
from serving.errors import InvalidArgument, ResourceExhausted
from serving.servable import Signature, TensorSpec


def spec(alias, dtype, shape):
    enum = tf.dtypes.as_dtype(dtype).as_datatype_enum
    numpy_dtype = np.dtype(object) if dtype == tf.string else np.dtype(tf.dtypes.as_dtype(dtype).as_numpy_dtype)
    return TensorSpec(alias, numpy_dtype, enum, shape)


@pytest.mark.parametrize("value, dtype", [
    (["a", "bé"], tf.string), ([[1.5, 2.0]], tf.float32), ([1, 2, 3], tf.int64), ([[1], [2]], tf.int32),
    ([True, False], tf.bool), ([0.25], tf.float64),
])
def test_tensor_protos_round_trip_like_tensorflow(value, dtype):
    proto = tf.make_tensor_proto(value, dtype=dtype)
    array = codec.to_ndarray(proto, "x")
    np.testing.assert_array_equal(array, tf.make_ndarray(proto))
    for as_content in (False, True):
        back = codec.to_tensor_proto(array, as_content)
        np.testing.assert_array_equal(tf.make_ndarray(back), tf.make_ndarray(proto))


def test_typed_fields_by_default_and_one_value_broadcast():
    proto = codec.to_tensor_proto(np.array([[0.5, 0.25]], dtype=np.float32))
    assert list(proto.float_val) == [0.5, 0.25] and not proto.tensor_content
    broadcast = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[7.0])
    broadcast.tensor_shape.dim.add(size=3)
    assert codec.to_ndarray(broadcast, "x").tolist() == [7.0, 7.0, 7.0]


def test_inconsistent_tensor_content_is_invalid_argument():
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=b"\x00" * 6)
    proto.tensor_shape.dim.add(size=2)
    with pytest.raises(InvalidArgument, match="input 'x': tensor_content has 6 bytes"):
        codec.to_ndarray(proto, "x")
    with pytest.raises(InvalidArgument, match="unsupported dtype DT_RESOURCE"):
        codec.to_ndarray(tensor_pb2.TensorProto(dtype=types_pb2.DT_RESOURCE), "x")


def _proto(dtype, shape, **values) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=dtype, **values)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


@pytest.mark.parametrize("proto, error, words", [
    (_proto(types_pb2.DT_STRING, [2 ** 40], string_val=[b"a"]), ResourceExhausted, "more than the limit of 1000"),
    (_proto(types_pb2.DT_FLOAT, [2 ** 31, 2 ** 31]), ResourceExhausted, "4611686018427387904 elements"),
    (_proto(types_pb2.DT_STRING, [1] * 1000, string_val=[b"a"]), InvalidArgument, "1000 dimensions; at most 32"),
    (_proto(types_pb2.DT_STRING, [3], string_val=[b"a", b"b"]), InvalidArgument, "3 elements but 2 values"),
    (_proto(types_pb2.DT_FLOAT, [2]), InvalidArgument, "2 elements but 0 values in float_val"),
    (_proto(types_pb2.DT_INT8, [2], int_val=[1, 2, 3]), InvalidArgument, "2 elements but 3 values"),
    (_proto(types_pb2.DT_STRING, [1], tensor_content=b"ab"), InvalidArgument, "cannot use tensor_content"),
    (_proto(types_pb2.DT_UINT8, [3], tensor_content=b"ab"), InvalidArgument, "tensor_content has 2 bytes"),
    (_proto(999, [1]), InvalidArgument, "unsupported dtype DataType 999"),
])
def test_request_tensors_are_bounded_and_consistent_before_they_are_built(proto, error, words):
    with pytest.raises(error) as caught:
        codec.to_ndarray(proto, "text", max_elements=1000)
    assert words in caught.value.message and "'text'" in caught.value.message


def test_one_value_fills_the_shape_and_other_dtypes_go_through_tensorflow():
    assert codec.to_ndarray(_proto(types_pb2.DT_STRING, [2, 2], string_val=[b"a"]), "x").tolist() == [[b"a"] * 2] * 2
    assert codec.to_ndarray(_proto(types_pb2.DT_INT8, [3], int_val=[4]), "x").tolist() == [4, 4, 4]
    assert codec.to_ndarray(_proto(types_pb2.DT_UINT8, [2], tensor_content=b"\x01\x02"), "x").tolist() == [1, 2]
    assert codec.to_ndarray(_proto(types_pb2.DT_STRING, [0, 5]), "x").shape == (0, 5)


def test_context_is_prepended_to_each_example():
    request_input = input_pb2.Input()
    with_context = request_input.example_list_with_context
    with_context.context.features.feature["lang"].bytes_list.value.append(b"en")
    with_context.examples.add().features.feature["text"].bytes_list.value.append(b"hi")
    (serialized,) = codec.examples_from_input(request_input)
    parsed = tf.train.Example.FromString(serialized).features.feature
    assert parsed["lang"].bytes_list.value == [b"en"] and parsed["text"].bytes_list.value == [b"hi"]


TEXT = Signature("serving_default", "tensorflow/serving/predict", {"text": spec("text", tf.string, (None,))}, {})
SMALL = Signature("small", "tensorflow/serving/predict", {"n": spec("n", tf.int32, (None,))}, {})
TWO = Signature("two", "tensorflow/serving/predict",
                {"ids": spec("ids", tf.int64, (None, 2)), "weight": spec("weight", tf.float32, (None,))}, {})


def test_row_and_columnar_inputs_with_b64_and_objects():
    b64 = base64.b64encode(b"\xff\x00raw").decode()
    inputs, row = rest_codec.predict_inputs({"instances": ["hi", {"b64": b64}]}, TEXT)
    assert row and inputs["text"].tolist() == [b"hi", b"\xff\x00raw"]
    inputs, row = rest_codec.predict_inputs({"inputs": {"ids": [[1, 2]], "weight": [0.5]}}, TWO)
    assert not row and inputs["ids"].dtype == np.int64 and inputs["weight"].dtype == np.float32
    inputs, _ = rest_codec.predict_inputs({"instances": [{"ids": [1, 2], "weight": 1}, {"ids": [3, 4], "weight": 2}]},
                                          TWO)
    assert inputs["ids"].shape == (2, 2) and inputs["weight"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("signature, document, words", [
    (TEXT, {"instances": [1.5]}, "expected a string"),
    (TEXT, {"instances": [["a"], "b"]}, "ragged"),
    (TWO, {"inputs": {"ids": [[1.5, 2]], "weight": [1]}}, "expects int64 values, got floats"),
    (TWO, {"inputs": {"ids": [[1, "2"]], "weight": [1]}}, "got strings"),
    (TWO, {"inputs": {"ids": [[1, 2], [3]], "weight": [1]}}, "not a rectangular list"),
    (TWO, {"inputs": {"ids": [[2 ** 70, 1]], "weight": [1]}}, "integers beyond 64 bits"),
    (SMALL, {"inputs": [2 ** 40]}, "out of range for int32"),
    (TWO, {"inputs": {"ids": [[1, 2]]}}, "Missing named input: weight"),
    (TWO, {"inputs": {"ids": [[1, 2]], "weight": [1], "extra": 1}}, "unknown input(s) extra"),
    (TWO, {"instances": [[1, 2]]}, "expecting list of objects"),
])
def test_json_values_that_do_not_fit_the_signature(signature, document, words):
    with pytest.raises(InvalidArgument) as caught:
        rest_codec.predict_inputs(document, signature)
    assert words in caught.value.message


def test_outputs_drop_a_single_name_and_encode_bytes_outputs_as_b64():
    one = {"scores": np.array([[0.5], [0.25]], np.float32)}
    assert rest_codec.predict_response(one, True) == {"predictions": [[0.5], [0.25]]}
    assert rest_codec.predict_response(one, False) == {"outputs": [[0.5], [0.25]]}
    two = {"label": np.array([b"a", b"\xff"], object), "raw_bytes": np.array([b"\x00", b"z"], object)}
    answer = rest_codec.predict_response(two, True)["predictions"]
    assert answer[0] == {"label": "a", "raw_bytes": {"b64": "AA=="}}
    assert answer[1]["label"] == {"b64": "/w=="}  # not UTF-8: sent as b64 rather than mangled


def test_depth_is_checked_outside_strings_and_before_parsing():
    rest_codec.check_depth(b'{"instances": ["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]}', 4)
    with pytest.raises(InvalidArgument, match="nesting deeper than 4"):
        rest_codec.check_depth(b'{"a": [[[[[1]]]]]}', 4)
    with pytest.raises(InvalidArgument, match="nesting deeper than 32"):
        rest_codec.parse_body(b"[" * 100_000, 32)


def test_an_integer_past_pythons_digit_limit_is_invalid_argument():
    with pytest.raises(InvalidArgument, match="an integer has more than 4300 digits"):
        rest_codec.parse_body(b'{"instances": [' + b"7" * 5000 + b"]}", 32)


def test_examples_from_json_types():
    (serialized,) = rest_codec.examples({"context": {"lang": "en"},
                                         "examples": [{"text": "hi", "n": [1, 2], "w": 0.5, "b": {"b64": "AA=="}}]})
    features = tf.train.Example.FromString(serialized).features.feature
    assert features["lang"].bytes_list.value == [b"en"] and features["n"].int64_list.value == [1, 2]
    assert features["w"].float_list.value == [0.5] and features["b"].bytes_list.value == [b"\x00"]
