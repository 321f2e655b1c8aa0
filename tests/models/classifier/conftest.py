from tiny_model import tiny_corpus, trained_tiny  # noqa: F401  (fixtures)
