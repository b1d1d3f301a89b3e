"""TCSClassifier end to end on tiny images with a small random teacher and student (seconds, not minutes)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.exceptions import NotFittedError

import fewshot_tcs
from fewshot_tcs.backbones import Backbone
from fewshot_tcs.data import ArraySource
from fewshot_tcs.tcs import TCSClassifier

TEACHER = "timm:resnet10t"
STUDENT = "timm:lcnet_050"


def class_images(n_per_class=6, classes=3, size=24, seed=0):
    """Each class a distinct colour pattern, so a few steps suffice to separate them."""
    rng = np.random.default_rng(seed)
    pics, labels = [], []
    for c in range(classes):
        for _ in range(n_per_class):
            base = np.zeros((size, size, 3), np.uint8)
            base[..., c % 3] = 180
            base[: size // 2 * (c // 3 + 1)] //= 2
            pics.append(np.clip(base + rng.integers(0, 40, base.shape), 0, 255).astype(np.uint8))
            labels.append(f"class{c}")
    return np.stack(pics), labels


def params(**overrides):
    base = dict(
        backbone=TEACHER,
        student=STUDENT,
        student_pretrained=False,
        teacher_pretrained=False,
        image_size=24,
        n_components=8,
        steps=25,
        batch_size=8,
        lr=3e-3,
        head_lr=1e-2,
        keep=4,
        select_every=5,
        student_views=2,
        teacher_views=0,
        seed=0,
    )
    return {**base, **overrides}


@pytest.fixture(autouse=True)
def seeded_random_teacher(monkeypatch):
    """Random teacher weights must be seeded for the feature cache to accept them."""
    from fewshot_tcs.features import extract as features

    original = features._build
    monkeypatch.setattr(
        features, "_build", lambda name, pretrained, weights, seed: original(name, pretrained, weights, 0)
    )


@pytest.fixture
def fitted(tmp_path):
    x, y = class_images()
    unlabeled, _ = class_images(n_per_class=3, seed=1)
    clf = TCSClassifier(**params(cache_dir=tmp_path))
    return clf.fit((x, y), unlabeled=unlabeled), x, y


def test_fit_learns_state_and_predicts_class_names(fitted):
    clf, x, y = fitted
    assert list(clf.classes_) == ["class0", "class1", "class2"]
    assert int(clf.mask_.sum()) == 4
    assert clf.coords_.n_components_ == 8
    predictions = clf.predict(x)
    assert predictions.shape == (18,) and set(predictions) <= set(clf.classes_)
    # A from-scratch student after 25 steps on a random teacher's coordinates: above chance (1/3) is what
    # this test can ask; the exact figure moves with the CPU's thread count (0.56 to 0.78 measured).
    assert clf.score(x, y) >= 0.5
    proba = clf.predict_proba(x[:4])
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)


def test_with_readout_reads_the_same_fit_out_as_a_fit_under_that_readout(fitted, tmp_path):
    clf, x, y = fitted
    unlabeled, _ = class_images(n_per_class=3, seed=1)
    separately = TCSClassifier(**params(cache_dir=tmp_path, readout="ncm")).fit((x, y), unlabeled=unlabeled)
    assert separately.readout_ == "ncm"
    before = clf.decision_function(x)
    ncm = clf.with_readout("ncm")
    np.testing.assert_allclose(ncm.decision_function(x), separately.decision_function(x), atol=1e-4)
    assert not np.allclose(ncm.decision_function(x), before), "the two readouts should differ"
    assert clf.readout_ == "coord-probe" and np.array_equal(clf.decision_function(x), before), "the original is kept"
    with pytest.raises(ValueError, match="readout must be one of"):
        clf.with_readout("knn")
    with pytest.raises(RuntimeError, match="heads_"):
        TCSClassifier.load(clf.save(tmp_path / "saved")).with_readout("ncm")


def test_the_probe_readout_is_a_logistic_probe_on_the_trained_students_features(fitted):
    from fewshot_tcs.linear_probe import fit_logistic

    clf, x, y = fitted
    probe = clf.with_readout("probe")
    with torch.inference_mode():
        features = clf.model_.backbone(clf.transform_images(x)).numpy()
    codes = np.unique(y, return_inverse=True)[1]
    expected = fit_logistic(features, codes, "cv", random_state=clf.seed).decision_function(features)
    np.testing.assert_allclose(probe.decision_function(x), expected, rtol=1e-3, atol=1e-3)
    assert probe.score(x, y) >= clf.score(x, y) - 0.2, "fitted on these images, the probe should read them well"


def test_the_probe_readout_of_two_classes_gives_scikit_learns_margin(tmp_path):
    from fewshot_tcs.linear_probe import fit_logistic

    x, y = class_images(classes=2)
    clf = TCSClassifier(**params(cache_dir=tmp_path, readout="probe")).fit((x, y))
    with torch.inference_mode():
        features = clf.model_.backbone(clf.transform_images(x)).numpy()
    codes = np.unique(y, return_inverse=True)[1]
    expected = fit_logistic(features, codes, "cv", random_state=clf.seed).decision_function(features)
    margin = clf.decision_function(x)
    assert margin.shape == (12,)
    np.testing.assert_allclose(margin, expected, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(clf.predict_proba(x)[:, 1], 1 / (1 + np.exp(-expected)), atol=1e-3)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_coord_probe_head_is_a_logistic_probe_on_the_masked_coordinates_folded_into_one_layer(
    n_classes, monkeypatch
):
    from fewshot_tcs.linear_probe import fit_logistic
    from fewshot_tcs.tcs import classifier
    from fewshot_tcs.tcs.classifier import _coord_probe_head
    from fewshot_tcs.tcs.student import Student

    torch.manual_seed(0)
    student = Student(torch.nn.Identity(), feature_dim=12, n_coords=5, n_classes=n_classes)
    student.mask.copy_(torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0]))
    labels = np.repeat(np.arange(n_classes), 8)
    features = torch.randn(len(labels), 12) + torch.as_tensor(labels, dtype=torch.float32)[:, None]
    with torch.no_grad():
        coords = student.projector(features)
    head = _coord_probe_head(student, coords, labels, seed=0)
    probe = fit_logistic((coords * student.mask).numpy(), labels, "cv", random_state=0)
    expected = probe.decision_function((coords * student.mask).numpy())
    with torch.no_grad():
        logits = head(features).numpy()
    margins = logits[:, 1] - logits[:, 0] if n_classes == 2 else logits
    np.testing.assert_allclose(margins, expected, rtol=1e-4, atol=1e-4)
    assert head.weight.shape == (n_classes, 12)
    # a probe weighing the dropped coordinates too: the fold must still drop them
    probe = torch.nn.Linear(5, n_classes)
    monkeypatch.setattr(classifier, "_probe_head", lambda *_: probe)
    with torch.no_grad():
        folded = _coord_probe_head(student, coords, labels, seed=0)(features)
        np.testing.assert_allclose(folded, probe(coords * student.mask), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(folded, probe(coords), atol=1e-3)


def test_a_fit_reads_out_through_the_coord_probe_when_asked(fitted, tmp_path):
    clf, x, y = fitted
    unlabeled, _ = class_images(n_per_class=3, seed=1)
    separately = TCSClassifier(**params(cache_dir=tmp_path, readout="coord-probe")).fit((x, y), unlabeled=unlabeled)
    assert separately.readout_ == "coord-probe"
    np.testing.assert_allclose(
        clf.with_readout("coord-probe").decision_function(x), separately.decision_function(x), atol=1e-4
    )
    assert separately.score(x, y) >= 0.5
    loaded = TCSClassifier.load(separately.save(tmp_path / "saved"))
    assert loaded.readout_ == "coord-probe"
    np.testing.assert_allclose(loaded.decision_function(x), separately.decision_function(x), atol=1e-4)


def test_the_probe_and_linear_readout_is_the_mean_of_their_logits_in_one_layer(fitted, tmp_path):
    clf, x, y = fitted
    both = clf.with_readout("probe+linear")
    expected = (clf.with_readout("probe").logits(x) + clf.with_readout("linear").logits(x)) / 2
    np.testing.assert_allclose(both.logits(x), expected, rtol=1e-5, atol=1e-5)
    assert isinstance(both.model_.linear, torch.nn.Linear), "deployed as one linear layer"
    asked = TCSClassifier(**params(cache_dir=tmp_path, readout="probe+linear")).fit((x, y))
    assert asked.readout_ == "probe+linear"
    loaded = TCSClassifier.load(asked.save(tmp_path / "saved"))
    np.testing.assert_allclose(loaded.decision_function(x), asked.decision_function(x), atol=1e-4)


def test_readout_logits_gives_every_readout_from_one_pass(fitted, monkeypatch):
    clf, x, _ = fitted
    passes = []
    backbone = clf.model_.backbone
    monkeypatch.setattr(backbone, "forward", lambda images, f=backbone.forward: passes.append(1) or f(images))
    every = clf.readout_logits(x)
    assert list(every) == list(clf.heads_) and len(passes) == 1, "every readout, one batch through the backbone"
    for readout, logits in every.items():
        np.testing.assert_allclose(logits, clf.with_readout(readout).logits(x), rtol=1e-5, atol=1e-5)
    loaded = TCSClassifier.load(clf.save(Path(clf.cache_dir) / "saved"))
    with pytest.raises(RuntimeError, match="readout_logits needs heads_"):
        loaded.readout_logits(x)


def test_auto_reads_out_through_the_probe_with_enough_labelled_images_else_the_coordinate_probe(
    fitted, tmp_path, monkeypatch
):
    from fewshot_tcs.tcs import classifier

    clf, x, y = fitted
    assert clf.readout == "auto" and clf.readout_ == "coord-probe", "6 images a class, under the default tcs-kd"
    np.testing.assert_array_equal(clf.decision_function(x), clf.with_readout("coord-probe").decision_function(x))
    monkeypatch.setattr(classifier, "PROBE_READOUT_MIN_PER_CLASS", 6)
    probed = TCSClassifier(**params(cache_dir=tmp_path)).fit((x, y))
    assert probed.readout_ == "probe"
    np.testing.assert_array_equal(probed.decision_function(x), probed.with_readout("probe").decision_function(x))
    again = TCSClassifier.load(probed.save(tmp_path / "model"))
    assert again.readout == "auto" and again.readout_ == "probe"


@pytest.mark.parametrize(
    "smallest_class, objective, chosen",
    [
        (16, "ce", "probe"),
        (15, "tcs-kd", "coord-probe"),
        (2, "tcs-kd", "coord-probe"),
        (1, "tcs-kd", "linear"),  # no cross-validation for the probe's C
        (5, "tcs", "linear"),
        (5, "ce", "linear"),
    ],
)
def test_auto_readout_rule(smallest_class, objective, chosen):
    from fewshot_tcs.tcs.classifier import choose_readout

    assert choose_readout("auto", smallest_class, objective) == chosen
    assert choose_readout("ncm", smallest_class, objective) == "ncm", "a readout given is kept"


@pytest.mark.parametrize(
    "n_classes, smallest_class, objective, whitened",
    [
        (5, 16, "tcs-kd", True),
        (10, 120, "tcs-kd", True),
        (4, 16, "tcs-kd", False),  # fewer classes than it was checked on
        (10, 15, "tcs-kd", False),  # it costs below 16 a class
        (10, 16, "tcs", False),
        (10, 16, "ce", False),
    ],
)
def test_auto_whiten_rule(n_classes, smallest_class, objective, whitened):
    from fewshot_tcs.tcs.classifier import choose_whiten

    assert choose_whiten("auto", n_classes, smallest_class, objective) is whitened


def test_a_whiten_setting_given_is_kept():
    from fewshot_tcs.tcs.classifier import choose_whiten

    assert choose_whiten(True, 2, 1, "tcs") is True and choose_whiten(False, 10, 16, "tcs-kd") is False


def test_auto_whitens_the_coordinates_the_student_mimics_when_the_rule_says_so(fitted, tmp_path, monkeypatch):
    from fewshot_tcs.tcs import classifier

    clf, x, y = fitted
    assert clf.whiten == "auto" and clf.whiten_ is False and not clf.coords_.whiten
    monkeypatch.setattr(classifier, "WHITEN_MIN_CLASSES", 3)  # the 3 classes of 6 images that ``fitted`` has
    monkeypatch.setattr(classifier, "WHITEN_MIN_PER_CLASS", 6)
    whitened = TCSClassifier(**params(cache_dir=tmp_path)).fit((x, y))
    assert whitened.whiten_ is True and whitened.coords_.whiten
    given = TCSClassifier(**params(cache_dir=tmp_path, whiten=True)).fit((x, y))
    assert given.whiten_ is True
    np.testing.assert_array_equal(whitened.decision_function(x), given.decision_function(x))


def test_the_clean_crop_is_used_in_training_and_prediction_and_travels_with_the_model(tmp_path):
    x, y = class_images(size=48)
    whole = TCSClassifier(**params(cache_dir=tmp_path, image_size=24)).fit((x, y))
    assert whole.clean_crop_ == 1.0, "48 px photos would be upsampled by a 0.875 x 24 / 224 crop"
    cropped = TCSClassifier(**params(cache_dir=tmp_path, image_size=24, clean_crop=0.5)).fit((x, y))
    assert cropped.clean_crop_ == 0.5 and cropped.preprocessing_["crop"] == 0.5
    from fewshot_tcs.features.views import ViewTransform, centre_square

    p = cropped.preprocessing_
    centre = ViewTransform((24, 24), p["mean"], p["std"])(Image.fromarray(x[0]), centre_square(48, 48, 0.5))
    torch.testing.assert_close(cropped.transform_images(x[:1])[0], centre)
    again = TCSClassifier.load(cropped.save(tmp_path / "model"))
    np.testing.assert_allclose(again.decision_function(x), cropped.decision_function(x), rtol=1e-5, atol=1e-5)


@pytest.fixture
def train_configs(monkeypatch):
    """The TrainConfig of every student training that ``fit`` starts, in order (training runs as usual)."""
    from fewshot_tcs.tcs import classifier

    configs = []
    original = classifier.train_student

    def recording(student, bank, labels, objective, config, **kwargs):
        configs.append(config)
        return original(student, bank, labels, objective, config, **kwargs)

    monkeypatch.setattr(classifier, "train_student", recording)
    return configs


def test_the_stages_rule_reads_the_objective(tmp_path, monkeypatch):
    from fewshot_tcs.tcs import classifier

    seen = []

    def recording(images, pretrained, objective):
        seen.append(objective)
        return None

    monkeypatch.setattr(classifier, "choose_train_stages", recording)
    x, y = class_images()
    for objective in ("tcs", "tcs-kd"):
        TCSClassifier(**params(cache_dir=tmp_path, steps=1, objective=objective)).fit((x, y))
    assert seen == ["tcs", "tcs-kd"], "the paper's objective keeps 2 stages on photographs"


def test_the_learning_rate_lr_auto_chooses_reaches_the_optimiser(tmp_path, train_configs):
    x, y = class_images()
    auto = params(cache_dir=tmp_path, lr="auto", steps=2)
    default = TCSClassifier(**auto).fit((x, y))
    paper = TCSClassifier(**{**auto, "objective": "tcs"}).fit((x.mean(-1).astype(np.uint8), y))
    rates = [config.lr for config in train_configs]
    # From scratch the rate depends on the objective, not the images (the pretrained rules: test_adaptation).
    assert (default.lr_, paper.lr_) == (3e-2, 1e-2) and rates == [3e-2, 1e-2]
    assert default.train_stages_ is None and paper.train_stages_ is None, "from scratch, everything trains"
    given = TCSClassifier(**params(cache_dir=tmp_path, lr=1e-3, steps=2)).fit((x, y))
    assert given.lr_ == 1e-3 and train_configs[-1].lr == 1e-3


def test_the_batch_norm_statistics_bn_stats_chooses_reach_the_trainer(tmp_path, train_configs):
    x, y = class_images()
    auto = TCSClassifier(**params(cache_dir=tmp_path, steps=2)).fit((x, y))
    given = TCSClassifier(**params(cache_dir=tmp_path, steps=2, bn_stats="pretrained")).fit((x, y))
    kept = [config.keep_bn_stats for config in train_configs]
    # From scratch there are no pretrained statistics to keep (the pretrained rules: test_adaptation).
    assert (auto.bn_stats_, given.bn_stats_) == ("measured", "pretrained") and kept == [False, True]


def test_the_weight_interpolation_chosen_reaches_the_trainer(tmp_path, train_configs):
    x, y = class_images()
    auto = TCSClassifier(**params(cache_dir=tmp_path, steps=2)).fit((x, y))
    given = TCSClassifier(**params(cache_dir=tmp_path, steps=2, weight_interpolation=0.25)).fit((x, y))
    shares = [config.weight_interpolation for config in train_configs]
    # From scratch there is nothing pretrained to return to (the pretrained rule: test_adaptation).
    assert (auto.weight_interpolation_, given.weight_interpolation_) == (1.0, 0.25) and shares == [1.0, 0.25]


def test_no_steps_reads_the_untrained_student_out_through_its_probe(tmp_path):
    from fewshot_tcs.tcs.classifier import build_student_backbone

    x, y = class_images()
    clf = TCSClassifier(**params(cache_dir=tmp_path, steps=0, readout="probe")).fit((x, y))
    untrained, _ = build_student_backbone(STUDENT, False, 0)
    deployed = dict(clf.model_.backbone.named_parameters())
    assert clf.log_.steps == 0 and clf.readout_ == "probe"
    assert all(torch.equal(deployed[name], p) for name, p in untrained.named_parameters()), "no weight moved"
    assert clf.score(x, y) == 1.0, "its probe separates the support it was fitted on"


@pytest.mark.parametrize(
    ("bn_stats", "views", "passes"),
    [("pretrained", 1, 1), ("measured", 3, 2)],  # measured statistics are recalibrated over every view
)
def test_no_steps_renders_no_view_and_reads_the_features_once(tmp_path, monkeypatch, bn_stats, views, passes):
    from fewshot_tcs.tcs import classifier

    banks, calls = [], []
    build, features = classifier.ViewBank.build, classifier.student_features
    monkeypatch.setattr(classifier.ViewBank, "build", lambda *a, **k: banks.append(build(*a, **k)) or banks[-1])
    monkeypatch.setattr(classifier, "student_features", lambda *a, **k: calls.append(1) or features(*a, **k))
    x, y = class_images()
    clf = TCSClassifier(**params(cache_dir=tmp_path, steps=0, readout="probe", bn_stats=bn_stats)).fit((x, y))
    assert [bank.n_views for bank in banks] == [views] and len(calls) == passes
    # The probe was fitted on the features of the network as deployed.
    with torch.no_grad():
        deployed = clf.model_.backbone(clf.transform_images(x))
    probe = classifier._probe_head(deployed, np.unique(y, return_inverse=True)[1], 0)
    np.testing.assert_allclose(probe.weight.detach(), clf.heads_["probe"].weight.detach(), atol=1e-3)


def test_params_are_kept_as_given():
    clf = TCSClassifier(**params(keep=0.25))
    assert clf.get_params()["keep"] == 0.25
    assert clf.set_params(steps=3) is clf and clf.steps == 3
    with pytest.raises(ValueError, match="Invalid parameter .nope."):
        clf.set_params(nope=1)


def test_save_load_predicts_identically(fitted, tmp_path):
    clf, x, _ = fitted
    folder = clf.save(tmp_path / "model")
    again = TCSClassifier.load(folder)
    np.testing.assert_allclose(again.decision_function(x), clf.decision_function(x), rtol=1e-5, atol=1e-5)
    assert list(again.predict(x)) == list(clf.predict(x))


def test_predict_reads_a_tensor_batch_as_fit_reads_it(fitted):
    clf, x, _ = fitted
    tensor = torch.as_tensor(x).permute(0, 3, 1, 2).float() / 255  # (N, 3, H, W) in [0, 1], as fit accepts
    np.testing.assert_allclose(clf.decision_function(tensor), clf.decision_function(x), atol=1e-4)
    with pytest.raises(ValueError, match="an image batch must be"):
        clf.predict(torch.zeros(500, 17))


def _damage(folder, case):
    config = json.loads((folder / "config.json").read_text())
    if case == "bad json":
        (folder / "config.json").write_text("{not json")
    elif case == "other format":
        (folder / "config.json").write_text(json.dumps({**config, "format": "fewshot-tcs/folded-student/9"}))
    elif case == "missing classes":
        (folder / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "classes"}))
    elif case == "unknown setting":
        (folder / "config.json").write_text(json.dumps({**config, "params": {**config["params"], "lr_typo": 1}}))
    elif case == "fewer class names":
        (folder / "config.json").write_text(json.dumps({**config, "classes": config["classes"][:2]}))
    elif case == "other student":
        params = {**config["params"], "student": "mobilenetv2_100"}
        (folder / "config.json").write_text(json.dumps({**config, "params": params}))
    elif case == "truncated weights":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "case, message",
    [
        ("bad json", "config.json is not valid JSON"),
        ("other format", "has format 'fewshot-tcs/folded-student/9'; this version of fewshot-tcs reads"),
        ("missing classes", "config.json lacks classes"),
        ("unknown setting", "settings this version does not know: lr_typo"),
        ("fewer class names", "names 2 classes but the weights' head has 3 outputs"),
        ("other student", "the weights do not fit the student 'mobilenetv2_100'"),
        ("truncated weights", "model.safetensors is damaged"),
    ],
)
def test_load_refuses_a_damaged_or_mismatched_model_folder(fitted, tmp_path, case, message):
    folder = fitted[0].save(tmp_path / "model")
    _damage(folder, case)
    with pytest.raises(ValueError, match=message):
        TCSClassifier.load(folder)


def test_onnx_and_torchscript_exports_match_torch(fitted, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    clf, x, _ = fitted
    batch = clf.transform_images(x[:5])
    expected = clf.model_(batch).detach().numpy()
    path = clf.export(tmp_path / "made" / "student.onnx")
    assert [p.name for p in path.parent.iterdir()] == ["student.onnx"], "one self-contained file"
    path = Path(shutil.copy(path, tmp_path / "student.onnx"))  # copied alone, it still loads
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"images": batch.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    scripted = torch.jit.load(str(clf.export(tmp_path / "student.pt")))
    np.testing.assert_allclose(scripted(batch).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def test_the_teacher_is_never_called_while_the_student_trains(monkeypatch, tmp_path):
    from fewshot_tcs.tcs import classifier as classifier_module

    calls = {"teacher": 0, "training": False}
    original_forward = Backbone.forward
    original_train = classifier_module.train_student

    def counting_forward(self, x):
        if self.info.name == TEACHER and calls["training"]:
            calls["teacher"] += 1
        return original_forward(self, x)

    def flagged_train(*args, **kwargs):
        calls["training"] = True
        try:
            return original_train(*args, **kwargs)
        finally:
            calls["training"] = False

    monkeypatch.setattr(Backbone, "forward", counting_forward)
    monkeypatch.setattr(classifier_module, "train_student", flagged_train)
    x, y = class_images()
    TCSClassifier(**params(cache_dir=tmp_path, teacher_views=2)).fit((x, y))
    assert calls["teacher"] == 0


@pytest.mark.parametrize("selection", ["fisher", "none"])
def test_other_selections(selection, tmp_path):
    x, y = class_images()
    clf = TCSClassifier(**params(cache_dir=tmp_path, selection=selection, steps=5)).fit((x, y))
    assert int(clf.mask_.sum()) == (4 if selection == "fisher" else 8)


def test_ce_objective_and_nearest_class_mean_readout(tmp_path):
    x, y = class_images()
    clf = TCSClassifier(**params(cache_dir=tmp_path, objective="ce", readout="ncm", steps=5)).fit((x, y))
    assert clf.predict(x).shape == (18,) and clf.lambda_mimic_ == 0.0


def test_the_default_objective_teaches_the_decision_with_a_lighter_mimic_than_the_papers(fitted, tmp_path):
    clf = fitted[0]
    assert (clf.objective, clf.lambda_mimic, clf.lambda_mimic_) == ("tcs-kd", "auto", 0.1)
    assert {"ce", "kd", "mimic"} <= set(clf.log_.parts[0])
    x, y = class_images()
    paper = TCSClassifier(**params(cache_dir=tmp_path, objective="tcs", steps=3)).fit((x, y))
    assert paper.lambda_mimic_ == 10.0 and "kd" not in paper.log_.parts[0]
    chosen = TCSClassifier(**params(cache_dir=tmp_path, lambda_mimic=3, steps=3)).fit((x, y))
    assert chosen.lambda_mimic_ == 3.0


def test_elsh_and_recorded_views(tmp_path):
    x, y = class_images()
    clf = TCSClassifier(**params(cache_dir=tmp_path, elsh_bits=16, teacher_views=2, steps=5)).fit((x, y))
    assert "elsh" in clf.log_.parts[0]


def test_one_shot_falls_back_to_the_rank(tmp_path, caplog):
    x, y = class_images(n_per_class=1)
    clf = TCSClassifier(**params(cache_dir=tmp_path, basis="support", keep=1, steps=3)).fit((x, y))
    assert clf.coords_.n_components_ == 2  # 3 images span 2 directions after centring


def test_one_shot_keeps_every_class_mean_direction(tmp_path):
    x, y = class_images(n_per_class=1)
    clf = TCSClassifier(**params(cache_dir=tmp_path, basis="support", keep=0.5, select_every=1, steps=3))
    assert int(clf.fit((x, y)).mask_.sum()) == 2  # half of r = 2 would leave one coordinate for 3 classes


def test_a_teacher_ensemble_joins_features(tmp_path):
    x, y = class_images()
    clf = TCSClassifier(**params(cache_dir=tmp_path, backbone=[TEACHER, "timm:lcnet_050"], steps=3)).fit((x, y))
    assert clf.teacher_dim_ == 512 + 1280


def test_bad_input(tmp_path):
    x, y = class_images()
    clf = TCSClassifier(**params(cache_dir=tmp_path))
    with pytest.raises(ValueError, match="single class"):
        clf.fit((x[:4], ["a"] * 4))
    with pytest.raises(ValueError, match="18 images but 17 labels"):
        clf.fit(x, labels=y[:-1])
    with pytest.raises(ValueError, match="readout must be one of"):
        TCSClassifier(**params(readout="knn")).fit((x, y))
    with pytest.raises(NotFittedError, match="not fitted"):
        TCSClassifier().predict(x)
    with pytest.raises(ValueError, match="no images"):
        clf.fit(ArraySource(np.zeros((0, 4, 4), np.uint8), []))


@pytest.mark.parametrize(
    "setting, message",
    [
        (dict(lr=float("nan")), "lr must be a finite number > 0 or 'auto'"),
        (dict(lr="fast"), "lr must be a finite number > 0 or 'auto'"),
        (dict(head_lr=-1.0), "head_lr must be a finite number > 0"),
        (dict(steps=2.5), "steps must be an integer >= 0"),
        (dict(steps=-1), "steps must be an integer >= 0"),
        (dict(steps=True), "steps must be an integer >= 0"),
        (dict(batch_size=0), "batch_size must be an integer >= 1"),
        (dict(teacher_views=-1), "teacher_views must be an integer >= 0"),
        (dict(decision_weight=1.5), "decision_weight must be a finite number >= 0 and <= 1"),
        (dict(temperature=0), "temperature must be a finite number > 0"),
        (dict(lambda_mimic="high"), "lambda_mimic must be a finite number >= 0 or 'auto'"),
        (dict(decision_C=0), "decision_C must be a finite number > 0 or 'cv'"),
        (dict(decision_C="best"), "decision_C must be a finite number > 0 or 'cv'"),
        (dict(weight_decay="0.1"), "weight_decay must be a finite number >= 0"),
        (dict(seed=1.5), "seed must be an integer"),
        (dict(device="gpu"), "'gpu' is not a torch device"),
        (dict(teacher_runtime="onnx"), "teacher_runtime must be one of"),
        (dict(bn_stats="frozen"), "bn_stats must be one of"),
        (dict(weight_interpolation=1.5), "weight_interpolation must be a finite number >= 0 and <= 1 or 'auto'"),
        (dict(clean_crop=0), "clean_crop must be a number in"),
        (dict(clean_crop=1.5), "clean_crop must be a number in"),
        (dict(clean_crop="whole"), "clean_crop must be a number in"),
        (dict(whiten="yes"), "whiten must be True, False or 'auto'"),
        (dict(whiten=1), "whiten must be True, False or 'auto'"),
    ],
)
def test_bad_settings_fail_before_any_work(setting, message, monkeypatch):
    from fewshot_tcs.features import teachers

    monkeypatch.setattr(teachers, "extract_features", lambda *a, **k: pytest.fail("the teacher pass ran"))
    x, y = class_images()
    with pytest.raises(ValueError, match=message):
        TCSClassifier(**params(**setting)).fit((x, y))


def test_numpy_integers_are_integers_and_clone_keeps_the_settings(tmp_path):
    from sklearn.base import clone

    clf = TCSClassifier(**params(steps=np.int64(3), image_size=np.int64(24), teacher_runtime="torch"))
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and copy is not clf
    x, y = class_images()
    folder = clf.fit((x, y)).save(tmp_path / "model")
    assert json.loads((folder / "config.json").read_text())["params"]["steps"] == 3


def test_a_cuda_device_without_a_gpu_is_refused_before_the_teacher_pass(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    x, y = class_images()
    with pytest.raises(ValueError, match="sees no CUDA GPU here"):
        TCSClassifier(**params(device="cuda")).fit((x, y))


def test_nan_teacher_features_are_refused(tmp_path):
    from fewshot_tcs.features import TeacherFeatures

    x, y = class_images()
    bad = np.random.default_rng(0).normal(size=(18, 32)).astype(np.float32)
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        TCSClassifier(**params()).fit((x, y), support_features=TeacherFeatures(bad))


def test_fit_accepts_every_source_kind_through_the_top_level_function(tmp_path):
    x, y = class_images()
    pics = [(Image.fromarray(img), label) for img, label in zip(x, y, strict=True)]
    clf = fewshot_tcs.fit(pics, **params(cache_dir=tmp_path, steps=3))
    assert isinstance(clf, TCSClassifier) and clf.predict([pics[0][0]]).shape == (1,)


def test_a_support_that_lacks_some_of_its_sources_classes_gets_a_head_for_the_present_ones_only(caplog):
    import logging

    from fewshot_tcs.data import ArraySource

    rng = np.random.default_rng(0)
    source = ArraySource(rng.integers(0, 255, (20, 16, 16, 3), dtype=np.uint8), np.repeat(np.arange(5), 4))
    support = source.subset(np.flatnonzero(np.isin(source.labels, [1, 3])))
    with caplog.at_level(logging.WARNING):
        clf = TCSClassifier(**params(steps=2)).fit(support)
    assert list(clf.classes_) == [source.classes[1], source.classes[3]]
    assert clf.logits(support).shape == (8, 2)
    margin = clf.logits(support) @ np.array([-1.0, 1.0], np.float32)  # scikit-learn's binary convention
    np.testing.assert_allclose(clf.decision_function(support), margin, atol=1e-6)
    assert "no images of 3" in caplog.text


def test_fit_takes_labels_second_like_scikit_learn(tmp_path):
    import fewshot_tcs

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (12, 16, 16, 3), dtype=np.uint8)
    y = np.repeat(["a", "b", "c"], 4)
    clf = fewshot_tcs.fit(x, y, **params(cache_dir=tmp_path, steps=2))
    assert list(clf.classes_) == ["a", "b", "c"]
    assert clf.backbone == TEACHER
