"""The student backbone's own probe at the view a TCS student is given, and a method's score without labels."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import functional as F

from fewshot_tcs.features import l2_normalize
from fewshot_tcs.methods import ItemSet, StudentViewProbe
from fewshot_tcs.tcs.resolution import choose_clean_crop, choose_image_size

STUDENT = "mobilenetv2_100"


def test_student_view_probe_reads_photos_through_the_view_fit_chooses(colour_photos):
    photos = colour_photos
    probe = StudentViewProbe(student=STUDENT).fit(ItemSet(images=photos, labels=photos.labels))
    images = [photos.load(i) for i in range(len(photos))]
    info = probe.backbone_.info
    size = choose_image_size(images, info.input_size[-1])
    assert (probe.image_size_, probe.clean_crop_) == (size, choose_clean_crop(images, size, 224, info.crop_pct))
    assert (probe.image_size_, probe.clean_crop_) == (160, 0.625)
    # By hand: the central 0.625 of the centred 384 px square is 240 px, at (136, 72); resized to 160 px.
    view = images[0].crop((136, 72, 376, 312)).resize((160, 160), Image.BILINEAR)
    with torch.inference_mode():
        expected = l2_normalize(probe.backbone_(F.normalize(F.to_tensor(view), info.mean, info.std)[None]).numpy())
    found = probe._features(ItemSet(images=photos.subset([0])))
    np.testing.assert_allclose(found, expected, atol=1e-4)
    assert (probe.predict(ItemSet(images=photos)) == photos.labels).all()


def test_student_view_probe_needs_the_support_images():
    with pytest.raises(ValueError, match="student-view-probe needs the support's images"):
        StudentViewProbe().fit(ItemSet(features=np.zeros((4, 8), np.float32), labels=np.arange(4) % 2))


def test_score_takes_y_for_queries_without_labels(colour_photos):
    probe = StudentViewProbe(student=STUDENT).fit(ItemSet(images=colour_photos, labels=colour_photos.labels))
    assert probe.score(ItemSet(images=colour_photos), colour_photos.labels) == 1.0
    with pytest.raises(ValueError, match="score needs the queries' labels"):
        probe.score(ItemSet(images=colour_photos))
