"""TokenizationGate: per-language <unk> and truncation rates of the Transform output, checked against limits.

Inputs:   transformed_examples (Examples from Transform), transform_graph (TransformGraph from Transform)
Outputs:  gated_transform_graph (TransformGraph, a copy written only when the gate passes: the Trainer consumes
          it, so training cannot start on a tokenization the gate refused), report (TokenizationReport:
          tokenization.json with the per-language statistics)
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.tokenization_gate.executor import Executor


class TokenizationReport(types.Artifact):
    """tokenization.json: per language rows, pieces, unknown and truncation rates; problems."""

    TYPE_NAME = "nlp2prod.TokenizationReport"


class TokenizationGateSpec(types.ComponentSpec):
    """Parameters, inputs and outputs of the TokenizationGate."""

    PARAMETERS = {
        "max_unknown_rate": ExecutionParameter(type=float),
        "max_truncation_rate": ExecutionParameter(type=float),
        "min_tokens": ExecutionParameter(type=int),
    }
    INPUTS = {
        "transformed_examples": ChannelParameter(type=standard_artifacts.Examples),
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph),
    }
    OUTPUTS = {
        "gated_transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph),
        "report": ChannelParameter(type=TokenizationReport),
    }


class TokenizationGate(base_component.BaseComponent):
    """Raises TokenizationGateError (the run stops) when a language's tokenization is over a limit."""

    SPEC_CLASS = TokenizationGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, transformed_examples: types.BaseChannel, transform_graph: types.BaseChannel,
                 max_unknown_rate: float, max_truncation_rate: float, min_tokens: int):
        """Builds the component.

        Args:
          transformed_examples: Transform's `transformed_examples`.
          transform_graph: Transform's `transform_graph` (passed through when the gate passes).
          max_unknown_rate: config.gate.max_unknown_rate, per language.
          max_truncation_rate: config.gate.max_truncation_rate, per language.
          min_tokens: every row must have at least this many pieces.
        """
        super().__init__(spec=TokenizationGateSpec(
            transformed_examples=transformed_examples, transform_graph=transform_graph,
            max_unknown_rate=max_unknown_rate, max_truncation_rate=max_truncation_rate, min_tokens=min_tokens,
            gated_transform_graph=types.Channel(type=standard_artifacts.TransformGraph),
            report=types.Channel(type=TokenizationReport)))
