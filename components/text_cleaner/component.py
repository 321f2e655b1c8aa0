"""TextCleaner: normalise, de-noise, de-duplicate and check raw text examples; quarantine what is dropped.

Inputs:   examples   (Examples from the ExampleGen: text, label, lang, source[, ingest_problem])
Outputs:  cleaned_examples  (Examples, same splits; features text, label, lang only)
          quarantine        (Quarantine: quarantine.jsonl, changes.jsonl, summary.json)
"""

from __future__ import annotations

import json
from typing import Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.text_cleaner.executor import Executor

EXAMPLES_KEY = "examples"
CLEANED_EXAMPLES_KEY = "cleaned_examples"
QUARANTINE_KEY = "quarantine"


class Quarantine(types.Artifact):
    """Rows the TextCleaner dropped (quarantine.jsonl: split, row, reason, lang, text, detail), rows it changed
    (changes.jsonl: split, row, lang, rules, before, after) and the counts (summary.json)."""

    TYPE_NAME = "nlp2prod.Quarantine"


class TextCleanerSpec(types.ComponentSpec):
    """Parameters, inputs and outputs of the TextCleaner."""

    PARAMETERS = {
        "languages": ExecutionParameter(type=str),  # JSON list of configured language codes
        "labels": ExecutionParameter(type=str),  # JSON list of configured labels
        "min_chars": ExecutionParameter(type=int),
        "max_chars": ExecutionParameter(type=int),
        "language_mismatch_confidence": ExecutionParameter(type=float),
    }
    INPUTS = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {
        CLEANED_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        QUARANTINE_KEY: ChannelParameter(type=Quarantine),
    }


class TextCleaner(base_component.BaseComponent):
    """Cleans raw multilingual text examples (see cleaning.py for the rules and their order)."""

    SPEC_CLASS = TextCleanerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, examples: types.BaseChannel, languages: Sequence[str], labels: Sequence[str],
                 min_chars: int, max_chars: int, language_mismatch_confidence: float):
        """Builds the component.

        Args:
          examples: the raw examples channel (ExampleGen's `examples`).
          languages: configured language codes (config.data.languages).
          labels: configured labels (config.data.labels), in the order Transform numbers them.
          min_chars: shorter cleaned texts are quarantined as too_short.
          max_chars: longer cleaned texts are quarantined as too_long.
          language_mismatch_confidence: detector confidence needed to quarantine a language mismatch.
        """
        spec = TextCleanerSpec(
            examples=examples,
            languages=json.dumps(list(languages)),
            labels=json.dumps(list(labels)),
            min_chars=min_chars,
            max_chars=max_chars,
            language_mismatch_confidence=language_mismatch_confidence,
            cleaned_examples=types.Channel(type=standard_artifacts.Examples),
            quarantine=types.Channel(type=Quarantine))
        super().__init__(spec=spec)
