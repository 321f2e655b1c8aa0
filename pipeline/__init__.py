"""Pipeline wiring, configuration, runners and the `nlp2prod` command line.

Importing this package imports neither TFX nor TensorFlow: the serving commands of the CLI must run on a host
that installed only `nlp2prod[serving]`.
"""
