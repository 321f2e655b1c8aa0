"""EdgeModel: one exported artefact (ONNX or TFLite) plus its tokenizer, classifying raw text.

ONNX runs on onnxruntime's CPU provider; TFLite on `tflite_runtime` (or `ai_edge_litert`, its successor, when
that is what is installed). Both take the ids of `edge.tokenizer.PieceTokenizer`.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence

import numpy as np

from edge import manifest as contract
from edge.tokenizer import PieceTokenizer


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One text's answer: the top label, its probability and every label's probability."""

    label: str
    probability: float
    probabilities: List[float]


class OnnxBackend:
    """An ONNX artefact on onnxruntime (CPU)."""

    def __init__(self, path: str, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.log_severity_level = 3
        # No busy-waiting between ops: on a shared or small device spinning threads steal the CPU they wait for.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._output = self._session.get_outputs()[0].name

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {contract.INPUT_IDS: ids, contract.INPUT_MASK: mask}
        return self._session.run([self._output], feeds)[0]


class TfliteBackend:
    """A TFLite artefact on the TFLite interpreter; inputs are resized to each batch's shape."""

    def __init__(self, path: str, threads: int):
        self._interpreter = _tflite_interpreter_class()(model_path=path, num_threads=threads)
        inputs = self._interpreter.get_input_details()
        self._inputs = {key: next(d["index"] for d in inputs if key in d["name"])
                        for key in (contract.INPUT_IDS, contract.INPUT_MASK)}
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._shape: tuple = ()

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if ids.shape != self._shape:
            for index in self._inputs.values():
                self._interpreter.resize_tensor_input(index, ids.shape, strict=False)
            self._interpreter.allocate_tensors()
            self._shape = ids.shape
        self._interpreter.set_tensor(self._inputs[contract.INPUT_IDS], ids)
        self._interpreter.set_tensor(self._inputs[contract.INPUT_MASK], mask)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._output))


def _tflite_interpreter_class():
    try:
        from tflite_runtime.interpreter import Interpreter
    except ImportError:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise contract.EdgeModelError("a TFLite artefact needs tflite-runtime (pip install "
                                          "'nlp2prod[edge]')") from None
    return Interpreter


_BACKENDS = {contract.ONNX_RUNTIME: OnnxBackend, contract.TFLITE_RUNTIME: TfliteBackend}


def load_backend(path: str, runtime: str, threads: int = 2):
    """The callable (ids, mask) → probabilities for an artefact file of the given runtime."""
    if runtime not in _BACKENDS:
        raise contract.EdgeModelError(f"{path}: unknown runtime {runtime!r}")
    try:
        return _BACKENDS[runtime](path, threads)
    except contract.EdgeModelError:
        raise
    except Exception as error:  # the runtimes raise their own types for a file they cannot load
        raise contract.EdgeModelError(f"{path}: {runtime} cannot load it: {error}") from None


class EdgeModel:
    """A loaded export: tokenizer + one artefact. Build it with `EdgeModel.load`."""

    def __init__(self, name: str, labels: Sequence[str], tokenizer: PieceTokenizer, backend, batch_size: int = 32):
        self.name, self.labels = name, list(labels)
        self._tokenizer, self._backend, self._batch_size = tokenizer, backend, batch_size

    @classmethod
    def load(cls, path: str, artefact: Optional[str] = None, threads: int = 2) -> "EdgeModel":
        """Loads an export folder or a pushed version (its assets.extra/exports).

        Args:
          path: the export folder, or a pushed version dir.
          artefact: one of `edge.manifest.ARTEFACTS`; None picks the first shipped one in PREFERENCE order.
          threads: intra-op threads of the runtime.

        Raises:
          EdgeModelError: no valid manifest, no such shipped artefact, or a file that fails its checksum.
        """
        folder = contract.export_folder(path)
        manifest = contract.read_manifest(folder)
        name = contract.choose_artefact(manifest, artefact)
        entry = manifest["artefacts"][name]
        tokenizer_entry = manifest["tokenizer"]
        with open(contract.verified_file(folder, tokenizer_entry, "tokenizer"), "rb") as handle:
            tokenizer = PieceTokenizer(handle.read(), int(tokenizer_entry["max_seq_length"]), tokenizer_entry)
        backend = load_backend(contract.verified_file(folder, entry, name), entry["runtime"], threads)
        return cls(name, manifest["labels"], tokenizer, backend)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [N, K] class probabilities of raw texts, in their order.

        Texts are batched by packed length (shortest first), so a batch pads few positions: on short, varied
        texts this computes about a third of the positions batches in arrival order would.
        """
        order, batches = self._tokenizer.length_ordered_batches(texts, self._batch_size)
        chunks = [self._backend(ids, mask) for ids, mask in batches]
        if not chunks:
            return np.zeros((0, len(self.labels)), np.float32)
        in_length_order = np.concatenate(chunks)
        result = np.empty_like(in_length_order)
        result[order] = in_length_order
        return result

    def predict(self, texts: Sequence[str]) -> List[Prediction]:
        """The top label and probabilities of each text."""
        result = []
        for row in self.probabilities(list(texts)):
            top = int(np.argmax(row))
            result.append(Prediction(self.labels[top], float(row[top]), [float(p) for p in row]))
        return result

