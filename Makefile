# The two commands of the README. Each builds .venv first when it is missing or older than the lock.
.PHONY: demo test env airflow-env

env:
	@scripts/bootstrap.sh

# Airflow's own environment (.venv-airflow from requirements-airflow.lock): Airflow 2.10 moves 7 pins of the main lock.
airflow-env:
	@scripts/bootstrap.sh .venv-airflow requirements-airflow.lock

# Materialise the bundled multilingual corpus as span-1 and run the whole pipeline on it.
demo: env
	@.venv/bin/nlp2prod data bundled
	@.venv/bin/nlp2prod run

# The full test suite, whole-pipeline runs included.
test: env
	@TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python -m pytest -q --durations=25 tests
