"""Sources over images already in memory or named by path: lists of pairs and arrays with labels."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .source import ImageLoadError, ImageSource, class_names_for, pixels_uint8, read_image


def to_pil(array: Any) -> Image.Image:
    """A numpy array or torch tensor -> PIL image.

    Accepts (H, W), (H, W, C) and, for tensors, (C, H, W) with C in 1, 3, 4; values as ``pixels_uint8`` reads them.
    """
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu()
        if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
            array = array.permute(1, 2, 0)
        array = array.numpy()
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(f"an image array must be (H, W), (H, W, C) or (C, H, W) with C in 1, 3, 4; got {array.shape}")
    return Image.fromarray(pixels_uint8(array))


class ListSource(ImageSource):
    """A list of ``(image, label)`` pairs; each image a path, a PIL image or an array.

    Ids are the paths for path items and the position otherwise. Labels may be strings or integers;
    classes are their sorted distinct values.
    """

    def __init__(self, items: Sequence[tuple[Any, Any]], name: str = "list", transform=None):
        items = list(items)
        for k, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ValueError(f"{name}: item {k} must be an (image, label) pair; got {type(item).__name__}")
        self._images = [self._check(image, k, name) for k, (image, _) in enumerate(items)]
        classes, labels = class_names_for([label for _, label in items])
        ids = [str(image) if isinstance(image, Path) else str(k) for k, image in enumerate(self._images)]
        super().__init__(ids, labels, classes, name, transform=transform)

    @staticmethod
    def _check(image: Any, k: int, name: str) -> Any:
        if isinstance(image, (str, os.PathLike)):
            return Path(image)
        if isinstance(image, (Image.Image, np.ndarray, torch.Tensor)):
            return image
        raise ValueError(f"{name}: item {k} must be a path, PIL image or array; got {type(image).__name__}")

    def _load(self, i: int) -> Image.Image:
        image = self._images[i]
        if isinstance(image, Path):
            if not image.is_file():
                raise ImageLoadError(f"cannot read image {image}: no such file")
            return read_image(image)
        if isinstance(image, Image.Image):
            return image
        return to_pil(image)

    def describe(self, i: int) -> str:
        image = self._images[i]
        return str(image) if isinstance(image, Path) else f"item {i} of {self.name}"

    def identity(self, i: int) -> str:
        image = self._images[i]
        if isinstance(image, Path):
            stat = image.stat()
            return f"{image.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        return super().identity(i)


class ArraySource(ImageSource):
    """Images as one array ``(N, H, W)``, ``(N, H, W, C)`` or tensor ``(N, C, H, W)``, with integer labels.

    ``class_names`` names the label values 0..K-1; without it, classes are the distinct labels.
    """

    def __init__(
        self,
        images: Any,
        labels: Any,
        class_names: Sequence[str] | None = None,
        name: str = "arrays",
        split: str | None = None,
        transform=None,
    ):
        if isinstance(labels, torch.Tensor):
            labels = labels.cpu().numpy()
        if len(images) != len(labels):
            raise ValueError(f"{name}: {len(images)} images but {len(labels)} labels; they must be equally many")
        if class_names is None:
            # Named from the labels as given: np.asarray would turn [1, "1"] into two equal strings first.
            class_names, labels = class_names_for(list(labels))
        labels = np.asarray(labels)
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{name}: with class_names, labels must be integers 0..{len(class_names) - 1}")
        self._images = images
        super().__init__([str(k) for k in range(len(labels))], labels, class_names, name, split, transform)

    def _load(self, i: int) -> Image.Image:
        return to_pil(self._images[i])

    def identity(self, i: int) -> str:
        image = self._images[i]
        data = image.cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
        return hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()
