"""TF Serving REST predict bodies → the input and output tensors a request log records (for the gateway,
which sees JSON, not tensors).

Row format: {"instances": [v, ...]} or [{"alias": v, ...}, ...] → {"predictions": [...]} (a single named output
drops its name: `single_output` names it). Columnar: {"inputs": v | {"alias": [...]}} → {"outputs": ...}.
Binary values {"b64": "..."} are decoded. A single unnamed input is logged under `default_input` ("text").
"""

from __future__ import annotations

import base64
from typing import Dict, List, Mapping, Tuple

Tensors = Dict[str, list]


class RestPayloadError(ValueError):
    """A body that is not a TF Serving REST predict request or response; the message says why."""


def _value(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _rows_to_columns(rows: List, default: str) -> Tensors:
    if rows and all(isinstance(row, dict) and "b64" not in row for row in rows):
        names = list(rows[0])
        if any(list(row) != names for row in rows):
            raise RestPayloadError("instances name different inputs")
        return {name: [_value(row[name]) for row in rows] for name in names}
    return {default: [_value(row) for row in rows]}


def request_tensors(body: Mapping, default_input: str = "text") -> Tensors:
    """The input tensors of a REST predict request body.

    Raises:
      RestPayloadError: neither "instances" nor "inputs", or mismatched instances.
    """
    if "instances" in body:
        return _rows_to_columns(list(body["instances"]), default_input)
    if "inputs" in body:
        inputs = body["inputs"]
        if isinstance(inputs, dict) and "b64" not in inputs:
            return {name: _value(value) for name, value in inputs.items()}
        return {default_input: _value(inputs)}
    raise RestPayloadError('a predict request has "instances" or "inputs"')


def response_tensors(answer: Mapping, single_output: str = "") -> Tensors:
    """The output tensors of a REST predict response.

    Raises:
      RestPayloadError: neither "predictions" nor "outputs", or unnamed outputs without `single_output`.
    """
    if "predictions" in answer:
        rows = list(answer["predictions"])
        if rows and all(isinstance(row, dict) and "b64" not in row for row in rows):
            return _rows_to_columns(rows, single_output)
        values = answer["predictions"]
    elif "outputs" in answer:
        outputs = answer["outputs"]
        if isinstance(outputs, dict) and "b64" not in outputs:
            return {name: _value(value) for name, value in outputs.items()}
        values = outputs
    else:
        raise RestPayloadError('a predict response has "predictions" or "outputs"')
    if not single_output:
        raise RestPayloadError("the response's only output is unnamed: say which output it is")
    return {single_output: _value(values)}


def predict_tensors(body: Mapping, answer: Mapping, single_output: str = "") -> Tuple[Tensors, Tensors]:
    """(inputs, outputs) of one REST predict call, ready for `RequestLogger.log_predict`."""
    return request_tensors(body), response_tensors(answer, single_output)
