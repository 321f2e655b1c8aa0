"""The quiet console: one line per component from the runner's records, plus the milestones components report."""

import io
import logging

from models import progress
from pipeline.console import ComponentProgress


def _record(name, message, level=logging.INFO):
    return logging.LogRecord(name, level, __file__, 1, message, (), None)


def test_component_lines_milestones_under_them_and_framework_records_left_out():
    stream = io.StringIO()
    console = ComponentProgress(stream)
    for name, message in [("absl", "Component Trainer is running."),
                          ("tensorflow", "Layer dense_3 is deprecated"),
                          (progress.LOGGER_NAME, "epoch 1/3: eval macro-F1 0.8100, accuracy 0.8200 (120 s so far)"),
                          ("absl", "Component Trainer is finished."),
                          ("absl", "Component Evaluator is running."),
                          ("absl", "A cached execution 7 is used."),
                          ("absl", "Component Evaluator is finished.")]:
        console.emit(_record(name, message))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  ▶ Trainer ..."
    assert lines[1] == "      epoch 1/3: eval macro-F1 0.8100, accuracy 0.8200 (120 s so far)"
    assert lines[2].startswith("  ✓ Trainer ") and lines[2].endswith(" s")
    assert lines[3] == "  ▶ Evaluator ..."
    assert lines[4].startswith("  ✓ Evaluator ") and lines[4].endswith("(cached)")
    assert len(lines) == 5 and not any("deprecated" in line for line in lines)
    assert [(name, cached) for name, _, cached in console.timings] == [("Trainer", False), ("Evaluator", True)]


def test_the_model_library_reports_epochs_on_the_progress_logger(caplog):
    from models.classifier import training

    class _Trainer:
        model = type("M", (), {"get_weights": lambda self: [], "set_weights": lambda self, w: None})()
        real_token_shares = []

        def train_epoch(self, batches, max_steps=None):
            self.real_token_shares.append(0.9)
            return 3

        def evaluate(self, batches, num_classes):
            return {"overall": {"macro_f1": 0.5, "accuracy": 0.6}, "languages": {}}

    with caplog.at_level(logging.INFO, logger=progress.LOGGER_NAME):
        training.fit(_Trainer(), None, None, num_classes=2, epochs=2, patience=0)
    messages = [r.getMessage() for r in caplog.records if r.name == progress.LOGGER_NAME]
    assert [m.split(":")[0] for m in messages] == ["epoch 1/2", "epoch 2/2"]
    assert all("eval macro-F1 0.5000, accuracy 0.6000, real-token share 0.90" in m for m in messages)
