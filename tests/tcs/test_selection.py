import logging

import numpy as np
import pytest
import torch

from fewshot_tcs.tcs import FisherSelector, IterativeSelector, NoSelector, fisher_ranking, make_selector
from fewshot_tcs.tcs.selection import resolve_keep

INFORMATIVE = [2, 5, 7]


def task(n_per_class=100, r=10, n_classes=3, seed=0):
    """Unit-noise coordinates where only INFORMATIVE columns carry the label: there each column's class
    means are a different permutation of evenly spaced values, so every one of them separates classes."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    levels = torch.linspace(-2, 2, n_classes)
    means = torch.zeros(n_classes, r)
    for column in INFORMATIVE:
        means[:, column] = levels[torch.randperm(n_classes, generator=g)]
    return means[labels] + torch.randn(len(labels), r, generator=g), labels


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from intra-op threads, which contend badly on a loaded 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_iterative_selection_keeps_the_informative_coordinates():
    torch.manual_seed(0)
    z, y = task()
    selector = IterativeSelector(keep=3, select_every=20, drop_fraction=0.3).fit(z)
    classifier = torch.nn.Linear(z.shape[1], 3)
    optimizer = torch.optim.SGD(classifier.parameters(), lr=0.1)
    changes = 0
    for step in range(1, 201):
        batch = torch.randint(0, len(z), (32,))
        mask = selector.mask.clone().requires_grad_()
        loss = torch.nn.functional.cross_entropy(classifier(z[batch] * mask), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        selector.accumulate(mask.grad)
        changes += selector.step(step)
    assert selector.done and changes == 4  # 10 -> 7 -> 5 -> 4 -> 3
    assert selector.mask.nonzero().flatten().tolist() == INFORMATIVE
    assert selector.mask.sum() == 3


def test_iterative_drop_schedule_and_keep_edge_cases():
    selector = IterativeSelector(keep=0.25, select_every=5, drop_fraction=0.5).reset(10)
    assert selector.n_keep_ == 3
    selector.accumulate(torch.arange(10.0))
    assert not selector.step(4) and not selector.step(0)
    assert selector.step(5)
    assert selector.mask.tolist() == [0] * 5 + [1] * 5  # lowest half of the importance dropped
    assert (selector.importance == 0).all()
    with pytest.raises(RuntimeError, match="accumulate"):
        selector.step(10)
    selector.accumulate(torch.ones(10))
    assert selector.step(10) and selector.mask.sum() == 3 and selector.done  # 2 of 5, capped at keep
    selector.accumulate(torch.ones(10))
    assert not selector.step(15)

    everything = IterativeSelector(keep=12, select_every=1).reset(10)
    assert everything.done
    everything.accumulate(torch.ones(10))
    assert not everything.step(1) and everything.mask.sum() == 10

    one_at_a_time = IterativeSelector(keep=1, select_every=1, drop_fraction=0.01).reset(3)
    for step in (1, 2):
        one_at_a_time.accumulate(torch.ones(3))
        assert one_at_a_time.step(step)
    assert one_at_a_time.mask.sum() == 1 and one_at_a_time.done


def test_iterative_errors_are_explained():
    with pytest.raises(RuntimeError, match="reset"):
        IterativeSelector(keep=2).accumulate(torch.ones(4))
    selector = IterativeSelector(keep=2).reset(4)
    with pytest.raises(ValueError, match="requires_grad"):
        selector.accumulate(None)
    with pytest.raises(ValueError, match=r"expected \(4,\)"):
        selector.accumulate(torch.ones(5))
    for keep in (0, 1.5, -0.5, "3"):
        with pytest.raises(ValueError, match="keep"):
            IterativeSelector(keep=keep).reset(4)


def test_fisher_finds_the_informative_coordinates():
    z, y = task(n_per_class=5)
    scores = fisher_ranking(z, y)
    assert scores.shape == (10,)
    assert sorted(scores.topk(3).indices.tolist()) == INFORMATIVE
    selector = FisherSelector(keep=3).fit(z, y.numpy() + 10)
    assert selector.mask.nonzero().flatten().tolist() == INFORMATIVE
    assert selector.done and not selector.step(50)


def test_fisher_one_shot_falls_back_to_between_class_variance():
    z, y = task(n_per_class=1, n_classes=5)
    scores = fisher_ranking(z, y)
    assert torch.isfinite(scores).all()
    torch.testing.assert_close(scores, z.var(dim=0, unbiased=False))
    assert FisherSelector(keep=2).fit(z, y).mask.sum() == 2


def test_fisher_survives_coordinates_constant_within_classes():
    z, y = task(n_per_class=4)
    z[:, 0] = y.float()  # zero within-class variance, perfectly discriminative
    scores = fisher_ranking(z, y)
    assert torch.isfinite(scores).all() and scores.argmax() == 0
    with pytest.raises(ValueError, match="two classes"):
        fisher_ranking(z, torch.zeros(len(z)))
    with pytest.raises(ValueError, match="labels"):
        fisher_ranking(z, y[:-1])


def test_factory():
    z, y = task(n_per_class=3)
    assert isinstance(make_selector("iterative", 3, select_every=10), IterativeSelector)
    assert make_selector("iterative", 3, select_every=10).select_every == 10
    fisher = make_selector("fisher", 0.5, select_every=10, drop_fraction=0.2).fit(z, y)
    assert isinstance(fisher, FisherSelector) and fisher.mask.sum() == 5
    none = make_selector("none").fit(z)
    assert isinstance(none, NoSelector) and none.mask.tolist() == [1.0] * 10 and none.done
    none.accumulate(torch.ones(10))
    assert not none.step(50)
    with pytest.raises(ValueError, match="unknown selection 'greedy'"):
        make_selector("greedy", 3)
    with pytest.raises(ValueError, match="needs keep"):
        make_selector("fisher")
    with pytest.raises(ValueError, match="unknown selector options"):
        make_selector("iterative", 3, every=5)


def test_keep_accepts_numpy_integers():
    assert IterativeSelector(keep=np.int64(4)).reset(10).n_keep_ == 4


def test_a_fractional_keep_never_drops_below_one_coordinate_per_class_mean_direction(caplog):
    assert resolve_keep(0.5, 24, n_classes=5) == 12  # the floor of 4 does not bind
    with caplog.at_level(logging.INFO, logger="fewshot_tcs.tcs.selection"):
        assert resolve_keep(0.5, 4, n_classes=5) == 4  # 5-way 1-shot, support basis: r = 4
    assert "keeping 4" in caplog.text
    assert resolve_keep(0.5, 3, n_classes=5) == 3  # capped at r
    assert resolve_keep(2, 4, n_classes=5) == 2  # a count is taken as given
    assert resolve_keep(0.5, 4) == 2


def test_selectors_floor_keep_by_the_labelled_classes():
    z = torch.randn(15, 4)
    y = torch.tensor([0, 1, 2, 3, 4] + [-1] * 10)  # 1-shot labels, then unlabelled rows
    assert IterativeSelector(keep=0.5).fit(z, y).n_keep_ == 4
    assert IterativeSelector(keep=0.5).fit(z).n_keep_ == 2
    fisher = FisherSelector(keep=0.5).fit(z[:5], y[:5])
    assert fisher.n_keep_ == 4 and fisher.mask.sum() == 4
