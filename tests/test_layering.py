"""The dependency graph of the README's Layout section, checked on the source: a violation fails here.

    data  ←  pipeline  →  components  →  models
                 ↘            ↘            ↘
                   serving's TF-free contracts (layout, audit_log)
    serving, gateway, monitoring, edge  ↛  pipeline, components, models, tfx
    gateway, monitoring, edge           ↛  tensorflow (not even through a first-party module they import)
    benchmarks                          ↛  tests

Imports are read with `ast` (module level and inside functions alike), so a lazy import counts too. First-party
imports are followed transitively for the TensorFlow-free packages.
"""

from __future__ import annotations

import ast
import functools
import os
import sys
from typing import Dict, FrozenSet, Iterator, List, Set, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST_PARTY = ("data", "pipeline", "components", "models", "serving", "gateway", "monitoring", "edge")
TRAINING_STACK = ("tfx", "apache_beam", "tensorflow_transform", "tensorflow_model_analysis",
                  "tensorflow_data_validation", "tensorflow_model_optimization", "pipeline", "components", "models")

# package -> top-level modules it must never import (directly).
FORBIDDEN: Dict[str, Tuple[str, ...]] = {
    "data": ("pipeline", "components", "models", "serving", "gateway", "monitoring", "edge", "tfx"),
    "models": ("pipeline", "components", "gateway", "monitoring", "edge"),
    "components": ("pipeline", "gateway", "monitoring", "edge"),
    "serving": TRAINING_STACK + ("gateway", "edge"),
    "gateway": TRAINING_STACK + ("tensorflow", "tensorflow_serving", "tensorflow_text"),
    "monitoring": TRAINING_STACK + ("tensorflow", "tensorflow_serving", "tensorflow_text", "gateway"),
    "edge": TRAINING_STACK + ("tensorflow", "tensorflow_serving", "tensorflow_text", "serving", "gateway"),
    "benchmarks": ("tests",),
}
# Packages whose whole first-party import closure must stay free of TensorFlow (their hosts do not install it).
TENSORFLOW_FREE = ("gateway", "monitoring", "edge")
TENSORFLOW = ("tensorflow", "tensorflow_serving", "tensorflow_text", "tf_keras", "keras")


def _python_files(package: str) -> Iterator[str]:
    for folder, _, names in os.walk(os.path.join(ROOT, package)):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _module_name(path: str) -> str:
    relative = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
    return relative[:-len(".__init__")] if relative.endswith(".__init__") else relative


@functools.lru_cache(maxsize=None)
def _imports(path: str) -> FrozenSet[str]:
    """Dotted names this file imports (relative imports resolved against its package)."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=path)
    package = _module_name(path).rsplit(".", 1)[0] if not path.endswith("__init__.py") else _module_name(path)
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(name for name in names if name)


def _sys_path_edits(path: str) -> List[str]:
    """String literals passed to sys.path.insert/append (how a script would reach into tests/)."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("insert", "append") and ast.unparse(node.func.value) == "sys.path":
            found += [c.value for arg in node.args for c in ast.walk(arg)
                      if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return found


def _file_of(module: str) -> str:
    """The first-party file a dotted name resolves to ('' when none: an attribute, not a module)."""
    parts = module.split(".")
    while parts:
        base = os.path.join(ROOT, *parts)
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
        parts.pop()
    return ""


def _closure(package: str) -> Dict[str, str]:
    """Every module reached from `package` through first-party imports → the first file that imports it."""
    seen: Dict[str, str] = {}
    queue = list(_python_files(package))
    visited: Set[str] = set()
    while queue:
        path = queue.pop()
        if path in visited:
            continue
        visited.add(path)
        for name in _imports(path):
            seen.setdefault(name, os.path.relpath(path, ROOT))
            if name.split(".")[0] in FIRST_PARTY:
                target = _file_of(name)
                if target and target not in visited:
                    queue.append(target)
    return seen


def _present(packages) -> List[str]:
    return [p for p in packages if os.path.isdir(os.path.join(ROOT, p))]


@pytest.mark.parametrize("package", _present(FORBIDDEN))
def test_package_imports_only_what_its_layer_may(package):
    violations = sorted(
        f"{os.path.relpath(path, ROOT)} imports {name}"
        for path in _python_files(package) for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN[package])
    assert not violations, "layering violated:\n" + "\n".join(violations)


@pytest.mark.parametrize("package", _present(TENSORFLOW_FREE))
def test_tensorflow_free_packages_reach_no_tensorflow(package):
    reached = sorted(f"{name} (imported by {where})" for name, where in _closure(package).items()
                     if name.split(".")[0] in TENSORFLOW)
    assert not reached, f"{package} reaches TensorFlow:\n" + "\n".join(reached)


def test_benchmarks_do_not_put_tests_on_the_path():
    edits = sorted(f"{os.path.relpath(path, ROOT)}: sys.path gets {value!r}"
                   for path in _python_files("benchmarks") for value in _sys_path_edits(path) if "tests" in value)
    assert not edits, "\n".join(edits)


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """The AST reader finds lazy and relative imports, so the tests above cannot pass by reading nothing."""
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    import tfx.v1\n    from pipeline import configs\n", encoding="utf-8")
    assert {"tfx.v1", "pipeline", "pipeline.configs"} <= _imports(str(source))
    assert _imports(os.path.join(ROOT, "serving", "cli.py")), "serving/cli.py imports nothing?"
    assert sys.modules[__name__]  # the module itself is importable under pytest's rootdir
