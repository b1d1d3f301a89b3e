import pytest
import torch

from fewshot_tcs.tcs import ELSH, mimic_loss


def coords(n=200, r=12, seed=0):
    """Coordinates with a nonzero mean and unequal scales, as unwhitened teacher coordinates are."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, r, generator=g) * torch.linspace(3, 0.5, r) + 1


def test_mimic_loss_ignores_masked_out_coordinates():
    target = coords(8, 6)
    pred = target.clone()
    pred[:, [1, 4]] += 100.0
    mask = torch.tensor([1.0, 0, 1, 1, 0, 1])
    assert mimic_loss(pred, target, mask) == 0
    pred[:, 0] += 2.0
    torch.testing.assert_close(mimic_loss(pred, target, mask), torch.tensor(1.0))  # 4 on 1 of 4 kept
    torch.testing.assert_close(mimic_loss(pred, target), ((pred - target) ** 2).mean())
    assert mimic_loss(pred, target, torch.zeros(6)) == 0


def test_mimic_loss_gradient_reaches_pred_not_mask():
    target = coords(4, 3)
    pred = torch.zeros(4, 3, requires_grad=True)
    mask = torch.tensor([1.0, 0.0, 1.0], requires_grad=True)
    mimic_loss(pred, target, mask).backward()
    assert mask.grad is None
    assert (pred.grad[:, 1] == 0).all() and (pred.grad[:, [0, 2]] != 0).all()
    with pytest.raises(ValueError, match="equal shape"):
        mimic_loss(pred, target[:, :2])
    with pytest.raises(ValueError, match=r"mask must have shape \(3,\)"):
        mimic_loss(pred, target, torch.ones(4))


def test_elsh_bits_split_evenly_on_the_fitted_data():
    targets = coords()
    elsh = ELSH(n_bits=32, seed=0).fit(targets)
    assert elsh.hyperplanes_.shape == (12, 32) and elsh.bias_.shape == (32,)
    assert elsh.bits_.shape == (200, 32) and elsh.bits_.dtype == torch.bool
    assert (elsh.bits_.float().mean(dim=0) - 0.5).abs().max() <= 1 / 200
    torch.testing.assert_close(elsh.hyperplanes_.norm(dim=0), torch.ones(32))
    assert torch.equal(elsh.bits(targets), elsh.bits_)
    assert elsh.to("cpu") is elsh


def test_elsh_is_deterministic_for_a_seed():
    targets = coords()
    first, second = ELSH(n_bits=16, seed=3).fit(targets), ELSH(n_bits=16, seed=3).fit(targets.clone())
    assert torch.equal(first.hyperplanes_, second.hyperplanes_) and torch.equal(first.bits_, second.bits_)
    assert not torch.equal(first.hyperplanes_, ELSH(n_bits=16, seed=4).fit(targets).hyperplanes_)


def test_elsh_loss_decreases_as_pred_moves_to_target():
    targets = coords()
    elsh = ELSH(n_bits=64).fit(targets)
    start = coords(seed=1)
    losses = [float(elsh.loss(start + t * (targets - start), elsh.bits_)) for t in (0.0, 0.5, 1.0)]
    assert losses[0] > losses[1] > losses[2]


def test_elsh_mask_zeroes_dropped_coordinates_on_both_sides():
    targets = coords()
    mask = torch.ones(12)
    mask[[0, 3]] = 0
    elsh = ELSH(n_bits=16).fit(targets, mask)
    assert (elsh.bits_.float().mean(dim=0) - 0.5).abs().max() <= 1 / 200
    noisy = targets.clone()
    noisy[:, [0, 3]] = torch.randn(200, 2) * 50
    torch.testing.assert_close(elsh.loss(noisy, elsh.bits_), elsh.loss(targets, elsh.bits_))
    same_planes = ELSH(n_bits=16).fit(targets)
    assert torch.equal(elsh.hyperplanes_, same_planes.hyperplanes_)


def test_elsh_errors_are_explained():
    with pytest.raises(RuntimeError, match="not fitted"):
        ELSH().loss(torch.zeros(2, 3), torch.zeros(2, 64))
    elsh = ELSH(n_bits=8).fit(coords(10, 4))
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        elsh.loss(torch.zeros(2, 5), torch.zeros(2, 8))
    with pytest.raises(ValueError, match="bits must have shape"):
        elsh.loss(torch.zeros(2, 4), torch.zeros(2, 7))
    with pytest.raises(ValueError, match="at least 2"):
        ELSH().fit(coords(1, 4))
    with pytest.raises(ValueError, match="n_bits"):
        ELSH(n_bits=0).fit(coords(10, 4))


def test_tailored_probe_logits_read_every_item_and_view():
    from fewshot_tcs.tcs.objective import tailored_probe_logits

    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 1, 5, generator=g) * 4
    labels = torch.tensor([0, 0, 1, 1, 2, 2, -1, -1, -1])
    truth = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1, 2])
    targets = centres[truth] + 0.1 * torch.randn(9, 3, 5, generator=g)  # 3 views per item
    logits = tailored_probe_logits(targets, labels)
    assert logits.shape == (9, 3, 3)
    assert torch.equal(logits.argmax(-1), truth[:, None].expand(9, 3))  # unlabelled items get the decision too
    sharper = tailored_probe_logits(targets, labels, C=100.0)
    assert sharper.std() > tailored_probe_logits(targets, labels, C=0.01).std()  # C sets how sharp targets are


def test_tailored_probe_logits_in_the_binary_case_are_two_columns():
    from fewshot_tcs.tcs.objective import tailored_probe_logits

    targets = torch.tensor([[[0.0, 1.0]], [[0.1, 0.9]], [[1.0, 0.0]], [[0.9, 0.1]], [[0.95, 0.0]]])
    logits = tailored_probe_logits(targets, torch.tensor([0, 0, 1, 1, -1]))
    assert logits.shape == (5, 1, 2) and logits[4, 0].argmax() == 1


def test_fit_logistic_chooses_C_by_cross_validation_and_falls_back_at_one_shot():
    import numpy as np

    from fewshot_tcs.linear_probe import C_GRID, FALLBACK_C, fit_logistic

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 4)
    x = rng.normal(size=(12, 6)) + 3 * np.eye(6)[y]
    assert fit_logistic(x, y).C in C_GRID
    assert fit_logistic(x[::4], y[::4]).C == FALLBACK_C
    assert fit_logistic(x, y, C=0.5).C == 0.5
