"""Checks on what requests carry and what classification signatures return, shared by every call of the data plane.

Pure functions on numpy arrays; each raises `InvalidArgument` with a message that says where the problem is.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from serving.errors import InvalidArgument


def shape_text(shape: tuple) -> str:
    return "[" + ",".join("?" if size is None else str(size) for size in shape) + "]"


def check_degenerate_shape(shape: Tuple[int, ...], declared: Optional[Tuple[Optional[int], ...]], where: str) -> None:
    """Refuses a scalar or a tensor with an empty dimension that the signature's shape does not allow.

    Any other shape goes to the graph as sent, as TF Serving feeds it. These two are refused first because
    kernels that index into them abort the whole process instead of failing the request (TF Text's tokenizers
    do, on a scalar and on a [1, 0] string tensor), and no request may take the server down.
    """
    if declared is None or (len(shape) == len(declared) and all(d is None or d == s for s, d in zip(shape, declared))):
        return
    if not shape or 0 in shape:
        raise InvalidArgument(f"{where} expects shape {shape_text(declared)}, got "
                              f"{'a scalar' if not shape else list(shape)}; a scalar or an empty dimension is only "
                              "accepted where the signature's shape has one")


def check_utf8(array: np.ndarray, where: str) -> None:
    # One C-level pass for the whole batch: a NUL byte can never sit inside a multi-byte sequence, so the joined
    # bytes decode exactly when every element does. The loop below only finds and names the bad element.
    try:
        b"\0".join(array.reshape(-1).tolist()).decode("utf-8")
        return
    except (UnicodeDecodeError, TypeError):
        pass
    for index, value in enumerate(array.reshape(-1)):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidArgument(f"{where}: element {index} is not valid UTF-8 (byte 0x{value[error.start]:02x} "
                                  f"at offset {error.start})") from None
        except AttributeError:
            raise InvalidArgument(f"{where}: element {index} is not a byte string") from None


def classifications(classes: Optional[np.ndarray], scores: Optional[np.ndarray], count: int,
                     label: str) -> List[List[Tuple[str, float]]]:
    reference = classes if classes is not None else scores
    if reference.ndim != 2 or reference.shape[0] != count:
        raise InvalidArgument(f"Expected Tensor shape: [batch_size num_classes] but got {list(reference.shape)} "
                              f"({label})")
    if classes is not None and scores is not None and classes.shape != scores.shape:
        raise InvalidArgument(f"Tensors class and score should match in dim_size(1). Got {classes.shape[1]} vs. "
                              f"{scores.shape[1]} ({label})")
    width = reference.shape[1]
    return [[(classes[i, j].decode("utf-8", "replace") if classes is not None else "",
              float(scores[i, j]) if scores is not None else 0.0) for j in range(width)] for i in range(count)]
