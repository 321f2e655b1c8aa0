"""`nlp2prod run` as a user runs it (a subprocess): the console shows our lines only, the framework's go to the log.

The run is made to stop at its first component (an empty span), so the test takes the time of importing TFX and
starting the pipeline, not of training.
"""

import glob
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

# Lines TensorFlow, TFX and google-api-core print while being imported on a CPU machine.
FRAMEWORK_NOISE = ("Unable to register", "FutureWarning", "cuda", "absl::InitializeLog")


def test_console_shows_progress_and_the_failure_and_nothing_of_the_frameworks(tmp_path):
    data_root = tmp_path / "data"
    (data_root / "span-1").mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--home", str(tmp_path / "home"),
                             "--data-root", str(data_root), "--serving-root", str(tmp_path / "serving")],
                            capture_output=True, text=True, env=env, timeout=600, check=False)
    console = result.stdout + result.stderr
    assert result.returncode == 1, console
    assert "SpanExampleGen failed" in console and "span-1" in console, console
    assert [line for line in console.splitlines() if any(noise in line for noise in FRAMEWORK_NOISE)] == []
    logs = glob.glob(str(tmp_path / "home" / "**" / "run-*.log"), recursive=True)
    assert len(logs) == 1 and os.path.getsize(logs[0]) > 0
    serving_root = tmp_path / "serving"
    assert not serving_root.exists() or not any(serving_root.iterdir())
