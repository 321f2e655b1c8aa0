"""One training run's candidates on one model: the linear probe (frozen encoder + head), then fine-tuning.

Two ways to fine-tune, chosen by the recipe:
* gentle (default: `trainable_layers` set, word embedding frozen): the frozen lower part runs once per row
  (`layer_cache`), the top blocks and the head train on the cached activations, and every candidate is
  evaluated from the same caches;
* full (`trainable_layers=None` or a trainable word embedding): every step runs the whole model.
`restore_frozen` puts the probe's weights back when the fine-tuned candidate loses the gate.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tf_keras

from models import progress
from models.classifier import candidates, datasets, label_prior, layer_cache
from models.classifier import classifier as classifier_lib
from models.classifier.recipe import Recipe
from models.classifier.metrics import classification_report
from models.classifier.training import ClassifierTrainer, FitResult, evaluate, fit, predictor

TRAIN = "train"
LANGUAGE_REFERENCE = "language_reference"
LABEL_DESCRIPTIONS = "label_descriptions"
LABEL_EXAMPLES = "label_examples"
_EVAL_BATCH = 64


@dataclasses.dataclass
class Tuning:
    """The model, its batches and sets, and (gentle mode) the caches and the trainable upper model."""

    model: tf_keras.Model
    recipe: Recipe
    data: object  # fine_tune._Batches
    sets: Dict[str, tf.data.Dataset]
    prefix_ids: Sequence[int]
    trainable_layers: int
    caches: Optional[Dict[str, layer_cache.CachedSplit]] = None
    upper: Optional[tf_keras.Model] = None
    pooled: Optional[tf_keras.Model] = None
    probe_accuracy: Optional[float] = None
    real_token_share: Dict[str, object] = dataclasses.field(default_factory=dict)
    seconds: Dict[str, float] = dataclasses.field(default_factory=dict)
    label_prior: Dict[str, object] = dataclasses.field(default_factory=dict)
    weight_mix: Dict[str, object] = dataclasses.field(default_factory=dict)
    _frozen_weights: Optional[List[np.ndarray]] = None
    _extra: Dict[str, tf.data.Dataset] = dataclasses.field(default_factory=dict)

    @classmethod
    def start(cls, model: tf_keras.Model, recipe: Recipe, data, train_examples: tf.data.Dataset,
              sets: Mapping[str, tf.data.Dataset], prefix_ids: Sequence[int], fit_probe: bool,
              language_examples: Optional[tf.data.Dataset] = None,
              label_descriptions: Optional[tf.data.Dataset] = None,
              label_examples: Optional[tf.data.Dataset] = None) -> "Tuning":
        """Caches the frozen part (gentle mode), fits the linear probe and its label prior, and keeps its weights.

        `language_examples` (reference text, label ids unused) only feed `language_features` for the language head.
        `label_descriptions` (one example per label, in label order) turn the label prior on; `label_examples`
        (hand-written sentences per label) add its example head.
        """
        blocks = len(classifier_lib.transformer_blocks(model))
        gentle = recipe.trainable_layers is not None and recipe.freeze_embeddings
        trainable = min(recipe.trainable_layers, blocks) if gentle else blocks
        tuning = cls(model, recipe, data, dict(sets), tuple(prefix_ids), trainable)
        tuning._extra = {TRAIN: train_examples}
        if language_examples is not None:
            tuning._extra[LANGUAGE_REFERENCE] = language_examples
        if label_descriptions is not None:
            tuning._extra[LABEL_DESCRIPTIONS] = label_descriptions
            if label_examples is not None:
                tuning._extra[LABEL_EXAMPLES] = label_examples
        if gentle:
            tuning._build_caches()
        if fit_probe and recipe.linear_probe:
            tuning._fit_probe()
        tuning.choose_label_prior("frozen_encoder")
        tuning._frozen_weights = tuning._trained_model().get_weights()
        return tuning

    @property
    def num_layers(self) -> int:
        return len(classifier_lib.transformer_blocks(self.model))

    def languages_of(self, name: str) -> List[str]:
        """The languages of the rows of a split or set."""
        if self.caches is not None:
            return self.caches[name].languages.tolist()
        return datasets.languages(self._extra[name] if name in self._extra else self.sets[name])

    def evaluate_sets(self) -> Tuple[Dict[str, Dict[str, object]], Dict[str, Dict[str, object]]]:
        """Classification reports of the current weights on every set: (with the label prior as set, with the
        head alone), from one pass over each set."""
        layer = label_prior.prior_layer(self.model)
        with_prior, head_alone = {}, {}
        for name in self.sets:
            logits, pooled, labels, languages = self._prior_inputs(*self._set_batches(name))
            with_prior[name] = classification_report(labels, np.argmax(layer.apply(logits, pooled), axis=1),
                                                     languages, self.data.num_classes)
            head_alone[name] = classification_report(labels, np.argmax(logits, axis=1), languages,
                                                     self.data.num_classes)
        return with_prior, head_alone

    def fine_tune(self) -> FitResult:
        """Fine-tunes (early stopping on the eval split); the model ends with the best epoch's weights."""
        recipe, data = self.recipe, self.data
        total = min(data.steps_per_epoch * recipe.epochs, recipe.train_steps or data.steps_per_epoch * recipe.epochs)
        progress.log.info("fine-tuning the top %d of %d layers: %d epochs of %d steps", self.trainable_layers,
                          self.num_layers, recipe.epochs, data.steps_per_epoch)
        if self.caches is not None:
            trainer = ClassifierTrainer(self.upper, recipe.learning_rate, total, data.weights,
                                        hidden_size=self._hidden_size)
            train = layer_cache.Batches(self.caches[TRAIN], recipe.batch_size, seed=recipe.seed)
            evaluation = layer_cache.Batches(self.caches["eval"], _EVAL_BATCH)
        else:
            trainer = ClassifierTrainer(self.model, recipe.learning_rate, total, data.weights)
            train, evaluation = data.train, data.evaluation
        label_prior.prior_layer(self.model).turn_off()  # the head trains alone; the prior is chosen after
        result = fit(trainer, train, evaluation, data.num_classes, recipe.epochs, recipe.early_stopping_patience,
                     recipe.train_steps)
        self._choose_weight_mix()
        self.real_token_share["per_epoch"] = trainer.real_token_shares
        self.seconds["fine_tuning"] = result.seconds
        self.seconds["per_epoch"] = round(result.seconds / max(len(result.epochs), 1), 1)
        return result

    def _choose_weight_mix(self) -> None:
        """Weight-space ensembling of the frozen and the fine-tuned model (WiSE-FT, Wortsman et al. 2022: the
        mix keeps more of what the pretrained encoder knows outside the training distribution): every mix of
        `recipe.weight_mixes` (1 = fine-tuned as trained) with its own label prior is scored on the selection set,
        and the best is kept (ties: the more fine-tuned). The prior is chosen within the gate the candidate
        must pass (`fine_tuned_floor`), and a mix whose prior is within it beats one whose prior is not."""
        model, tuned = self._trained_model(), self._trained_model().get_weights()
        choices, floor = {}, self.fine_tuned_floor
        for mix in sorted(set(self.recipe.weight_mixes) | {1.0}):
            model.set_weights(mixed_weights(self._frozen_weights, tuned, mix))
            choices[mix] = self.choose_label_prior("fine_tuned", announce=False, floor=floor)
        rank = {mix: (choice.within_bound, choice.score) for mix, choice in choices.items()}
        chosen = max(mix for mix in rank if rank[mix] >= max(rank.values()))
        model.set_weights(mixed_weights(self._frozen_weights, tuned, chosen))
        self.choose_label_prior("fine_tuned", floor=floor)
        self.weight_mix = {"chosen": chosen, "selected_on": self._selection_set,
                           "score_by_mix": {f"{mix:g}": round(c.score, 4) for mix, c in choices.items()},
                           "within_bound_by_mix": {f"{mix:g}": c.within_bound for mix, c in choices.items()}}
        if len(choices) > 1:
            progress.log.info("weight mix: %g of the fine-tuning kept (score on %s%s: %s)", chosen,
                              self._selection_set, " and the label examples" if LABEL_EXAMPLES in self._extra
                              else "", ", ".join(f"{m:g} → {c.score:.3f}" + ("" if c.within_bound else
                                                                             " below the frozen candidate")
                                                 for m, c in choices.items()))

    @property
    def fine_tuned_floor(self) -> Optional[float]:
        """The selection accuracy the fine-tuned candidate's prior must reach: the frozen candidate's, when the
        selection set is the held-out languages, on which `candidates.fine_tuned_failures` compares the two
        (None: no such bound, or no frozen candidate's prior to compare with)."""
        frozen = self.label_prior.get("frozen_encoder")
        if self._selection_set != candidates.HELD_OUT or not frozen:
            return None
        return frozen["selection_accuracy"]

    @property
    def _selection_set(self) -> str:
        """Where the label prior's strength and the weight mix are chosen: rows of languages never trained on,
        else the eval split."""
        return candidates.HELD_OUT if candidates.HELD_OUT in self.sets else candidates.EVAL

    def choose_label_prior(self, candidate: str, announce: bool = True,
                           floor: Optional[float] = None) -> label_prior.Choice:
        """Reads the label vectors (and fits the example head) from the current encoder and sets the strength
        and example weight that score best (`label_prior.choose`, among those reaching `floor` on the selection
        set when any does; logged when `announce`); no label descriptions: the prior stays off. Returns the choice
        (without descriptions: strength 0 scored on the selection set's accuracy)."""
        started = time.time()
        logits, pooled, labels, _ = self._prior_inputs(*self._set_batches(self._selection_set))
        if LABEL_DESCRIPTIONS not in self._extra:
            accuracy = round(float(np.mean(np.argmax(logits, axis=1) == labels)), 4)
            return label_prior.Choice(0.0, 0.0, None, {label_prior.key(0.0, 0.0): accuracy}, accuracy, None)
        vectors = self._prior_inputs(self.model, self._example_batches(self._extra[LABEL_DESCRIPTIONS]))[1]
        examples = (self._prior_inputs(self.model, self._example_batches(self._extra[LABEL_EXAMPLES]))[:3]
                    if LABEL_EXAMPLES in self._extra else None)
        choice = label_prior.choose((logits, pooled, labels), vectors, examples, self._fit_example_head,
                                    min_selection_accuracy=floor)
        label_prior.prior_layer(self.model).set_prior(vectors, choice.strength, choice.example_head)
        self.label_prior[candidate] = label_prior.report_entry(choice, self._selection_set)
        self.seconds["label_prior"] = round(self.seconds.get("label_prior", 0.0) + time.time() - started, 1)
        if announce:
            examples_part = ("" if choice.examples_accuracy is None else
                             f", label examples' 5-fold accuracy {choice.examples_accuracy:.3f}")
            bound = "" if floor is None else f", at least the frozen candidate's {floor:.3f} asked"
            progress.log.info("label prior (%s): strength %g, label-example weight %g, chosen on %s (accuracy "
                              "%.3f%s%s)", candidate, choice.strength, choice.example_weight, self._selection_set,
                              choice.selection_accuracy, bound, examples_part)
        return choice

    def _fit_example_head(self, pooled: np.ndarray, labels: np.ndarray):
        kernel, bias, _ = classifier_lib.fit_linear_head(pooled, labels, datasets.class_weights(labels,
                                                                                              self.data.num_classes),
                                                         self.data.num_classes)
        return kernel, bias

    @property
    def label_example_count(self) -> int:
        """The label examples the prior's example head is fitted on (0: none given)."""
        return len(datasets.languages(self._extra[LABEL_EXAMPLES])) if LABEL_EXAMPLES in self._extra else 0

    def _set_batches(self, name: str):
        """(model, batches, whether the batches hold cached hidden states) to run over one set."""
        if self.caches is not None:
            return self.upper, layer_cache.Batches(self.caches[name], _EVAL_BATCH), True
        return self.model, self._example_batches(self.sets[name]), False

    def _example_batches(self, examples: tf.data.Dataset) -> tf.data.Dataset:
        remap = np.arange(self.model.get_layer("embeddings").vocab_size, dtype=np.int32)
        return datasets.batches(examples, _EVAL_BATCH, remap, prefix_ids=self.prefix_ids)

    def _prior_inputs(self, model: tf_keras.Model, batches, hidden: bool = False):
        """(head logits before the prior, pooled embeddings, label ids, languages) of `model` over (first, mask,
        label, lang) batches."""
        run = predictor(label_prior.inputs_model(model), self._hidden_size if hidden else None)
        logits, pooled, labels, languages = [], [], [], []
        for first, mask, label, lang in batches:
            outputs = run(first, mask)
            logits.append(outputs[0].numpy())
            pooled.append(outputs[1].numpy())
            labels.append(np.asarray(label))
            languages += [value if isinstance(value, str) else value.decode("utf-8") for value in np.asarray(lang)]
        return np.concatenate(logits), np.concatenate(pooled), np.concatenate(labels), languages

    def restore_frozen(self) -> None:
        """Back to the linear-probe weights (frozen encoder + fitted head)."""
        self._trained_model().set_weights(self._frozen_weights)

    @property
    def _hidden_size(self) -> int:
        return classifier_lib.transformer_blocks(self.model)[0].hidden_size

    def _trained_model(self) -> tf_keras.Model:
        return self.upper if self.upper is not None else self.model

    def language_features(self, names: Sequence[str]):
        """(language features [rows, H], languages) of the named splits/sets: the masked mean of the embedding
        layer's output (`classifier.with_language_features`), which the frozen embeddings make independent of
        fine-tuning."""
        run = predictor(tf_keras.Model(self.model.input, classifier_lib.with_language_features(self.model).outputs[1]))
        remap = np.arange(self.model.get_layer("embeddings").vocab_size, dtype=np.int32)
        features, languages = [], []
        for name in names:
            examples = self.sets.get(name, self._extra.get(name))
            if examples is None:
                continue
            for ids, mask, _, lang in datasets.batches(examples, _EVAL_BATCH, remap, prefix_ids=self.prefix_ids):
                features.append(run(ids, mask).numpy())
                languages += [value.decode("utf-8") for value in lang.numpy()]
        return np.concatenate(features), languages

    def _build_caches(self) -> None:
        started = time.time()
        layer_cache.freeze_lower(self.model, self.trainable_layers)
        lower = layer_cache.lower_model(self.model, self.trainable_layers)
        self.upper, self.pooled = layer_cache.upper_models(self.model, self.trainable_layers)
        remap = np.arange(self.model.get_layer("embeddings").vocab_size, dtype=np.int32)
        self.caches = {name: layer_cache.cache_split(lower, datasets.batches(
            examples, _EVAL_BATCH, remap, shuffle_seed=self.recipe.seed, prefix_ids=self.prefix_ids))
            for name, examples in {**self._extra, **self.sets}.items()}
        self.seconds["cache_frozen_layers"] = round(time.time() - started, 1)
        bucketed, random = layer_cache.real_token_share(self.caches[TRAIN], self.recipe.batch_size,
                                                        np.random.default_rng(self.recipe.seed))
        self.real_token_share.update(bucketed=round(bucketed, 4), random_batches=round(random, 4))
        progress.log.info("frozen layers cached for %d rows in %.0f s; real-token share %.2f (random batches %.2f)",
                          sum(len(c) for c in self.caches.values()), self.seconds["cache_frozen_layers"],
                          bucketed, random)

    def _fit_probe(self) -> None:
        started = time.time()
        head = self.model.get_layer(classifier_lib.HEAD_LAYER)
        if self.caches is None:
            self.probe_accuracy = classifier_lib.fit_head(self.model, self.data.train, self.data.weights)
        else:
            pooled = layer_cache.pooled_features(self.pooled, self.caches[TRAIN], self._hidden_size)
            kernel, bias, self.probe_accuracy = classifier_lib.fit_linear_head(
                pooled, self.caches[TRAIN].labels, self.data.weights, head.kernel.shape[1])
            head.set_weights([kernel, bias])
        self.seconds["linear_probe"] = round(time.time() - started, 1)
        progress.log.info("linear probe: head fitted on the frozen encoder, train accuracy %.4f",
                          self.probe_accuracy)


def mixed_weights(frozen: Sequence[np.ndarray], tuned: Sequence[np.ndarray], mix: float) -> List[np.ndarray]:
    """frozen + mix · (tuned − frozen), weight by weight (0: frozen, 1: fine-tuned)."""
    return [start + mix * (end - start) for start, end in zip(frozen, tuned)]


def evaluate_examples(model: tf_keras.Model, sets: Mapping[str, tf.data.Dataset], remap: np.ndarray,
                      prefix_ids: Sequence[int], num_classes: int) -> Dict[str, Dict[str, object]]:
    """Classification reports of the whole model on parsed example sets (ids through `remap`)."""
    run = predictor(model)
    return {name: evaluate(run, datasets.batches(examples, _EVAL_BATCH, remap, prefix_ids=prefix_ids), num_classes)
            for name, examples in sets.items()}

