import copy

import numpy as np
import pytest
import torch
from PIL import Image

from fewshot_tcs.features.views import ViewTransform, centre_square
from fewshot_tcs.tcs.objective import CrossEntropyObjective, TCSObjective, cross_entropy_part
from fewshot_tcs.tcs.student import Student, distance_scale
from fewshot_tcs.tcs.trainer import TrainConfig, ViewBank, train_student


class TinyBackbone(torch.nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, dim, 3, stride=2)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


def make_student(r=6, classes=3):
    torch.manual_seed(0)
    return Student(TinyBackbone(), 16, r, classes)


def test_fold_gives_identical_logits():
    student = make_student()
    student.mask[[1, 4]] = 0
    x = torch.randn(5, 3, 12, 12)
    folded = student.fold()
    torch.testing.assert_close(folded(x), student(x), rtol=1e-5, atol=1e-5)


def test_prototype_head_is_nearest_class_mean():
    student = make_student()
    prototypes = torch.randn(3, 6)
    student.set_prototypes(prototypes)
    z = torch.randn(20, 6)
    nearest = torch.cdist(z, prototypes).argmin(1)
    assert torch.equal(student.head(z).argmax(1), nearest)


def test_prototype_head_scales_the_squared_distances():
    student = make_student()
    prototypes, z = torch.randn(3, 6), torch.randn(20, 6)
    student.set_prototypes(prototypes, scale=7.0)
    offset = student.head(z) + 7.0 * torch.cdist(z, prototypes) ** 2  # the same for every class
    torch.testing.assert_close(offset, offset[:, :1].expand_as(offset), rtol=1e-4, atol=1e-3)


def test_distance_scale_makes_the_prototype_head_blind_to_the_feature_scale():
    z = torch.randn(30, 6, generator=torch.Generator().manual_seed(0))
    probabilities = []
    for factor in (1e-2, 1.0, 30.0):
        student = make_student()
        scaled = z * factor
        student.set_prototypes(scaled[:3], distance_scale(scaled))
        probabilities.append(torch.softmax(student.head(scaled), dim=1))
    for other in probabilities[1:]:
        torch.testing.assert_close(other, probabilities[0], rtol=1e-3, atol=1e-4)


def test_no_labelled_item_still_reaches_every_parameter():
    """Under DDP every parameter must take part in each step, also on a rank without labelled items."""
    student = make_student()
    coords = student.coords(torch.randn(4, 3, 12, 12))
    cross_entropy_part(student, coords, torch.arange(4), torch.full((4,), -1), student.mask).backward()
    assert all(p.grad is not None for p in student.parameters())


def images(n=12, size=16):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)) for _ in range(n)]


def test_view_bank_renders_the_recorded_views():
    pics = images(4)
    params = np.random.default_rng(1).uniform(0.1, 0.5, (4, 2, 5)).astype(np.float32)
    bank = ViewBank.build(pics, [str(i) for i in range(4)], 8, (0.5,) * 3, (0.5,) * 3, view_params=params)
    assert bank.bank.shape == (4, 3, 3, 8, 8)
    expected = ViewTransform((8, 8), (0.5,) * 3, (0.5,) * 3)(pics[2], params[2, 1])
    got = bank.batch(torch.tensor([2]), torch.tensor([2]), torch.device("cpu"))[0]
    torch.testing.assert_close(got, expected, atol=1 / 255 / 0.5 + 1e-6, rtol=0)
    clean = ViewTransform((8, 8), (0.5,) * 3, (0.5,) * 3)(pics[0], centre_square(*pics[0].size))
    torch.testing.assert_close(
        bank.batch(torch.tensor([0]), torch.tensor([0]), torch.device("cpu"))[0],
        clean,
        atol=1 / 255 / 0.5 + 1e-6,
        rtol=0,
    )


def test_training_lowers_the_loss():
    pics = images(12)
    bank = ViewBank.build(pics, [str(i) for i in range(12)], 12, (0.5,) * 3, (0.5,) * 3, views=2)
    labels = torch.tensor([0, 1, 2] * 2 + [-1] * 6)
    # Learnable targets: a fixed linear map of each image's mean colour.
    colours = torch.tensor(np.stack([np.asarray(p, np.float32).mean((0, 1)) / 255 for p in pics]))
    targets = (colours @ torch.randn(3, 6, generator=torch.Generator().manual_seed(0)))[:, None]
    student = make_student()
    objective = TCSObjective(targets, labels, lambda_mimic=1.0)
    config = TrainConfig(steps=80, batch_size=6, lr=1e-2, head_lr=1e-2)
    log = train_student(student, bank, labels, objective, config, quiet=True)
    assert log.steps == 80
    assert np.mean(log.losses[-10:]) < 0.5 * np.mean(log.losses[:5])
    assert set(log.parts[0]) == {"ce", "mimic"}


def test_training_stops_with_a_clear_error_when_the_loss_turns_nan():
    pics = images(6)
    bank = ViewBank.build(pics, [str(i) for i in range(6)], 12, (0.5,) * 3, (0.5,) * 3, views=1)
    labels = torch.tensor([0, 1, 2] * 2)
    targets = torch.randn(6, 1, 6)
    targets[2] = float("nan")  # a target that poisons the mimic term as soon as item 2 is drawn
    objective = TCSObjective(targets, labels, lambda_mimic=1.0, normalize_mimic=False)
    config = TrainConfig(steps=5, batch_size=6)
    with pytest.raises(ValueError, match=r"loss became nan at step 1 \(ce .*mimic nan\).*learning rate"):
        train_student(make_student(), bank, labels, objective, config, quiet=True)


def test_normalised_mimic_is_the_error_relative_to_the_targets_variance():
    """Predicting the mean target scores 1 whatever the scale of the teacher's coordinates."""
    targets = torch.randn(40, 1, 6, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1] * 5 + [-1] * 30)

    class MeanStudent(torch.nn.Module):
        def __init__(self, mean):
            super().__init__()
            self.mean, self.mask = mean, torch.ones(6)

        def coords(self, images):
            return self.mean.expand(len(images), -1)

        def head(self, coords, mask):
            return coords[:, :2] * mask[:2]

    items, views = torch.arange(40), torch.zeros(40, dtype=torch.long)
    n = len(items)
    for scale in (1e-2, 1.0, 30.0):
        scaled = targets * scale
        student = MeanStudent(scaled[:, 0].mean(0))
        _, parts = TCSObjective(scaled, labels)(student, torch.zeros(n, 3, 4, 4), items, views, torch.ones(6))
        assert abs(float(parts["mimic"]) - (n - 1) / n) < 1e-4, scale  # var() divides by n - 1
        _, raw = TCSObjective(scaled, labels, normalize_mimic=False)(
            student, torch.zeros(n, 3, 4, 4), items, views, torch.ones(6)
        )
        torch.testing.assert_close(raw["mimic"], parts["mimic"] * scaled[:, 0].var(0).mean())


class NormalisedBackbone(torch.nn.Module):
    """Batch norm straight on the images: its running mean is the per-channel mean of what it saw."""

    def __init__(self):
        super().__init__()
        self.norm = torch.nn.BatchNorm2d(3)
        self.conv = torch.nn.Conv2d(3, 16, 3, stride=2)

    def forward(self, x):
        return self.conv(self.norm(x)).mean(dim=(2, 3))


@pytest.mark.parametrize("recalibrate", [True, False])
def test_batch_norm_statistics_are_measured_on_the_whole_bank_after_training(recalibrate):
    pics = images(12)
    bank = ViewBank.build(pics, [str(i) for i in range(12)], 12, (0.5,) * 3, (0.5,) * 3, views=2)
    labels = torch.tensor([0, 1, 2] * 2 + [-1] * 6)
    torch.manual_seed(0)
    student = Student(NormalisedBackbone(), 16, 3, 3)
    config = TrainConfig(steps=5, batch_size=4, lr=1e-2, recalibrate_bn=recalibrate)
    train_student(student, bank, labels, CrossEntropyObjective(labels), config, quiet=True)
    everything = bank.batch(torch.arange(12).repeat_interleave(3), torch.arange(3).repeat(12), torch.device("cpu"))
    measured = everything.mean(dim=(0, 2, 3))
    close = torch.allclose(student.backbone.norm.running_mean, measured, atol=1e-5)
    assert close == recalibrate
    assert not student.training and student.backbone.norm.momentum == 0.1


def test_kept_batch_norm_statistics_stay_as_they_were_while_their_scales_train():
    pics = images(12)
    bank = ViewBank.build(pics, [str(i) for i in range(12)], 12, (0.5,) * 3, (0.5,) * 3, views=2)
    labels = torch.tensor([0, 1, 2] * 2 + [-1] * 6)
    torch.manual_seed(0)
    student = Student(NormalisedBackbone(), 16, 3, 3)
    norm = student.backbone.norm
    with torch.no_grad():
        norm.running_mean.fill_(0.25)  # "pretrained" statistics, unlike the bank's
    before = {k: v.clone() for k, v in norm.state_dict().items()}
    config = TrainConfig(steps=5, batch_size=4, lr=1e-2, recalibrate_bn=True, keep_bn_stats=True)
    train_student(student, bank, labels, CrossEntropyObjective(labels), config, quiet=True)
    torch.testing.assert_close(norm.running_mean, before["running_mean"])  # neither training nor recalibration
    torch.testing.assert_close(norm.running_var, before["running_var"])
    assert not torch.equal(norm.weight, before["weight"]), "the scales still train"


@pytest.mark.parametrize(("recalibrate", "keep"), [(True, True), (False, True), (False, False), (True, False)])
def test_training_without_steps_leaves_the_network_unchanged_exactly_when_the_config_says(recalibrate, keep):
    pics = images(12)
    bank = ViewBank.build(pics, [str(i) for i in range(12)], 12, (0.5,) * 3, (0.5,) * 3, views=2)
    labels = torch.tensor([0, 1, 2] * 2 + [-1] * 6)
    torch.manual_seed(0)
    student = Student(NormalisedBackbone(), 16, 3, 3)
    student.eval()
    before = {k: v.clone() for k, v in student.state_dict().items()}
    config = TrainConfig(steps=0, recalibrate_bn=recalibrate, keep_bn_stats=keep)
    train_student(student, bank, labels, CrossEntropyObjective(labels), config, quiet=True)
    after = student.state_dict()
    same = all(torch.equal(before[k], after[k]) for k in before if not k.endswith("num_batches_tracked"))
    measured = recalibrate and not keep
    assert same == config.leaves_network_unchanged == (not measured)


@pytest.mark.parametrize("arch", ["mobilenetv2_100", "timm:resnet10t"])
def test_split_backbone_is_the_same_network_in_two_parts(arch):
    from fewshot_tcs.backbones import create_backbone
    from fewshot_tcs.tcs.student import split_backbone

    body = create_backbone(arch, pretrained=False, seed=0).eval()
    frozen, tail = split_backbone(body, 2)
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(tail.eval()(frozen(x)), body(x), rtol=1e-4, atol=1e-5)
    assert not any(p.requires_grad for p in frozen.parameters())
    assert all(p.requires_grad for p in tail.parameters())
    assert split_backbone(body, None) is None
    assert split_backbone(TinyBackbone(), 2) is None  # another shape trains whole


def test_a_student_with_a_frozen_part_trains_only_its_tail_on_cached_inputs():
    from fewshot_tcs.backbones import create_backbone
    from fewshot_tcs.tcs.student import split_backbone

    body = create_backbone("mobilenetv2_100", pretrained=False, seed=0)
    frozen, tail = split_backbone(body, 1)
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    pics = [Image.fromarray(np.random.default_rng(i).integers(0, 255, (20, 20, 3), dtype=np.uint8)) for i in range(6)]
    bank = ViewBank.build(pics, [str(i) for i in range(6)], 32, (0.5,) * 3, (0.5,) * 3, views=2)
    bank.encode(frozen, torch.device("cpu"))
    assert bank.encoded.shape[:2] == (6, 3) and bank.encoded.dtype == torch.float16
    student = Student(body, body.feature_dim, 4, 2, body=tail)
    labels = torch.tensor([0, 1, 0, 1, -1, -1])
    tail_before = [p.clone() for p in tail.parameters()]
    train_student(student, bank, labels, CrossEntropyObjective(labels), TrainConfig(steps=3, batch_size=4), quiet=True)
    for key, value in frozen.state_dict().items():  # weights and batch-norm statistics untouched
        torch.testing.assert_close(value, before[key])
    assert any(not torch.equal(a, b) for a, b in zip(tail_before, tail.parameters(), strict=True))
    x = bank.pixels(torch.arange(2), torch.zeros(2, dtype=torch.long), torch.device("cpu"))
    torch.testing.assert_close(student.eval().coords(frozen(x)), student.projector(body(x)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_weight_interpolation_moves_the_trained_weights_back_towards_where_they_started(alpha):
    pics = images(12)
    bank = ViewBank.build(pics, [str(i) for i in range(12)], 12, (0.5,) * 3, (0.5,) * 3, views=2)
    labels = torch.tensor([0, 1, 2] * 2 + [-1] * 6)
    initial = make_student(r=3)
    students = {}
    for share in (1.0, alpha):
        students[share] = copy.deepcopy(initial)
        config = TrainConfig(steps=5, batch_size=4, lr=1e-2, weight_interpolation=share)
        train_student(students[share], bank, labels, CrossEntropyObjective(labels), config, quiet=True)
    start, trained, kept = (dict(s.named_parameters()) for s in (initial, students[1.0], students[alpha]))
    for name, param in kept.items():
        assert not torch.equal(trained[name], start[name]), f"{name} trains"
        torch.testing.assert_close(param, start[name] + alpha * (trained[name] - start[name]))
