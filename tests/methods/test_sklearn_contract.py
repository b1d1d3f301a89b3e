"""Every method and TCSClassifier honour scikit-learn's estimator contract: clone, grid search, cross-validation,
and sklearn's own estimator checks for the methods on feature arrays."""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from fewshot_tcs import TCSClassifier
from fewshot_tcs.methods import (
    LogisticCV,
    LogisticProbe,
    ProtoNet,
    StudentKD,
    TCSProbe,
    create_method,
    list_methods,
)

# One L2-normalised feature is +-1 on every row, so no coordinate system can be fitted on it: TCSProbe refuses
# it with its own message rather than sklearn's "1 feature(s)" wording.
EXPECTED_FAILURES = {"TCSProbe": {"check_fit2d_1feature": "one normalised feature spans no direction"}}


@parametrize_with_checks(
    [ProtoNet(), LogisticProbe(), LogisticCV(), TCSProbe(n_components=4)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES.get(type(est).__name__, {}),
)
def test_feature_methods_pass_sklearns_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", list_methods())
def test_every_method_clones_with_its_settings(name):
    student = name.startswith("student-") and not name.endswith("-probe")
    method = create_method(name, **({"steps": 7, "backbone": "timm:resnet10t"} if student else {}))
    copy = clone(method)
    assert type(copy) is type(method) and copy is not method
    assert copy.get_params() == method.get_params()
    assert is_classifier(copy)
    if student:
        assert copy.set_params(steps=9, temperature=3.0).get_params()["steps"] == 9
        with pytest.raises(TypeError, match="unknown settings \\['stepz'\\]"):
            copy.set_params(stepz=9)
        with pytest.raises(TypeError, match="unknown settings"):
            type(method)(stepz=1)


def test_tcs_classifier_clones_and_refuses_predicting_unfitted(tiny_fit):
    clf = TCSClassifier(**tiny_fit)
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.predict(np.zeros((2, 8, 8, 3), np.uint8))


@pytest.fixture(scope="module")
def colours():
    """4 classes x 8 tiny images, each class its own colour."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 8)
    palette = rng.integers(0, 255, (4, 3))
    images = np.clip(palette[labels][:, None, None, :] + rng.integers(-20, 20, (32, 16, 16, 3)), 0, 255)
    return images.astype(np.uint8), np.array(["ant", "bee", "cat", "dog"])[labels]


def test_grid_search_over_two_settings_of_a_tiny_fit(tiny_fit, colours, tmp_path):
    images, labels = colours
    search = GridSearchCV(TCSClassifier(**tiny_fit, cache_dir=tmp_path), {"readout": ["linear", "ncm"]}, cv=2)
    search.fit(images, labels)
    assert set(search.cv_results_["param_readout"]) == {"linear", "ncm"}
    assert search.best_estimator_.readout in ("linear", "ncm")
    assert 0 <= search.score(images, labels) <= 1


def test_cross_val_score_over_folds_of_a_folder(tiny_fit, image_folder, tmp_path):
    paths = sorted(image_folder.glob("*/*.png"))
    labels = [p.parent.name for p in paths]
    scores = cross_val_score(TCSClassifier(**tiny_fit, cache_dir=tmp_path), paths, labels, cv=3)
    assert scores.shape == (3,) and ((0 <= scores) & (scores <= 1)).all()


def test_a_kd_trained_model_saves_and_loads(tiny_fit, colours, tmp_path):
    from fewshot_tcs.data import ArraySource
    from fewshot_tcs.evaluation.evaluate import item_set
    from fewshot_tcs.features import teacher_pass

    images, labels = colours
    source = ArraySource(images, np.unique(labels, return_inverse=True)[1], name="colours")
    features = teacher_pass(tiny_fit["backbone"], source, pretrained=False, cache_dir=tmp_path, quiet=True)
    method = StudentKD(teacher_in_loop=True, **tiny_fit).fit(item_set(source.ids, source.labels, features, source))
    method.model_.save(tmp_path / "model")
    again = TCSClassifier.load(tmp_path / "model")
    np.testing.assert_allclose(again.decision_function(images), method.model_.decision_function(images), atol=1e-5)
