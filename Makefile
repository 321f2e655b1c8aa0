# The two commands of the README. Each builds .venv first when it is missing or older than the lock.
.PHONY: demo test env

env:
	@scripts/bootstrap.sh

# Materialise the bundled multilingual corpus as span-1 and run the whole pipeline on it.
demo: env
	@.venv/bin/nlp2prod data bundled
	@.venv/bin/nlp2prod run

# The full test suite, whole-pipeline runs included.
test: env
	@TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python -m pytest -q tests
