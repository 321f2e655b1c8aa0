"""Milestones a long-running component reports while it works: a training epoch's eval score, pruning, trimming.

They go to the `nlp2prod.progress` logger. The run's log file keeps them like every other record, and the pipeline
console (pipeline/console.py) also prints them under the running component's line, so a 20-minute Trainer is not
silent. Libraries log here only what a user waiting on the run wants to see; step-level detail stays in the log.
"""

import logging

LOGGER_NAME = "nlp2prod.progress"

log = logging.getLogger(LOGGER_NAME)
