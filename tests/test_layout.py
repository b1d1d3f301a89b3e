"""The house: one registry shape, the old import paths of moved modules, imports that run only down the stages."""

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

import fewshot_tcs
from fewshot_tcs import _moved

PACKAGE = Path(fewshot_tcs.__file__).parent
# A module may import from its own stage and the stages listed after it, never from one listed before it.
STAGES = ["apps", "evaluation", "methods", "tcs", "features", "episodes", "backbones", "data"]


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_old_import_paths_work_with_a_deprecation_warning(old):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {_moved.MOVED[old]}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(_moved.MOVED[old])


def test_python_dash_m_cli_keeps_working():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        from fewshot_tcs.cli import main

    assert main is importlib.import_module("fewshot_tcs.apps.cli").main


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def test_imports_run_only_down_the_stages():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        here = _stage(module)
        if here is None:
            continue
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fewshot_tcs"):
                target = node.module
            else:
                continue
            there = _stage(target)
            if there is not None and STAGES.index(there) < STAGES.index(here):
                upward.append(f"{module} imports {target}")
    assert not upward, upward


def test_one_registry_shape():
    from fewshot_tcs.backbones import registry as backbones
    from fewshot_tcs.data import SOURCES, register_source
    from fewshot_tcs.methods import METHODS, ProtoNet, register_method
    from fewshot_tcs.registry import Registry

    assert all(isinstance(r, Registry) for r in (SOURCES, METHODS, backbones._REGISTRY))

    class Nearest(ProtoNet):
        name = "nearest-test"

    register_method(Nearest)
    try:
        assert isinstance(fewshot_tcs.create_method("nearest-test"), Nearest)
        with pytest.raises(ValueError, match="already registered"):
            register_method(Nearest)
        with pytest.raises(ValueError, match=r"unknown method 'nearest-tst'. Did you mean \['nearest-test'\]"):
            fewshot_tcs.create_method("nearest-tst")
    finally:
        METHODS._entries.pop("nearest-test")
    register_source("tiny-test", lambda split=None, **kw: "made")
    try:
        assert fewshot_tcs.load_source("tiny-test") == "made" and "tiny-test" in fewshot_tcs.list_sources()
    finally:
        SOURCES._entries.pop("tiny-test")
