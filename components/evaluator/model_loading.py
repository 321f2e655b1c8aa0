"""Evaluator UDF module (`module_path`): loads candidates with TF Text's ops registered in every Beam worker.

The candidate's graph holds SentencePiece ops; a Beam worker process that never imported tensorflow_text
cannot load it ("Op type not registered"). TFX's Evaluator calls `custom_eval_shared_model` from this module;
the loader it returns imports tensorflow_text right before the model is constructed, wherever that runs.
"""

from __future__ import annotations

import functools

import tensorflow_model_analysis as tfma


def custom_eval_shared_model(eval_saved_model_path, model_name, eval_config, **kwargs):
    """TFMA's default shared model whose construct_fn first registers TF Text's ops."""
    shared = tfma.default_eval_shared_model(eval_saved_model_path=eval_saved_model_path, model_name=model_name,
                                            eval_config=eval_config, **kwargs)
    shared.model_loader.construct_fn = functools.partial(_construct_with_text_ops,
                                                         shared.model_loader.construct_fn)
    return shared


def _construct_with_text_ops(construct_fn):
    import tensorflow_text  # noqa: F401  (registers the ops; must precede the load)

    return construct_fn()
