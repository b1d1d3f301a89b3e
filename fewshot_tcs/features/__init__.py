"""Teacher features, the stage between the images and the methods: the feature set every method reads
(``featureset``), the cached, resumable teacher pass (``extract``, ``cache``), several teachers joined into one
space (``teachers``) and the recorded augmented views both teacher and student see (``views``)."""

from .cache import FeatureCacheError
from .extract import extract_features, pixel_features
from .featureset import FeatureSet, l2_normalize
from .teachers import TeacherFeatures, join_teachers, teacher_pass

__all__ = [
    "FeatureCacheError",
    "FeatureSet",
    "TeacherFeatures",
    "extract_features",
    "join_teachers",
    "l2_normalize",
    "pixel_features",
    "teacher_pass",
]
