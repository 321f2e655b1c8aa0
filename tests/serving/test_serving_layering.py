"""The protocol adapters go through the protocol-neutral data plane, never around it to the model store."""

import ast
import os

import pytest

SERVING = os.path.join(os.path.dirname(__file__), "..", "..", "serving")


@pytest.mark.parametrize("module", ["rest.py", "grpc_service.py"])
def test_adapters_do_not_reach_into_the_model_store(module):
    with open(os.path.join(SERVING, module), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    reaching = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "store"]
    imports = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and node.module == "serving.model_store"]
    assert not reaching and not imports, f"serving/{module} uses the model store at lines {reaching + imports}"
