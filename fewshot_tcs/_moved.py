"""Modules that moved in 0.1 keep their old import paths for one release, with a DeprecationWarning: one
table, and one finder that serves each old name as its new module."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import warnings

MOVED = {
    "fewshot_tcs.tcs.teacher": "fewshot_tcs.features.teachers",
    "fewshot_tcs.views": "fewshot_tcs.features.views",
    "fewshot_tcs.prototype": "fewshot_tcs.apps.folder_fit",
    "fewshot_tcs.demo": "fewshot_tcs.apps.demo",
    "fewshot_tcs.evaluate": "fewshot_tcs.evaluation.evaluate",
    "fewshot_tcs.benchmark": "fewshot_tcs.evaluation.benchmark",
    "fewshot_tcs.results": "fewshot_tcs.evaluation.results",
    "fewshot_tcs.report": "fewshot_tcs.evaluation.report",
    "fewshot_tcs.methods.tcs_methods": "fewshot_tcs.methods",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        warnings.warn(
            f"{spec.name} moved to {self.new}; the old path will be removed in 0.2", DeprecationWarning, stacklevel=2
        )
        return importlib.import_module(self.new)

    def exec_module(self, module) -> None:
        pass  # the new module is already imported


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds the old names (after every other finder, so nothing real is ever shadowed)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, _Alias(MOVED[fullname]))
        return None
