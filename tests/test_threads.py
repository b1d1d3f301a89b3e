"""CPU threads: never more than the cores this process may use, $OMP_NUM_THREADS respected."""

import os

import pytest
import torch

from fewshot_tcs import threads


@pytest.fixture(autouse=True)
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_available_cores_is_within_the_machines():
    assert 1 <= threads.available_cores() <= (os.cpu_count() or 1)


def test_default_caps_torch_at_the_available_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    torch.set_num_threads(2)
    assert threads.configure_threads() == 1


def test_omp_num_threads_and_an_explicit_count_win(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    torch.set_num_threads(2)
    assert threads.configure_threads() == 2
    assert threads.configure_threads(1) == 1
    with pytest.raises(ValueError, match="threads must be >= 1"):
        threads.configure_threads(0)
