"""The model benchmark's markdown: one row per variant (size, latency, quality, FLOP/s), accuracy per language,
and the vocabulary-trim and pruning details the trainer reported."""

from __future__ import annotations

import dataclasses
import statistics
from typing import Dict, List

from machine import markdown_facts
from model_corpus import Corpus, counts_by_language
from model_variants import VariantResult

MB = 1e6


def variant_line(r: VariantResult, matmul: float) -> str:
    overall = r.quality["overall"]
    return (f"{r.saved_model_bytes / MB:.1f} MB, sparsity {r.sparsity:.2f}, p50 {r.single.p50_ms:.2f} ms, "
            f"batch-32 {r.batch.texts_per_s:.0f} texts/s, accuracy {overall['accuracy']:.3f}, "
            f"macro-F1 {overall['macro_f1']:.3f}, {r.achieved_flops / 1e9:.2f} GFLOP/s "
            f"({r.achieved_flops / matmul:.2f}x matmul), trained in {r.train_seconds:.0f} s")


@dataclasses.dataclass
class ModelReport:
    corpus: Corpus
    results: List[VariantResult]
    training_reports: Dict[str, Dict[str, object]]
    matmul_flops: List[float]  # the reference matmul, measured before the first and after every variant
    args: Dict[str, object]
    encoder_config: object

    @property
    def matmul(self) -> float:
        return statistics.median(self.matmul_flops)

    def _variant_rows(self) -> List[str]:
        rows = ["| variant | embedding rows | parameters | kernel sparsity | SavedModel MB | gzip weights MB "
                "| p50 ms (1 text) | p99 ms | texts/s (batch 32) | eval accuracy / macro-F1 | unseen-text accuracy / "
                "macro-F1 | GFLOP/s | ÷ matmul | train s |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in self.results:
            overall, unseen = r.quality["overall"], r.unseen_quality["overall"]
            rows.append(f"| {r.name} | {r.embedding_rows:,} | {r.parameters:,} | {r.sparsity:.2f} "
                        f"| {r.saved_model_bytes / MB:.1f} | {r.gzip_weight_bytes / MB:.1f} | {r.single.p50_ms:.2f} "
                        f"| {r.single.p99_ms:.2f} | {r.batch.texts_per_s:.0f} "
                        f"| {overall['accuracy']:.3f} / {overall['macro_f1']:.3f} "
                        f"| {unseen['accuracy']:.3f} / {unseen['macro_f1']:.3f} | {r.achieved_flops / 1e9:.2f} "
                        f"| {r.achieved_flops / self.matmul:.2f}x | {r.train_seconds:.0f} |")
        return rows

    def _language_rows(self, field: str = "quality") -> List[str]:
        languages = sorted({lang for r in self.results for lang in getattr(r, field)["per_language"]})
        rows = ["| language | rows | " + " | ".join(r.name for r in self.results) + " |",
                "|---|---:|" + "---:|" * len(self.results)]
        for lang in languages:
            cells = []
            for r in self.results:
                q = getattr(r, field)["per_language"].get(lang)
                cells.append(f"{q['accuracy']:.3f} / {q['macro_f1']:.3f}" if q else "-")
            examples = getattr(self.results[0], field)["per_language"].get(lang, {}).get("examples", 0)
            rows.append(f"| {lang} | {examples} | " + " | ".join(cells) + " |")
        return rows

    def _training_notes(self) -> List[str]:
        lines = []
        for name, report in self.training_reports.items():
            vocabulary = report.get("vocabulary", {})
            line = (f"- {name}: {report.get('num_layers')} layers; vocabulary {vocabulary.get('kept_rows')} of "
                    f"{vocabulary.get('full_rows')} rows, eval unknown-piece rate {vocabulary.get('eval_unknown_rate')}")
            if vocabulary.get("trimmed"):
                line += (f", unknown rate on text left out of the trim plan "
                         f"{vocabulary.get('unseen_text_unknown_rate')}")
            dense_best = (report.get("dense") or {}).get("best", {}).get("overall", {})
            if report.get("pruned"):
                line += f"; dense macro-F1 before pruning {dense_best.get('macro_f1')}"
            lines.append(line)
        return lines

    def _layers_kept(self) -> str:
        return str(next(iter(self.training_reports.values()), {}).get("num_layers", "?"))

    def markdown(self, command: str, facts: Dict[str, str]) -> str:
        config = self.encoder_config
        batch, length = self.args["flops_shape"].split("x")
        n = self.args["matmul_size"]
        matmuls = ", ".join(f"{v / 1e9:.1f}" for v in self.matmul_flops)
        lines = [
            "# Model benchmark", "", "Command (from the repository root):", "", "```", command, "```", "",
            "## Machine", "", *markdown_facts(facts), "", "## Settings", "",
            *markdown_facts({k: str(v) for k, v in self.args.items()}), "",
            f"Encoder: {self.args['encoder']} (hidden {config.hidden_size}, {config.num_layers} layers in the "
            f"checkpoint, FFN {config.intermediate_size}), first {self._layers_kept()} layers kept.", "",
            f"Corpus: the bundled chatterbot corpus, cleaned by the TextCleaner library (dropped: "
            f"{self.corpus.dropped_by_cleaning}), at most {self.args['max_rows_per_topic']} rows per language and "
            f"topic; train {len(self.corpus.train)} rows {counts_by_language(self.corpus.train)}, eval "
            f"{len(self.corpus.eval)} rows {counts_by_language(self.corpus.eval)} (split by a hash of the text). "
            "Many lines are translations of each other across languages, which flatters every variant alike.", "",
            "## Variants", "", *self._variant_rows(), "",
            f"Training: {self.args['epochs']} dense epochs, then {self.args['pruning_epochs']} pruning epoch(s) "
            f"for the pruned variants; the unpruned ones train {self.args['pruning_epochs']} more dense "
            "epoch(s) instead, so every variant sees as many epochs. `train s` includes the per-epoch "
            "evaluation.", "",
            f"Latency and accuracy go through each exported SavedModel's raw-text `serving_default` (tokenizer "
            f"included). GFLOP/s: the Keras classifier on a fixed {batch}×{length} id block, counting the "
            "encoder's matmuls (QKV/output, FFN, attention) and the head; pruned kernels are still dense "
            "matrices, so their zeros are multiplied too (same FLOPs, no speed-up without sparse kernels). "
            f"÷ matmul: divided by a float32 {n}×{n}×{n} tf.matmul measured in the same run "
            f"(median {self.matmul / 1e9:.1f} GFLOP/s of {len(self.matmul_flops)} measurements: {matmuls}).", "",
            "## Accuracy / macro-F1 per language (eval split)", "", *self._language_rows(), "",
            "## Accuracy / macro-F1 per language on unseen text", "",
            f"{len(self.corpus.unseen)} rows the cap left out ({counts_by_language(self.corpus.unseen)}): neither "
            "training nor the vocabulary-trim plan saw them, so pieces they need may have been trimmed away "
            "(they become <unk>). This is where trimming can cost accuracy; on the eval split it cannot, since "
            "the plan keeps every eval piece.", "", *self._language_rows("unseen_quality"), "",
            "## What the trainer reported", "", *self._training_notes(), ""]
        return "\n".join(lines)
