"""Can the pinned production server run this SavedModel, and are its answers well-formed? Plain functions.

The production image is tensorflow/serving:2.16.1, which links core TensorFlow 2.16 ops plus TF Text 2.12.1's
`ops_lib` (tensorflow/serving 2.13 … 2.19.1 all pin TF Text 2.12.1). A model exported with tensorflow-text
2.16 can use newer ops (e.g. TFText>RoundRobinTrim) and then fails there with "Op type not registered", so
every op of the graph and its function library must be a core op or one of TF_TEXT_2_12_1_OPS.
"""

from __future__ import annotations

import collections
import os
from typing import Dict, Iterable, List, Sequence, Set, Tuple

import numpy as np

from models.gates import GateRefusal

# Ops registered by the libraries of TF Text 2.12.1's `ops_lib` target (tensorflow_text/BUILD at v2.12.1:
# REGISTER_OP and kOpName in tensorflow_text/core/ops and core/kernels). Absent on purpose: the trimmer's
# TFText>RoundRobinTrim / TFText>RoundRobinGenerateMasks and utf8_binarize (not linked into ops_lib).
TF_TEXT_2_12_1_OPS = frozenset({
    "CaseFoldUTF8", "ConstrainedSequence", "FastBertNormalize", "FastWordpieceTokenizeWithOffsets",
    "FindSourceOffsets", "MaxSpanningTree", "NormalizeUTF8", "NormalizeUTF8WithOffsetsMap", "PhraseTokenize",
    "RegexSplitWithOffsets", "RougeL", "SentenceFragments", "SentenceFragmentsV2", "SentencepieceDetokenizeOp",
    "SentencepieceIdToStringOp", "SentencepieceOp", "SentencepieceStringToIdOp", "SentencepieceTokenizeOp",
    "SentencepieceTokenizeWithOffsetsOp", "SentencepieceVocabSizeOp", "SplitMergeTokenizeWithOffsets",
    "TFText>BoiseTagsToOffsets", "TFText>ByteSplitByOffsets", "TFText>ByteSplitWithOffsets",
    "TFText>FastSentencepieceDetokenize", "TFText>FastSentencepieceTokenize", "TFText>FastWordpieceDetokenize",
    "TFText>NgramsStringJoin", "TFText>OffsetsToBoiseTags", "TFText>PhraseDetokenize",
    "TFText>WhitespaceTokenizeWithOffsetsV2", "TokenizerFromLogits", "UnicodeScriptTokenizeWithOffsets",
    "WhitespaceTokenizeWithOffsets", "WordpieceTokenizeWithOffsets",
})
REQUIRED_SIGNATURES = {"serving_default": "tensorflow/serving/predict", "classify": "tensorflow/serving/classify",
                       "from_examples": "tensorflow/serving/predict"}


class ServabilityError(GateRefusal):
    """The candidate cannot be served by the production image, or answered canary requests wrongly."""


def core_tensorflow_ops() -> Set[str]:
    """Names of the ops registered in this process. Call it before importing tensorflow_text (whose
    2.16 ops would otherwise count as available)."""
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session

    op_list = op_def_pb2.OpList()
    buffer = pywrap_tf_session.TF_GetAllOpList()
    try:
        op_list.ParseFromString(pywrap_tf_session.TF_GetBuffer(buffer))
    finally:
        pywrap_tf_session.TF_DeleteBuffer(buffer)
    return {op.name for op in op_list.op}


def graph_ops(saved_model_dir: str) -> Tuple[Set[str], Dict[str, str]]:
    """(op types used by the SavedModel's graphs and function library, signature name → method name)."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(saved_model_dir, "saved_model.pb")
    if not os.path.isfile(path):
        raise ServabilityError(f"{saved_model_dir}: no saved_model.pb")
    saved_model = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        saved_model.ParseFromString(f.read())
    ops, methods = set(), {}
    for meta_graph in saved_model.meta_graphs:
        ops |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
        methods.update({name: sig.method_name for name, sig in meta_graph.signature_def.items()})
    functions = {f.signature.name for mg in saved_model.meta_graphs for f in mg.graph_def.library.function}
    return ops - functions, methods


def op_problems(used_ops: Iterable[str], core_ops: Set[str]) -> List[str]:
    """One message per op the production server would not find."""
    missing = sorted(set(used_ops) - core_ops - TF_TEXT_2_12_1_OPS)
    return [f"op {op!r} is not registered in tensorflow/serving:2.16.1 (core TF 2.16 + TF Text 2.12.1 ops_lib)"
            for op in missing]


def signature_problems(methods: Dict[str, str]) -> List[str]:
    """Messages for contract signatures that are missing or have the wrong method name."""
    problems = []
    for name, method in REQUIRED_SIGNATURES.items():
        if name not in methods:
            problems.append(f"signature {name!r} is missing")
        elif methods[name] != method:
            problems.append(f"signature {name!r} has method_name {methods[name]!r}, expected {method!r}")
    return problems


def predict_problems(where: str, count: int, probabilities: np.ndarray, labels: Sequence[str],
                     expected_labels: Sequence[str]) -> List[str]:
    """Checks one Predict answer: [count, K] finite probabilities summing to 1, labels = argmax label."""
    k = len(expected_labels)
    if probabilities.shape != (count, k):
        return [f"{where}: probabilities of shape {probabilities.shape}, expected ({count}, {k})"]
    if len(labels) != count:
        return [f"{where}: {len(labels)} labels for {count} texts"]
    problems = []
    if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0) or np.any(probabilities > 1):
        problems.append(f"{where}: probabilities outside [0, 1] or not finite")
    elif not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3):
        problems.append(f"{where}: probabilities do not sum to 1 (row sums {probabilities.sum(axis=1)[:3]})")
    wrong = [i for i, label in enumerate(labels) if label != expected_labels[int(np.argmax(probabilities[i]))]]
    if wrong:
        problems.append(f"{where}: label {labels[wrong[0]]!r} of row {wrong[0]} is not the argmax label")
    return problems


def classify_problems(where: str, classes: List[List[str]], scores: np.ndarray, probabilities: np.ndarray,
                      expected_labels: Sequence[str]) -> List[str]:
    """Checks a Classify answer against the Predict answer for the same texts."""
    if any(list(row) != list(expected_labels) for row in classes):
        first = classes[0] if classes else []
        return [f"{where}: classify classes {first} are not the labels {list(expected_labels)}"]
    if scores.shape != probabilities.shape or not np.allclose(scores, probabilities, atol=1e-4):
        return [f"{where}: classify scores differ from predict probabilities"]
    return []


def split_texts(split_uri: str, per_language: int) -> Dict[str, List[str]]:
    """`canary_texts` of the raw examples (text, lang) in one split folder of an Examples artifact."""
    from models import features, tfrecords

    return canary_texts(((tfrecords.string_value(e, features.TEXT), tfrecords.string_value(e, features.LANG))
                         for e in tfrecords.read_examples(split_uri)), per_language)


def canary_texts(examples: Iterable[Tuple[str, str]], per_language: int) -> Dict[str, List[str]]:
    """Up to `per_language` non-empty texts of every language, in input order, from (text, lang) pairs."""
    chosen: Dict[str, List[str]] = collections.defaultdict(list)
    for text, lang in examples:
        if text and len(chosen[lang]) < per_language:
            chosen[lang].append(text)
    return dict(chosen)
