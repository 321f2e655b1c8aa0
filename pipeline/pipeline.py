"""The nlp2prod TFX pipeline, wired in one pure factory.

`create_pipeline` decides nothing about environments: paths, Beam arguments and the metadata store come in
through the `RunConfig` and the arguments; runners (local, Airflow, Kubeflow V2) call it.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional

from tfx import v1 as tfx

from components.curated_schema.component import CuratedSchemaGen
from components.data_gate.component import DataGate
from components.data_gate.history import RecentArtifactsStrategy
from models.evaluation.gate import build_eval_config
from components.example_gen.component import SpanExampleGen
from components.text_cleaner.component import TextCleaner
from components.serving_check.component import ServingCheck
from components.tokenization_gate.component import TokenizationGate
from components.version_pusher.component import VersionPusher
from pipeline.configs import RunConfig

# Transform loads preprocessing_fn by import path: the installed package is the user code, so no wheel is
# built and pip-installed at run time.
PREPROCESSING_FN = "components.transform.transform_module.preprocessing_fn"
# The same for the Trainer's run_fn, and the Evaluator's UDF module (loads candidates with TF Text's ops).
TRAINER_RUN_FN = "components.trainer.trainer_module.run_fn"
EVALUATOR_MODULE = "components.evaluator.model_loading"


def create_pipeline(
    config: RunConfig,
    metadata_connection_config: Optional[object] = None,
) -> tfx.dsl.Pipeline:
    """Builds the pipeline: ingest → clean → validate/gate → Transform → Trainer → Evaluator → check → push.

    Args:
      config: the run configuration (data root, thresholds, hyperparameters, serving root).
      metadata_connection_config: an MLMD connection; None leaves it to the runner (Kubeflow, Vertex).

    Returns:
      A `tfx.dsl.Pipeline` ready for any TFX runner.
    """
    components: List[object] = []
    components += _data_half(config)
    components += _model_half(config, components)
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=components,
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(config.beam_args),
    )


# --- data half: ExampleGen → TextCleaner → StatisticsGen/SchemaGen → ExampleValidator → DataGate → Transform ---
def _data_half(config: RunConfig) -> List[object]:
    """The data half, in run order. The model half takes from it, by component id: `Transform`
    (`transformed_examples`) and `TokenizationGate` (`gated_transform_graph`: the transform graph, written
    only when the gate passed, so depending on it keeps training behind every data check)."""
    data, gate = config.data, config.gate
    example_gen = SpanExampleGen(data_root=data.data_root, span_window=data.span_window,
                                 train_buckets=data.train_buckets, eval_buckets=data.eval_buckets)
    cleaner = TextCleaner(examples=example_gen.outputs["examples"], languages=data.languages, labels=data.labels,
                          min_chars=config.cleaning.min_chars, max_chars=config.cleaning.max_chars,
                          language_mismatch_confidence=config.cleaning.language_mismatch_confidence)
    statistics_gen = tfx.components.StatisticsGen(examples=cleaner.outputs["cleaned_examples"])
    schema_gen = CuratedSchemaGen(labels=data.labels, languages=data.languages,
                                  max_label_drift=gate.max_label_drift, max_language_drift=gate.max_language_drift)
    validator = tfx.components.ExampleValidator(statistics=statistics_gen.outputs["statistics"],
                                                schema=schema_gen.outputs["schema"])
    history = _previous_statistics(statistics_gen, gate.statistics_history) if gate.check_drift else []
    data_gate = DataGate(statistics=statistics_gen.outputs["statistics"], anomalies=validator.outputs["anomalies"],
                         schema=schema_gen.outputs["schema"], languages=data.languages, labels=data.labels,
                         previous_statistics=history[0].outputs["statistics"] if history else None)
    transform = tfx.components.Transform(
        examples=cleaner.outputs["cleaned_examples"], schema=data_gate.outputs["gated_schema"],
        preprocessing_fn=PREPROCESSING_FN, disable_statistics=True,
        custom_config={"encoder": config.model.encoder, "max_seq_length": config.model.max_seq_length,
                       "labels": list(data.labels)})
    tokenization_gate = TokenizationGate(
        transformed_examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        max_unknown_rate=gate.max_unknown_rate, max_truncation_rate=gate.max_truncation_rate,
        min_tokens=gate.min_tokens)
    return [example_gen, cleaner, statistics_gen, schema_gen, validator, *history, data_gate,
            transform, tokenization_gate]


def _previous_statistics(statistics_gen, limit: int) -> List[object]:
    """The Resolver handing the DataGate recent statistics of spans before this run's, among which it finds the
    previous span's.

    It takes this run's statistics as its `current` input, so it runs after StatisticsGen, leaves the run's own
    artifact out of the history, and a re-run of unchanged data resolves the same artifacts (every component
    downstream stays cached).
    """
    return [tfx.dsl.Resolver(
        strategy_class=RecentArtifactsStrategy,
        config={"limit": limit},
        current=statistics_gen.outputs["statistics"],
        statistics=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ExampleStatistics),
    ).with_id("PreviousStatistics")]


# --- model half: Trainer → Evaluator → ServingCheck → VersionPusher -------------------------------------------
def _model_half(config: RunConfig, upstream: List[object]) -> List[object]:
    """The model half: fine-tune and prune (Trainer), gate per language against the latest blessed model
    (Resolver + Evaluator), check servability (ServingCheck), push a numbered version (VersionPusher)."""
    by_id = {component.id: component for component in upstream}
    cleaned = by_id["TextCleaner"].outputs["cleaned_examples"]
    labels = list(config.data.labels)
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("LatestBlessedModel")
    # Warm start: the Trainer starts from the latest blessed model (fn_args.base_model). Wired only when asked
    # for, so that a newly blessed model does not invalidate the cached Trainer of runs that train from scratch.
    trainer = tfx.components.Trainer(
        run_fn=TRAINER_RUN_FN, examples=by_id["Transform"].outputs["transformed_examples"],
        transform_graph=by_id["TokenizationGate"].outputs["gated_transform_graph"],
        base_model=baseline.outputs["model"] if config.model.warm_start else None,
        custom_config={"model": dataclasses.asdict(config.model), "labels": labels})
    evaluator = tfx.components.Evaluator(
        examples=cleaned, model=trainer.outputs["model"], baseline_model=baseline.outputs["model"],
        example_splits=["eval"], module_path=EVALUATOR_MODULE,
        eval_config=build_eval_config(config.eval.min_macro_f1, config.eval.min_language_accuracy,
                                      config.eval.regression_tolerance))
    serving_check = ServingCheck(model=trainer.outputs["model"], examples=cleaned, labels=labels,
                                 canary_per_language=config.check.canary_per_language,
                                 timeout_seconds=config.check.timeout_seconds)
    pusher = VersionPusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        infra_blessing=serving_check.outputs["blessing"], examples=cleaned, serving_root=config.push.serving_root,
        model_name=config.push.model_name, labels=labels, model_evaluation=evaluator.outputs["evaluation"],
        model_run=trainer.outputs["model_run"], baseline_model=baseline.outputs["model"],
        warmup_per_language=config.push.warmup_per_language)
    return [baseline, trainer, evaluator, serving_check, pusher]
