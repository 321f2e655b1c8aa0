"""Transform module file: raw text -> token ids in the graph, so serving takes raw strings.

TFX loads `preprocessing_fn` from this file (alone in its folder: TFX bundles every .py file beside it).
custom_config (set by the pipeline from RunConfig):
  encoder          config.model.encoder ("e5-small" or a Hugging Face BERT folder)
  max_seq_length   config.model.max_seq_length
  labels           config.data.labels, in order: label_id is the index
"""

import tensorflow as tf

from models.features import (
    INPUT_IDS, INPUT_MASK, LABEL, LABEL_ID, LANG, TEXT, TOKEN_COUNT, TRUNCATED, UNKNOWN_COUNT,
)
from models.tokenizer.text_encoder import encode_texts, load_tokenizer_asset, make_tokenizer


def _label_ids(labels: tf.Tensor, vocabulary) -> tf.Tensor:
    matches = tf.equal(tf.reshape(labels, [-1, 1]), tf.constant(list(vocabulary))[tf.newaxis, :])
    known = tf.debugging.assert_equal(
        tf.reduce_all(tf.reduce_any(matches, axis=1)), True,
        message="a label outside config.data.labels reached Transform (the TextCleaner should quarantine it)")
    with tf.control_dependencies([known]):
        return tf.argmax(tf.cast(matches, tf.int64), axis=1)


def preprocessing_fn(inputs, custom_config):
    """Tokenizes `text` to input_ids / input_mask, numbers `label`, passes `lang` through.

    Args:
      inputs: dense string tensors text, label, lang, each [batch, 1].
      custom_config: dict with encoder, max_seq_length and labels (see the module docstring).

    Returns:
      input_ids, input_mask int64 [batch, max_seq_length]; label_id, token_count, unknown_count,
      truncated int64 [batch]; lang string [batch, 1].
    """
    asset = load_tokenizer_asset(custom_config["encoder"])
    encoded = encode_texts(make_tokenizer(asset), asset, inputs[TEXT], int(custom_config["max_seq_length"]))
    outputs = {key: encoded[key] for key in (INPUT_IDS, INPUT_MASK, TOKEN_COUNT, UNKNOWN_COUNT, TRUNCATED)}
    outputs[LANG] = inputs[LANG]
    outputs[LABEL_ID] = _label_ids(inputs[LABEL], custom_config["labels"])
    return outputs
