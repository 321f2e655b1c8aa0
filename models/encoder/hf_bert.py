"""Reads and writes Hugging Face BERT checkpoint folders: config.json + model.safetensors + vocab.txt.

Tensor names follow `transformers`' BertModel (`embeddings.word_embeddings.weight`,
`encoder.layer.{i}.attention.self.query.weight`, ...), optionally under a `bert.` prefix as task models save
them; Linear weights are torch-style [out, in] and are transposed into the neutral [in, out] form.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Optional, Tuple

import numpy as np
from safetensors.numpy import load_file, save_file

from models.encoder.checkpoint import (WORDPIECE, CheckpointError, EncoderCheckpoint, EncoderConfig,
                                           Vocabulary, check_complete)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
_SUPPORTED_ACTIVATIONS = ("gelu",)  # exact erf GELU: what the Keras encoder computes
_PREFIXES = ("bert.", "")
_EMBEDDINGS = {"embeddings.word_embeddings.weight": "embeddings.word",
               "embeddings.position_embeddings.weight": "embeddings.position",
               "embeddings.token_type_embeddings.weight": "embeddings.token_type",
               "embeddings.LayerNorm.weight": "embeddings.norm.gamma",
               "embeddings.LayerNorm.bias": "embeddings.norm.beta"}
_LAYER_TENSORS = {"attention.self.query": "attention.query", "attention.self.key": "attention.key",
                  "attention.self.value": "attention.value", "attention.output.dense": "attention.output",
                  "intermediate.dense": "ffn.intermediate", "output.dense": "ffn.output"}
_LAYER_NORMS = {"attention.output.LayerNorm": "attention_norm", "output.LayerNorm": "output_norm"}
_SPECIAL_TOKENS = {"cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]"}


def is_hf_checkpoint(path: str) -> bool:
    """True when `path` is a folder with a config.json."""
    return os.path.isfile(os.path.join(path, CONFIG_FILE))


def read_hf_bert(folder: str) -> EncoderCheckpoint:
    """Reads a Hugging Face BERT checkpoint folder into the neutral checkpoint form.

    Raises:
      CheckpointError: a missing file, a non-BERT model type, an activation other than exact GELU, or a missing
        or mis-shaped tensor (the message names the file and tensor).
    """
    config = _read_config(folder)
    weights_path = _require(folder, WEIGHTS_FILE)
    try:
        tensors = load_file(weights_path)
    except Exception as error:
        raise CheckpointError(f"{weights_path}: not a readable safetensors file ({error})") from None
    prefix = next((p for p in _PREFIXES if f"{p}embeddings.word_embeddings.weight" in tensors), None)
    if prefix is None:
        raise CheckpointError(f"{weights_path}: no 'embeddings.word_embeddings.weight' tensor (with or "
                              "without a 'bert.' prefix); is this a BERT checkpoint?")
    weights = {neutral: tensors[prefix + name].astype(np.float32)
               for name, neutral in _EMBEDDINGS.items() if prefix + name in tensors}
    for i in range(config.num_layers):
        weights.update(_layer_weights(tensors, f"{prefix}encoder.layer.{i}.", f"layer.{i}."))
    vocabulary = read_wordpiece_vocabulary(folder)
    return check_complete(EncoderCheckpoint(config, vocabulary, weights), weights_path)


def read_wordpiece_vocabulary(folder: str) -> Vocabulary:
    """Reads vocab.txt (one token per line, id = line number) and the lower-casing flag.

    `do_lower_case` comes from tokenizer_config.json when present; otherwise a vocabulary without any
    upper-case token is taken to be uncased.
    """
    path = _require(folder, VOCAB_FILE)
    with open(path, encoding="utf-8") as f:
        tokens = tuple(line.rstrip("\n") for line in f)
    index = {token: i for i, token in enumerate(tokens)}
    missing = [token for token in _SPECIAL_TOKENS.values() if token not in index]
    if missing:
        raise CheckpointError(f"{path}: special token {missing[0]} not in the vocabulary")
    special_ids = {role: index[token] for role, token in _SPECIAL_TOKENS.items()}
    special_ids.update(bos=special_ids["cls"], eos=special_ids["sep"])
    return Vocabulary(kind=WORDPIECE, pieces=tokens, special_ids=special_ids,
                      lowercase=_lowercase(folder, tokens))


def write_hf_bert(checkpoint: EncoderCheckpoint, folder: str) -> None:
    """Writes a checkpoint as a Hugging Face BERT folder (BertModel tensor names, no prefix)."""
    if checkpoint.vocabulary.kind != WORDPIECE:
        raise CheckpointError(f"{folder}: a BERT folder holds a WordPiece vocabulary, "
                              f"not {checkpoint.vocabulary.kind}")
    os.makedirs(folder, exist_ok=True)
    config = checkpoint.config
    hf_config = {"model_type": "bert", "architectures": ["BertModel"], "hidden_act": "gelu",
                 "hidden_size": config.hidden_size, "num_hidden_layers": config.num_layers,
                 "num_attention_heads": config.num_heads, "intermediate_size": config.intermediate_size,
                 "vocab_size": config.vocab_size, "max_position_embeddings": config.max_positions,
                 "type_vocab_size": config.type_vocab_size, "layer_norm_eps": config.layer_norm_eps}
    with open(os.path.join(folder, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(hf_config, f, indent=2)
    with open(os.path.join(folder, VOCAB_FILE), "w", encoding="utf-8") as f:
        f.writelines(piece + "\n" for piece in checkpoint.vocabulary.pieces)
    with open(os.path.join(folder, TOKENIZER_CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": checkpoint.vocabulary.lowercase}, f)
    save_file(_hf_tensors(checkpoint), os.path.join(folder, WEIGHTS_FILE))


def _read_config(folder: str) -> EncoderConfig:
    path = _require(folder, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    if raw.get("model_type", "bert") != "bert":
        raise CheckpointError(f"{path}: model_type {raw['model_type']!r}; only BERT checkpoints are supported")
    activation = raw.get("hidden_act", "gelu")
    if activation not in _SUPPORTED_ACTIVATIONS:
        raise CheckpointError(f"{path}: hidden_act {activation!r}; the encoder implements exact GELU only")
    try:
        return EncoderConfig(hidden_size=int(raw["hidden_size"]), num_layers=int(raw["num_hidden_layers"]),
                             num_heads=int(raw["num_attention_heads"]),
                             intermediate_size=int(raw["intermediate_size"]), vocab_size=int(raw["vocab_size"]),
                             max_positions=int(raw["max_position_embeddings"]),
                             type_vocab_size=int(raw.get("type_vocab_size", 2)),
                             layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)))
    except KeyError as error:
        raise CheckpointError(f"{path}: required field {error.args[0]!r} missing") from None


def _layer_weights(tensors: Dict[str, np.ndarray], source: str, target: str) -> Dict[str, np.ndarray]:
    weights = {}
    for name, neutral in _LAYER_TENSORS.items():
        kernel, bias = tensors.get(f"{source}{name}.weight"), tensors.get(f"{source}{name}.bias")
        if kernel is not None:
            weights[f"{target}{neutral}.kernel"] = kernel.astype(np.float32).T.copy()
        if bias is not None:
            weights[f"{target}{neutral}.bias"] = bias.astype(np.float32)
    for name, neutral in _LAYER_NORMS.items():
        for hf_suffix, neutral_suffix in ((".weight", ".gamma"), (".bias", ".beta")):
            value = tensors.get(f"{source}{name}{hf_suffix}")
            if value is not None:
                weights[f"{target}{neutral}{neutral_suffix}"] = value.astype(np.float32)
    return weights


def _hf_tensors(checkpoint: EncoderCheckpoint) -> Dict[str, np.ndarray]:
    weights = checkpoint.weights
    tensors = {name: np.ascontiguousarray(weights[neutral]) for name, neutral in _EMBEDDINGS.items()}
    for i in range(checkpoint.config.num_layers):
        for name, neutral in _LAYER_TENSORS.items():
            kernel = weights[f"layer.{i}.{neutral}.kernel"]
            tensors[f"encoder.layer.{i}.{name}.weight"] = np.ascontiguousarray(kernel.T)
            tensors[f"encoder.layer.{i}.{name}.bias"] = weights[f"layer.{i}.{neutral}.bias"]
        for name, neutral in _LAYER_NORMS.items():
            tensors[f"encoder.layer.{i}.{name}.weight"] = weights[f"layer.{i}.{neutral}.gamma"]
            tensors[f"encoder.layer.{i}.{name}.bias"] = weights[f"layer.{i}.{neutral}.beta"]
    return tensors


def _lowercase(folder: str, tokens: Tuple[str, ...]) -> bool:
    flag: Optional[bool] = None
    path = os.path.join(folder, TOKENIZER_CONFIG_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            flag = json.load(f).get("do_lower_case")
    if flag is None:
        flag = not any(token != token.lower() for token in tokens if not token.startswith("["))
    return bool(flag)


def _require(folder: str, name: str) -> str:
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise CheckpointError(f"{folder}: {name} not found (a BERT checkpoint folder needs "
                              f"{CONFIG_FILE}, {WEIGHTS_FILE} and {VOCAB_FILE})")
    return path
