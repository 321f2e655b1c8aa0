from tiny_model import tiny_corpus  # noqa: F401  (fixture)
