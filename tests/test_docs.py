"""Every Python block of the README and the getting-started page runs as written, in order, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "docs/getting-started.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: str) -> list[str]:
    return BLOCK.findall((ROOT / page).read_text())


def test_the_pages_have_python_blocks():
    for page in PAGES:
        assert python_blocks(page), f"{page} has no ```python block to check"


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run_as_written(page, omniglot_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    for n, block in enumerate(python_blocks(page)):
        try:
            exec(compile(block, f"{page}:block{n}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{page}, Python block {n} failed:\n{block}") from error
    assert capsys.readouterr().out.strip(), f"{page}'s blocks printed nothing"
