"""The serving benchmark's tables and target verdicts, as markdown (printed and written to results/serving.md).

Ratios are taken against numbers measured in the same run: the latency targets on single calls interleaved
with the in-process call (the table of points against the in-process single-text call measured between phases),
throughput against the in-process call at its best batch size and at batch 16 (the largest batch that 16
clients of one text each can form).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Dict, List, Optional, Tuple

from load_generators import Measurement, best_of
from machine import markdown_facts

GRPC_LATENCY_TARGET = 1.05
REST_LATENCY_TARGET = 1.10
BATCHED_THROUGHPUT_TARGET = 0.85
NAIVE_SPEEDUP_TARGET = 3.0
TARGET_CONCURRENCY = 16
# The interleaved call to a constant-answer gRPC server that holds each call for the in-process single p50.
HELD_FLOOR = "gRPC floor: constant answer held for the in-process p50"


def point_line(m: Measurement) -> str:
    return (f"{m.requests:>6} req, {m.failures} failed, p50 {m.p50_ms:7.3f} ms, p90 {m.p90_ms:7.3f} ms, "
            f"p99 {m.p99_ms:7.3f} ms, {m.texts_per_s:9.1f} texts/s")


def _ms(value: float) -> str:
    return f"{value:.3f}"


def _median_latency(measurements: List[Measurement]) -> Measurement:
    """The measurement with the median p50 (of an even count, the lower middle one: the faster)."""
    ordered = sorted(measurements, key=lambda m: m.p50_ms)
    return ordered[(len(ordered) - 1) // 2]


@dataclasses.dataclass
class ServingReport:
    command: str
    model: str
    facts: Dict[str, str]
    settings: Dict[str, object]
    batching_text: str
    in_process: Dict[int, Measurement]
    server: Dict[str, Dict[Tuple[str, int], Measurement]]  # batching "off"/"on" -> (protocol, concurrency)
    naive: Dict[int, Measurement]
    grpc_floor: Dict[Tuple[str, int], Measurement]  # (server kind, concurrency) -> constant-answer server
    single_references: List[Measurement]  # the in-process single-text call, measured between the phases
    batch_references: List[Measurement]  # the in-process call at batch TARGET_CONCURRENCY, likewise
    # "in-process" / "gRPC" / "REST" single calls taking turns, against the batching-off server
    interleaved: Dict[str, Measurement]
    floor_hold_ms: float = 0.0  # how long the HELD_FLOOR server holds each call

    @property
    def single(self) -> Measurement:
        """The reference single-text call: the measurement with the median p50 among the repeated ones."""
        return _median_latency(self.single_references)

    @property
    def same_batch(self) -> Measurement:
        """The in-process call at batch TARGET_CONCURRENCY: the median throughput among the repeated ones (of an
        even count, the higher middle one: the one less favourable to the server)."""
        ordered = sorted(self.batch_references, key=lambda m: m.texts_per_s)
        return ordered[len(ordered) // 2]

    @property
    def best_batch(self) -> Measurement:
        return best_of(list(self.in_process.values()))

    def _server_rows(self) -> List[str]:
        rows = ["| protocol | batching | concurrency | requests | failed | p50 ms | p90 ms | p99 ms | texts/s "
                "| p50 ÷ in-process single | texts/s ÷ in-process best batch |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for mode in ("off", "on"):
            for (protocol, concurrency), m in sorted(self.server.get(mode, {}).items()):
                rows.append(self._row([protocol, mode, str(concurrency)], m))
        for concurrency, m in sorted(self.naive.items()):
            rows.append(self._row(["naive Flask (REST)", "none", str(concurrency)], m))
        for (kind, concurrency), m in sorted(self.grpc_floor.items()):
            rows.append(self._row([f"gRPC floor: constant answer, no model ({kind} server)", "-", str(concurrency)],
                                  m))
        return rows

    def _row(self, head: List[str], m: Measurement) -> str:
        cells = head + [str(m.requests), str(m.failures), _ms(m.p50_ms), _ms(m.p90_ms), _ms(m.p99_ms),
                        f"{m.texts_per_s:.1f}", f"{m.p50_ms / self.single.p50_ms:.2f}x",
                        f"{m.texts_per_s / self.best_batch.texts_per_s:.2f}x"]
        return "| " + " | ".join(cells) + " |"

    def _interleaved_rows(self) -> List[str]:
        rows = ["| call | calls | p50 ms | p90 ms | p99 ms | p50 ÷ in-process |", "|---|---:|---:|---:|---:|---:|"]
        reference = self.interleaved.get("in-process")
        for name, m in self.interleaved.items():
            rows.append(f"| {name} | {m.requests} | {_ms(m.p50_ms)} | {_ms(m.p90_ms)} | {_ms(m.p99_ms)} | "
                        f"{m.p50_ms / reference.p50_ms:.2f}x |")
        return rows

    def _held_floor_lines(self) -> List[str]:
        held, ours = self.interleaved.get(HELD_FLOOR), self.interleaved.get("gRPC")
        reference = self.interleaved.get("in-process")
        if not (held and ours and reference):
            return []
        return ["", f"Held gRPC floor (interleaved with the calls the latency targets use): the same blocking stub "
                    f"against a constant-answer server that sleeps {self.floor_hold_ms:.3f} ms (the in-process "
                    f"single p50 measured first) before answering takes {_ms(held.p50_ms)} ms at p50: grpcio and "
                    f"this machine add {held.p50_ms - self.floor_hold_ms:.3f} ms to a call that long, against "
                    f"{reference.p50_ms * (GRPC_LATENCY_TARGET - 1):.3f} ms allowed by the "
                    f"≤ {GRPC_LATENCY_TARGET:.2f}x target. Our server's gRPC call takes "
                    f"{ours.p50_ms - reference.p50_ms:.3f} ms more than the in-process call; the gap between the "
                    "instant floor and the held one is the cost of waking threads that went idle during the call."]

    def _in_process_rows(self) -> List[str]:
        rows = ["| batch | calls | p50 ms per call | p90 ms | p99 ms | texts/s |", "|---:|---:|---:|---:|---:|---:|"]
        for batch, m in sorted(self.in_process.items()):
            marker = " (best)" if m is self.best_batch else ""
            rows.append(f"| {batch}{marker} | {m.requests} | {_ms(m.p50_ms)} | {_ms(m.p90_ms)} | {_ms(m.p99_ms)} "
                        f"| {m.texts_per_s:.1f} |")
        return rows

    def targets(self) -> List[Tuple[str, str, str, Optional[bool]]]:
        """(target, measured, threshold, met) for each target of issue 6 (met None: not measured)."""
        best, on = self.best_batch, self.server.get("on", {})
        verdicts = []
        reference = self.interleaved.get("in-process")
        for protocol, limit in (("gRPC", GRPC_LATENCY_TARGET), ("REST", REST_LATENCY_TARGET)):
            m = self.interleaved.get(protocol)
            ratio = m.p50_ms / reference.p50_ms if m and reference else float("nan")
            verdicts.append((f"{protocol} p50 at concurrency 1, batching off ÷ in-process single p50 (calls "
                             "interleaved)",
                             f"{ratio:.2f}x ({_ms(m.p50_ms) if m else '-'} ms vs "
                             f"{_ms(reference.p50_ms) if reference else '-'} ms)",
                             f"≤ {limit:.2f}x", ratio <= limit if m and reference else None))
        for protocol, limit in (("gRPC", GRPC_LATENCY_TARGET), ("REST", REST_LATENCY_TARGET)):
            m = self.server.get("off", {}).get((protocol, 1))
            ratio = m.p50_ms / self.single.p50_ms if m else float("nan")
            verdicts.append((f"{protocol} p50 at concurrency 1, batching off ÷ in-process single p50 (closed-loop "
                             "points, one after another)",
                             f"{ratio:.2f}x ({_ms(m.p50_ms) if m else '-'} ms vs {_ms(self.single.p50_ms)} ms)",
                             f"≤ {limit:.2f}x", ratio <= limit if m else None))
        # Against the best batch of the sweep (the strict reading) and against batch 16, the largest batch that
        # 16 clients of one text each can form (the like-for-like reading).
        references = ((f"best batch ({best.batch})", best),
                      (f"batch {TARGET_CONCURRENCY}, median of {len(self.batch_references)}", self.same_batch))
        for (reference_name, reference), protocol in itertools.product(references, ("gRPC", "REST")):
            m = on.get((protocol, TARGET_CONCURRENCY))
            ratio = m.texts_per_s / reference.texts_per_s if m else float("nan")
            verdicts.append((f"{protocol} throughput at concurrency {TARGET_CONCURRENCY}, batching on ÷ in-process "
                             f"{reference_name}",
                             f"{ratio:.2f}x ({m.texts_per_s if m else 0:.0f} vs {reference.texts_per_s:.0f} "
                             "texts/s)",
                             f"≥ {BATCHED_THROUGHPUT_TARGET:.2f}x", ratio >= BATCHED_THROUGHPUT_TARGET if m else None))
        verdicts += self._naive_targets()
        return verdicts

    def _naive_targets(self):
        naive = self.naive.get(TARGET_CONCURRENCY)
        verdicts = []
        for protocol in ("REST", "gRPC"):
            ours = self.server.get("on", {}).get((protocol, TARGET_CONCURRENCY))
            if ours and naive and naive.requests:
                ratio = ours.texts_per_s / naive.texts_per_s
                verdicts.append((f"{protocol} throughput at concurrency {TARGET_CONCURRENCY}, batching on ÷ naive "
                                 f"Flask at concurrency {TARGET_CONCURRENCY}",
                                 f"{ratio:.2f}x ({ours.texts_per_s:.0f} vs {naive.texts_per_s:.0f} texts/s)",
                                 f"≥ {NAIVE_SPEEDUP_TARGET:.1f}x", ratio >= NAIVE_SPEEDUP_TARGET))
        ours_best = best_of([m for results in self.server.values() for m in results.values()])
        naive_best = best_of(list(self.naive.values()))
        if ours_best and naive_best:
            ratio = ours_best.texts_per_s / naive_best.texts_per_s
            verdicts.append(("best throughput of our server (any protocol/batching/concurrency) ÷ best of naive "
                             "Flask", f"{ratio:.2f}x ({ours_best.texts_per_s:.0f} vs {naive_best.texts_per_s:.0f} "
                             "texts/s)", f"≥ {NAIVE_SPEEDUP_TARGET:.1f}x", ratio >= NAIVE_SPEEDUP_TARGET))
        return verdicts

    def markdown(self) -> str:
        status = {True: "**met**", False: "**missed**", None: "not measured"}
        lines = ["# Serving benchmark", "", "Command (from the repository root):", "", "```", self.command, "```", "",
                 f"Model: {self.model}", "", "## Machine", "", *markdown_facts(self.facts), "",
                 "## Settings", "", *markdown_facts({k: str(v) for k, v in self.settings.items()}), "",
                 "Server batching parameters (batching on):", "", "```", self.batching_text.strip(), "```", "",
                 "Every request carries one text (rotating through 12 short chat lines in 12 languages); the "
                 "in-process rows call the same SavedModel's `serving_default` (tf.constant in, numpy out). gRPC "
                 "load: grpc.aio closed-loop clients on the official `PredictionService` stub, in the benchmark "
                 "process. REST load: wrk with keep-alive connections. Naive baseline: Flask's threaded "
                 "development server (werkzeug), one model call per request. Server, clients and wrk share the "
                 "same CPU cores.", "",
                 "## Targets", "", "| target | measured | threshold | result |", "|---|---|---|---|"]
        lines += [f"| {name} | {measured} | {threshold} | {status[met]} |"
                  for name, measured, threshold, met in self.targets()]
        floor = self.grpc_floor.get(("thread pool", 1))
        if floor:
            lines += ["", f"gRPC floor: the same client against a thread-pool gRPC server that returns a constant "
                          f"response without any model answers at p50 {_ms(floor.p50_ms)} ms at concurrency 1, "
                          f"{floor.p50_ms / self.single.p50_ms:.2f}x the in-process call; a Python grpcio server "
                          f"can only meet the ≤ {GRPC_LATENCY_TARGET:.2f}x target when that floor is below "
                          f"{GRPC_LATENCY_TARGET - 1:.0%} of the model's own call time."]
        lines += self._held_floor_lines()
        repeats = ", ".join(_ms(m.p50_ms) for m in self.single_references)
        batch_repeats = ", ".join(f"{m.texts_per_s:.1f}" for m in self.batch_references)
        lines += ["", "## In-process SavedModel call", "",
                  f"Measured again between the phases (start, after batching off, after batching on, end): the "
                  f"single-text p50 {repeats} ms (the ratios use the median, {_ms(self.single.p50_ms)} ms) and the "
                  f"batch-{TARGET_CONCURRENCY} throughput {batch_repeats} texts/s (median "
                  f"{self.same_batch.texts_per_s:.1f}).", "", *self._in_process_rows(), "",
                  "## Single calls, interleaved (the latency targets)", "",
                  "One in-process call, one gRPC Predict (blocking official stub), one REST predict (http.client, "
                  "keep-alive) and one gRPC Predict to the held floor per round, the order rotating each round, "
                  "against the batching-off server: each "
                  "ratio compares calls made moments apart, so load drifting during the run cancels out.", "",
                  *self._interleaved_rows(), "",
                  "## Servers", "", *self._server_rows(), ""]
        return "\n".join(lines)
