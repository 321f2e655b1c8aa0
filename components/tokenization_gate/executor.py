"""TokenizationGate executor: reads transformed examples, checks the limits, passes the transform graph on."""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, List, Tuple

import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from models import artifact_reports
from models import tfrecords
from models.features import LANG, TOKEN_COUNT, TRUNCATED, UNKNOWN_COUNT
from components.tokenization_gate.tokenization import render_stats, tokenization_problems, tokenization_stats
from models.gates import GateRefusal



class TokenizationGateError(GateRefusal):
    """Tokenization statistics are over a configured limit; the run stops before training."""


def _int(example: tf.train.Example, key: str) -> int:
    return int(example.features.feature[key].int64_list.value[0])


def _rows(examples: types.Artifact) -> Iterator[Tuple[str, int, int, int]]:
    for split in artifact_utils.decode_split_names(examples.split_names):
        for example in tfrecords.read_examples(artifact_utils.get_split_uri([examples], split)):
            yield (tfrecords.string_value(example, LANG), _int(example, TOKEN_COUNT),
                   _int(example, UNKNOWN_COUNT), _int(example, TRUNCATED))


class Executor(base_executor.BaseExecutor):
    """Writes tokenization.json; raises on a limit, else copies the transform graph to its output."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        examples = artifact_utils.get_single_instance(input_dict["transformed_examples"])
        stats = tokenization_stats(_rows(examples))
        problems = tokenization_problems(stats, float(exec_properties["max_unknown_rate"]),
                                         float(exec_properties["max_truncation_rate"]),
                                         int(exec_properties["min_tokens"]))
        report_uri = artifact_utils.get_single_uri(output_dict["report"])
        artifact_reports.write(report_uri, artifact_reports.TOKENIZATION_REPORT,
                               {"per_language": stats, "problems": problems})
        logging.info("Tokenization per language:\n%s", render_stats(stats))
        if problems:
            raise TokenizationGateError("the tokenization gate stopped the run before training:\n  - "
                                        + "\n  - ".join(problems))
        io_utils.copy_dir(artifact_utils.get_single_uri(input_dict["transform_graph"]),
                          artifact_utils.get_single_uri(output_dict["gated_transform_graph"]))
