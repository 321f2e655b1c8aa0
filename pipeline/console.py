"""Quiet-by-default console for pipeline runs.

A TFX run prints thousands of framework lines (absl, TensorFlow C++, Beam, deprecation warnings). `quiet_run`
sends all of them to a log file and shows the user one line per component: started, finished (or reused from
cache) with its wall time, and failed with the reason; under a running component, the milestones it reports on
the `nlp2prod.progress` logger (a training epoch's eval score, pruning, vocabulary trimming).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
import warnings
from typing import Dict, Iterator, List, Optional, TextIO, Tuple

from models import progress

_RUNNING = re.compile(r"^Component (\S+) is running\.$")
_FINISHED = re.compile(r"^Component (\S+) is finished\.$")
_CACHED = re.compile(r"^A cached execution \d+ is used\.$")


class ComponentProgress(logging.Handler):
    """Turns LocalDagRunner's log records into one console line per component and keeps the timings."""

    def __init__(self, stream: TextIO):
        super().__init__(level=logging.INFO)
        self._stream = stream
        self._current: Optional[Tuple[str, float]] = None
        self._cached = False
        self.timings: List[Tuple[str, float, bool]] = []

    @property
    def current_component(self) -> Optional[str]:
        return self._current[0] if self._current else None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed third-party record must never break the run
            return
        if record.name == progress.LOGGER_NAME:
            self.report(f"      {message}")
        elif match := _RUNNING.match(message):
            self._current, self._cached = (match.group(1), time.monotonic()), False
            self.report(f"  ▶ {match.group(1)} ...")
        elif _CACHED.match(message):
            self._cached = True
        elif (match := _FINISHED.match(message)) and self._current:
            seconds = time.monotonic() - self._current[1]
            self.timings.append((match.group(1), seconds, self._cached))
            note = "  (cached)" if self._cached else ""
            self.report(f"  ✓ {match.group(1):<24} {seconds:7.1f} s{note}")
            self._current = None

    def report(self, line: str) -> None:
        """Writes one line to the real console, even while native output goes to the log file."""
        self._stream.write(line + "\n")
        self._stream.flush()


@contextlib.contextmanager
def quiet_run(log_path: str, verbose: bool = False) -> Iterator[ComponentProgress]:
    """Routes Python logging, warnings and native stderr to `log_path`; yields the progress reporter.

    With `verbose=True` everything also stays on the console.
    """
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    console = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    progress = ComponentProgress(console)
    root, absl_logger = logging.getLogger(), logging.getLogger("absl")
    saved_level, saved_handlers, saved_absl_level = root.level, list(root.handlers), absl_logger.level
    with open(log_path, "a", encoding="utf-8", buffering=1) as log_file:
        file_handler = logging.StreamHandler(log_file)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.handlers = [file_handler, progress]
        root.setLevel(logging.INFO)
        _absl_to_python_logging()
        redirect = contextlib.nullcontext() if verbose else _native_output_to(log_file)
        with redirect, warnings.catch_warnings():
            warnings.simplefilter("default")
            logging.captureWarnings(True)
            try:
                yield progress
            finally:
                logging.captureWarnings(False)
                root.handlers, root.level = saved_handlers, saved_level
                absl_logger.setLevel(saved_absl_level)  # INFO only while the log file takes it
                console.close()


@contextlib.contextmanager
def _native_output_to(log_file: TextIO) -> Iterator[None]:
    """Points file descriptors 1 and 2 (C++ logs, Beam, print) at the log file for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved: Dict[int, int] = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        for fd in (1, 2):
            os.dup2(log_file.fileno(), fd)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)


def _absl_to_python_logging() -> None:
    """Makes absl send its records through the standard root logger (and not to stderr on its own)."""
    try:
        from absl import logging as absl_logging
    except ImportError:
        return
    absl_logging.use_python_logging(quiet=True)
    absl_logging.set_verbosity(absl_logging.INFO)


def print_table(rows: List[List[object]], headers: List[str], stream: Optional[TextIO] = None) -> None:
    """Prints a plain aligned text table (to `stream`, else to the sys.stdout of the moment)."""
    stream = stream or sys.stdout
    cells = [headers] + [[_format_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        stream.write("  " + "  ".join(cell.rjust(w) if index and _numeric(cell) else cell.ljust(w)
                                      for cell, w in zip(row, widths)).rstrip() + "\n")
        if index == 0:
            stream.write("  " + "  ".join("-" * w for w in widths) + "\n")


def _format_cell(value: object) -> str:
    if isinstance(value, float):
        # Counts arrive as floats from JSON metrics; a rate is never above 1.
        return f"{value:.0f}" if value > 1 and value.is_integer() else f"{value:.3f}"
    return str(value)


def _numeric(cell: str) -> bool:
    return bool(re.fullmatch(r"-?[\d.,]+%?", cell))
