"""Tiny models in the shapes that TF Serving's own tests serve, built here (never TF Serving's test data).

- `export_half_plus_two_tf2`: y = 0.5 x + 2 on x [None, 1], plus classify/regress-shaped signatures over serialized
  tf.Examples with a float feature `x`, all exported by `tf.saved_model.save` (so marked as predict, as every TF2
  export is), and `pairs` (x [None, 2] summed along axis 1, for a graph that refuses a rank-one tensor).
- `export_half_plus_three_tf1`: a graph-mode SavedModel (y = 0.5 x + 3) whose example placeholder is a scalar, as
  graphs exported before TensorFlow checked ParseExample's rank were; the TF2 loader cannot rebuild it.
- `export_tflite_half_plus_two`: the TF2 model converted to `model.tflite` (no SignatureDefs in its metadata, so
  served under its tensors' names, as upstream).
- `export_tf_text_ops`: y = x + 1 after a control dependency on TF Text ops (tf.text's model-server recipe).
"""

from __future__ import annotations

import os

import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow.core.example import example_pb2
from tensorflow.core.protobuf import saved_model_pb2

VERSION = 123


def x_example(value: float) -> bytes:
    example = example_pb2.Example()
    example.features.feature["x"].float_list.value.append(value)
    return example.SerializeToString()


class _HalfPlusTwo(tf.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = tf.Variable(0.5), tf.Variable(2.0)

    def _from_examples(self, serialized):
        x = tf.io.parse_example(serialized, {"x": tf.io.FixedLenFeature([1], tf.float32)})["x"]
        return self.a * x + self.b

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32, name="x")])
    def predict(self, x):
        return {"y": self.a * x + self.b}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify(self, inputs):
        return {"scores": self._from_examples(inputs)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress(self, inputs):
        return {"outputs": self._from_examples(inputs)}

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def pairs(self, x):
        return {"y": tf.reduce_sum(x, axis=1)}


def export_half_plus_two_tf2(base_path: str) -> str:
    module = _HalfPlusTwo()
    path = os.path.join(base_path, str(VERSION))
    tf.saved_model.save(module, path, signatures={
        "serving_default": module.predict, "classify_x_to_y": module.classify,
        "regress_x_to_y": module.regress, "pairs": module.pairs})
    return base_path


def export_half_plus_three_tf1(base_path: str) -> str:
    path = os.path.join(base_path, str(VERSION))
    v1 = tf.compat.v1
    with tf.Graph().as_default(), v1.Session() as session:
        x = v1.placeholder(tf.float32, [None, 1], name="x")
        a, b = v1.Variable(0.5, name="a"), v1.Variable(3.0, name="b")
        y = tf.add(a * x, b, name="y")
        examples = v1.placeholder(tf.string, [None], name="tf_example")
        parsed = v1.io.parse_example(examples, {"x": v1.io.FixedLenFeature([1], tf.float32)})
        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={
            "serving_default": v1.saved_model.predict_signature_def({"x": x}, {"y": y}),
            "regress_x_to_y": v1.saved_model.regression_signature_def(examples, tf.add(a * parsed["x"], b))})
        builder.save()
    _make_example_placeholder_scalar(os.path.join(path, "saved_model.pb"))
    return base_path


def _make_example_placeholder_scalar(saved_model_file: str) -> None:
    saved_model = saved_model_pb2.SavedModel()
    with open(saved_model_file, "rb") as handle:
        saved_model.ParseFromString(handle.read())
    for node in saved_model.meta_graphs[0].graph_def.node:
        node.attr.pop("_output_shapes", None)  # old exports carried no inferred shapes
        if node.name == "tf_example":
            node.attr["shape"].shape.Clear()
    with open(saved_model_file, "wb") as handle:
        handle.write(saved_model.SerializeToString())


def export_tflite_half_plus_two(base_path: str) -> str:
    module = _HalfPlusTwo()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.predict.get_concrete_function()], module)
    path = os.path.join(base_path, str(VERSION))
    os.makedirs(path)
    with open(os.path.join(path, "model.tflite"), "wb") as handle:
        handle.write(converter.convert())
    return base_path


class _TextOps(tf.Module):
    def __init__(self):
        super().__init__()
        vocabulary = tf.lookup.KeyValueTensorInitializer(["i"], [1], key_dtype=tf.string, value_dtype=tf.int64)
        self.table = tf.lookup.StaticHashTable(vocabulary, default_value=-1)

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="x")])
    def __call__(self, x):
        words = tf.constant(["A String of words", "Yo dawg!"])
        normalized = tf_text.normalize_utf8(tf_text.case_fold_utf8(words))
        ops = [normalized.values if hasattr(normalized, "values") else normalized,
               tf_text.regex_split(words, r"\s").flat_values,
               tf_text.WhitespaceTokenizer().tokenize(words).flat_values,
               tf_text.UnicodeScriptTokenizer().tokenize(words).flat_values,
               tf_text.WordpieceTokenizer(self.table).tokenize(["i am"]).flat_values,
               tf_text.max_spanning_tree(tf.constant([2]), tf.constant([[[0, 1], [1, 0]]]))[0]]
        with tf.control_dependencies(ops):
            return {"y": tf.add(x, [1.0])}


def export_tf_text_ops(base_path: str) -> str:
    module = _TextOps()
    tf.saved_model.save(module, os.path.join(base_path, "1"), module.__call__.get_concrete_function())
    return base_path
