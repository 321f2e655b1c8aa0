"""The model library behind the Trainer: classifier, training loop, pruning, vocabulary trimming, export.

Plain functions on checkpoints, tf.data datasets and Keras models; nothing here imports TFX.
"""

__all__ = ["classifier", "datasets", "export", "fine_tune", "metrics", "recipe", "training", "vocabulary_trim",
           "warm_start"]
