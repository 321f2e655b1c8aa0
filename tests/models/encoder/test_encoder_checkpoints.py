"""Checkpoint readers: tiny files written here in the real formats load back exactly."""

import json
import os
import struct

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from models.encoder import CheckpointError, load_checkpoint, load_vocabulary
from models.encoder.e5s1 import read_e5s1, write_e5s1
from models.encoder.hf_bert import read_hf_bert, write_hf_bert
from models.encoder.synthetic import random_checkpoint, sentencepiece_vocabulary, wordpiece_vocabulary

H, LAYERS, HEADS, FF, POSITIONS = 32, 2, 2, 64, 16
TEXTS = ["the food was excellent", "das Essen war ausgezeichnet", "食べ物は最高でした", "їжа була чудова"]


def _q4_tensor(rng, rows, cols):
    """Random Q4_0 blocks for a [rows, cols] matrix, and the float values they stand for (by the spec)."""
    n_blocks = rows * cols // 32
    scales = rng.uniform(0.001, 0.05, n_blocks).astype(np.float16)
    nibbles = rng.integers(0, 16, size=(n_blocks, 32))
    raw = b"".join(struct.pack("<e", s) + bytes(int(n[j]) | (int(n[j + 16]) << 4) for j in range(16))
                   for s, n in zip(scales, nibbles))
    values = ((nibbles - 8) * scales.astype(np.float32)[:, None]).reshape(rows, cols).astype(np.float32)
    return raw, values


def _write_e5s1_by_hand(path, pieces, scores, tensors):
    """An E5S1 file assembled field by field from the format description (not via the library writer)."""
    header = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FF, len(pieces), POSITIONS, 2, 1e-12, 32)
    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    norm_entry = struct.pack("<IB2I", 0xFB01, 2, ord("f"), ord("i"))  # the "ﬁ" ligature → "fi"
    tokenizer = (struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
                 + np.asarray(scores, "<f4").tobytes() + blob + struct.pack("<iI", 1, len(norm_entry)) + norm_entry)
    directory_size = 4 + sum(2 + len(n) + 21 for n in tensors)
    offset, entries, payloads = len(header) + len(tokenizer) + directory_size, [], b""
    for name, (dtype, raw, count) in tensors.items():
        entries.append(struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count,
                                                                                   offset, len(raw)))
        payloads += raw
        offset += len(raw)
    with open(path, "wb") as f:
        f.write(header + tokenizer + struct.pack("<i", len(entries)) + b"".join(entries) + payloads)


def test_e5s1_file_loads_back_exactly(tmp_path):
    rng = np.random.default_rng(0)
    vocabulary = sentencepiece_vocabulary(TEXTS, max_pieces=300)
    pieces, scores, vocab = vocabulary.pieces, vocabulary.scores, len(vocabulary.pieces)
    tensors, expected = {}, {}

    def f32(name, neutral, shape):
        values = rng.normal(size=shape).astype(np.float32)
        tensors[name] = (0, values.tobytes(), values.size)
        expected[neutral] = values

    def q4(name, neutral, rows, cols, transpose):
        raw, values = _q4_tensor(rng, rows, cols)
        tensors[name] = (1, raw, rows * cols)
        expected[neutral] = values.T if transpose else values

    q4("emb.word", "embeddings.word", vocab, H, transpose=False)
    f32("emb.pos", "embeddings.position", (POSITIONS, H))
    f32("emb.type", "embeddings.token_type", (2, H))
    f32("emb.ln.w", "embeddings.norm.gamma", (H,))
    f32("emb.ln.b", "embeddings.norm.beta", (H,))
    for i in range(LAYERS):
        for short, neutral, out, inp in (("q", "attention.query", H, H), ("k", "attention.key", H, H),
                                         ("v", "attention.value", H, H), ("ao", "attention.output", H, H),
                                         ("fi", "ffn.intermediate", FF, H), ("fo", "ffn.output", H, FF)):
            q4(f"l{i}.{short}.w", f"layer.{i}.{neutral}.kernel", out, inp, transpose=True)
            f32(f"l{i}.{short}.b", f"layer.{i}.{neutral}.bias", (out,))
        for short, neutral in (("aln", "attention_norm"), ("oln", "output_norm")):
            f32(f"l{i}.{short}.w", f"layer.{i}.{neutral}.gamma", (H,))
            f32(f"l{i}.{short}.b", f"layer.{i}.{neutral}.beta", (H,))
    path = str(tmp_path / "tiny.bin")
    _write_e5s1_by_hand(path, pieces, scores, tensors)

    checkpoint = load_checkpoint(path)

    assert (checkpoint.config.hidden_size, checkpoint.config.num_layers, checkpoint.config.vocab_size) == (H, 2, vocab)
    assert checkpoint.vocabulary.pieces == pieces
    np.testing.assert_array_equal(checkpoint.vocabulary.scores, scores)
    assert checkpoint.vocabulary.normalization == {0xFB01: (ord("f"), ord("i"))}
    assert checkpoint.vocabulary.special_ids == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert set(checkpoint.weights) == set(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(checkpoint.weights[name], values, err_msg=name)
    assert load_vocabulary(path).pieces == pieces


def test_e5s1_writer_round_trips_within_q4_precision(tmp_path):
    original = random_checkpoint(sentencepiece_vocabulary(TEXTS), hidden_size=H, intermediate_size=FF)
    first, second = str(tmp_path / "a.bin"), str(tmp_path / "b.bin")
    write_e5s1(original, first)
    loaded = read_e5s1(first)
    write_e5s1(loaded, second)

    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() == b.read()  # the dequantized values quantize back to the same blocks
    for name, values in original.weights.items():
        tolerance = np.abs(values).max() / 8 + 1e-7 if name.endswith("kernel") or name == "embeddings.word" else 0
        np.testing.assert_allclose(loaded.weights[name], values, atol=tolerance, rtol=0, err_msg=name)


def test_hf_bert_folder_loads_back_exactly(tmp_path):
    rng = np.random.default_rng(1)
    vocabulary = wordpiece_vocabulary(TEXTS, max_pieces=200)
    tokens = vocabulary.pieces
    names = {"embeddings.word_embeddings.weight": (len(tokens), H),
             "embeddings.position_embeddings.weight": (POSITIONS, H),
             "embeddings.token_type_embeddings.weight": (2, H),
             "embeddings.LayerNorm.weight": (H,), "embeddings.LayerNorm.bias": (H,), "pooler.dense.weight": (H, H)}
    for i in range(LAYERS):
        for part, shape in (("attention.self.query", (H, H)), ("attention.self.key", (H, H)),
                            ("attention.self.value", (H, H)), ("attention.output.dense", (H, H)),
                            ("intermediate.dense", (FF, H)), ("output.dense", (H, FF))):
            names[f"encoder.layer.{i}.{part}.weight"] = shape
            names[f"encoder.layer.{i}.{part}.bias"] = (shape[0],)
        for part in ("attention.output.LayerNorm", "output.LayerNorm"):
            names[f"encoder.layer.{i}.{part}.weight"] = (H,)
            names[f"encoder.layer.{i}.{part}.bias"] = (H,)
    tensors = {"bert." + name: rng.normal(size=shape).astype(np.float32) for name, shape in names.items()}
    folder = tmp_path / "bert"
    folder.mkdir()
    save_file(tensors, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_act": "gelu", "hidden_size": H, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "intermediate_size": FF, "vocab_size": len(tokens),
        "max_position_embeddings": POSITIONS, "type_vocab_size": 2, "layer_norm_eps": 1e-12}))
    (folder / "vocab.txt").write_text("".join(t + "\n" for t in tokens), encoding="utf-8")

    checkpoint = load_checkpoint(str(folder))

    assert checkpoint.vocabulary.pieces == tokens and checkpoint.vocabulary.lowercase
    assert checkpoint.vocabulary.special_ids["cls"] == tokens.index("[CLS]")
    t = lambda name: tensors["bert." + name]  # noqa: E731
    np.testing.assert_array_equal(checkpoint.weights["embeddings.word"], t("embeddings.word_embeddings.weight"))
    np.testing.assert_array_equal(checkpoint.weights["layer.1.attention.key.kernel"],
                                  t("encoder.layer.1.attention.self.key.weight").T)
    np.testing.assert_array_equal(checkpoint.weights["layer.0.ffn.intermediate.kernel"],
                                  t("encoder.layer.0.intermediate.dense.weight").T)
    np.testing.assert_array_equal(checkpoint.weights["layer.1.output_norm.beta"],
                                  t("encoder.layer.1.output.LayerNorm.bias"))

    write_hf_bert(checkpoint, str(tmp_path / "copy"))
    again = read_hf_bert(str(tmp_path / "copy"))
    for name, values in checkpoint.weights.items():
        np.testing.assert_array_equal(again.weights[name], values, err_msg=name)


def test_e5_small_refuses_a_file_with_another_hash(tmp_path):
    path = str(tmp_path / "tiny.bin")
    write_e5s1(random_checkpoint(sentencepiece_vocabulary(TEXTS)), path)
    with pytest.raises(CheckpointError, match="does not match the pinned"):
        read_e5s1(path, expected_sha256="0" * 64)


@pytest.mark.parametrize("damage, message", [
    (lambda data: b"GGUF" + data[4:], "not an E5S1 file"),
    (lambda data: data[:len(data) // 2], "runs past the end"),
])
def test_damaged_e5s1_files_are_named_in_the_error(tmp_path, damage, message):
    good, bad = str(tmp_path / "good.bin"), str(tmp_path / "bad.bin")
    write_e5s1(random_checkpoint(sentencepiece_vocabulary(TEXTS)), good)
    with open(good, "rb") as f, open(bad, "wb") as out:
        out.write(damage(f.read()))
    with pytest.raises(CheckpointError, match=message) as raised:
        read_e5s1(bad)
    assert "bad.bin" in str(raised.value)


def test_hf_folder_with_a_missing_tensor_or_file_says_which(tmp_path):
    folder = str(tmp_path / "bert")
    write_hf_bert(random_checkpoint(wordpiece_vocabulary(TEXTS)), folder)
    weights_path = os.path.join(folder, "model.safetensors")
    tensors = load_file(weights_path)
    del tensors["encoder.layer.1.output.dense.bias"]
    save_file(tensors, weights_path)
    with pytest.raises(CheckpointError, match="'layer.1.ffn.output.bias' missing"):
        load_checkpoint(folder)
    os.remove(os.path.join(folder, "vocab.txt"))
    with pytest.raises(CheckpointError, match="vocab.txt not found"):
        load_checkpoint(folder)


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such file or folder"):
        load_checkpoint(str(tmp_path / "nothing-here"))
