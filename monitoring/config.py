"""The monitor's settings: where request logs and feedback live, the window, and every alert threshold.

`MonitorConfig` is the `monitor` section of the one RunConfig (`--set monitor.max_untrained_share=0.1`); it lives
here so that the monitor, the gateway and the embedded server read it without importing the pipeline.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence, Tuple

# Languages the detector chooses among: the bundled corpus's and the most used languages on the web.
DEFAULT_CANDIDATES: Tuple[str, ...] = (
    "en", "it", "ja", "ko", "uk", "zh", "fa", "nl", "fr", "de", "es", "pt", "ru", "ar", "tr", "pl", "sv",
    "hi", "id", "vi", "cs", "el", "he", "th", "ro", "hu", "da", "fi")


@dataclasses.dataclass(frozen=True)
class MonitorConfig:
    """Request-log location and limits, and the thresholds of `nlp2prod monitor`.

    Distances: L-infinity (largest difference of shares) for categorical distributions, Jensen-Shannon
    divergence (base 2, in [0, 1]) for text length histograms, as TFDV's drift comparators.
    """

    # Empty paths mean "under the state directory" (see `under`).
    log_prefix: str = ""
    feedback_path: str = ""
    report_dir: str = ""
    sampling_rate: float = 1.0
    store_raw_text: bool = True
    max_log_file_bytes: int = 64 << 20
    max_log_bytes: int = 1 << 30
    log_retention_days: float = 7.0
    window_seconds: int = 3600
    series_buckets: int = 12
    # No verdict on a window (a version) with fewer texts, nor on a language with fewer.
    min_window_texts: int = 200
    min_language_texts: int = 50
    max_language_drift: float = 0.15
    # Share of texts in languages the version was not trained on, above the share found in its training data.
    max_untrained_share: float = 0.05
    max_length_drift: float = 0.15
    max_prediction_drift: float = 0.4
    low_confidence: float = 0.5
    max_low_confidence_share: float = 0.6
    min_feedback_labels: int = 30
    min_live_accuracy: float = 0.6
    languages: Tuple[str, ...] = DEFAULT_CANDIDATES

    def under(self, home: str) -> "MonitorConfig":
        """A copy whose empty paths are filled in below `home` (request_logs/, feedback/, monitoring/)."""
        return dataclasses.replace(
            self, log_prefix=self.log_prefix or os.path.join(home, "request_logs", "requests"),
            feedback_path=self.feedback_path or os.path.join(home, "feedback", "labels.jsonl"),
            report_dir=self.report_dir or os.path.join(home, "monitoring"))

    def with_overrides(self, overrides: Sequence[str]) -> "MonitorConfig":
        """A copy with `monitor.FIELD=VALUE` overrides (the RunConfig's `--set` syntax, this section only).

        Raises:
          ValueError: another section, an unknown field, or a value that does not parse as the field's type.
        """
        config = self
        fields = {f.name: f for f in dataclasses.fields(self)}
        for item in overrides:
            key, sep, raw = item.partition("=")
            section, _, name = key.partition(".")
            if not sep or section != "monitor" or name not in fields:
                raise ValueError(f"override {item!r}: expected monitor.FIELD=VALUE with FIELD one of "
                                 f"{', '.join(sorted(fields))}")
            config = dataclasses.replace(config, **{name: _parsed(raw, getattr(self, name), item)})
        return config


def _parsed(raw: str, current, item: str):
    if isinstance(current, bool):
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{item!r}: expected true or false")
        return raw.lower() in ("true", "1")
    if isinstance(current, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    try:
        return type(current)(raw) if isinstance(current, (int, float)) else raw
    except ValueError:
        raise ValueError(f"{item!r}: {raw!r} is not a number") from None
