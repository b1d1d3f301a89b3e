"""The uniform view of labelled images that every other layer reads from."""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image


class ImageLoadError(OSError):
    """An image could not be read; the message names the file or item."""


class ImageSource(torch.utils.data.Dataset):
    """Labelled images with stable ids, loaded lazily.

    Subclasses provide ``_load(i) -> PIL.Image`` and may refine ``identity(i)``. ``source[i]`` returns
    ``(image, label)`` where ``image`` is the PIL image, or ``transform(image)`` when a transform is set.

    Attributes:
        ids: one stable string per item (a path relative to the dataset root, or an index).
        labels: ``(n,)`` int64 class index of each item, into ``classes``.
        classes: class names, sorted.
        name, split: where the items come from, recorded in episode files and results.
    """

    def __init__(
        self,
        ids: Sequence[str],
        labels: Sequence[int] | np.ndarray,
        classes: Sequence[str],
        name: str,
        split: str | None = None,
        transform: Callable[[Image.Image], Any] | None = None,
    ):
        ids = tuple(str(i) for i in ids)
        labels = np.asarray(labels, dtype=np.int64)
        if len(ids) != len(labels):
            raise ValueError(f"{name}: {len(ids)} items but {len(labels)} labels; they must be equally many")
        if len(ids) == 0:
            raise ValueError(f"{name}: no images")
        if len(set(ids)) != len(ids):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ValueError(f"{name}: item ids must be unique; repeated: {duplicates}")
        if labels.min() < 0 or labels.max() >= len(classes):
            raise ValueError(f"{name}: labels must index into the {len(classes)} classes")
        self.ids = ids
        self.labels = labels
        self.classes = tuple(str(c) for c in classes)
        self.name = name
        self.split = split
        self.transform = transform
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        image = self.load(i)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[i])

    def __repr__(self) -> str:
        split = f", split={self.split!r}" if self.split else ""
        return f"{type(self).__name__}(name={self.name!r}{split}, items={len(self)}, classes={len(self.classes)})"

    def load(self, i: int) -> Image.Image:
        """The i-th image as a PIL image in its stored mode (RGB conversion happens in the transforms)."""
        try:
            return self._load(i)
        except ImageLoadError:
            raise
        except Exception as error:  # PIL raises several types for corrupt data
            raise ImageLoadError(f"cannot read image {self.describe(i)}: {error}") from error

    def _load(self, i: int) -> Image.Image:
        raise NotImplementedError

    def describe(self, i: int) -> str:
        """Where item i comes from, for error messages."""
        return f"{self.ids[i]!r} of {self.name}"

    def identity(self, i: int) -> str:
        """A string that changes when item i's content may have changed (for feature caches)."""
        return hashlib.sha256(np.asarray(self.load(i)).tobytes()).hexdigest()

    def fingerprint(self) -> str:
        """A hash of the item ids and their class names: episode files record it to detect other data."""
        digest = hashlib.sha256()
        for item_id, label in zip(self.ids, self.labels, strict=True):
            digest.update(f"{item_id}\t{self.classes[label]}\n".encode())
        return digest.hexdigest()[:16]

    def index_of(self, ids: Sequence[str]) -> np.ndarray:
        """Positions of the given ids; KeyError naming the first unknown id."""
        if self._index is None:
            self._index = {item_id: i for i, item_id in enumerate(self.ids)}
        try:
            return np.fromiter((self._index[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as error:
            raise KeyError(f"item {error.args[0]!r} is not in {self.name}") from None

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return dict(zip(self.classes, counts.tolist(), strict=True))

    def indices_by_class(self) -> list[np.ndarray]:
        """Item positions of each class, in item order."""
        order = np.argsort(self.labels, kind="stable")
        bounds = np.cumsum(np.bincount(self.labels, minlength=len(self.classes)))[:-1]
        return np.split(order, bounds)

    def subset(self, indices: Sequence[int] | np.ndarray) -> SubsetSource:
        return SubsetSource(self, indices)

    def train_test_split(self, test_size: float | int = 0.25, seed: int = 0) -> tuple[SubsetSource, SubsetSource]:
        """A stratified (train, test) split: every class keeps its share on both sides.

        ``test_size`` is a fraction of the items or a count, as in scikit-learn's ``train_test_split``.
        """
        from sklearn.model_selection import train_test_split

        train, test = train_test_split(
            np.arange(len(self)), test_size=test_size, stratify=self.labels, random_state=seed
        )
        return self.subset(np.sort(train)), self.subset(np.sort(test))

    def with_transform(self, transform: Callable[[Image.Image], Any] | None) -> SubsetSource:
        """A view of all items with another transform; the original is left as it is."""
        view = SubsetSource(self, np.arange(len(self)))
        view.transform = transform
        return view

    def verify(self) -> list[str]:
        """Open every image once; return the messages for those that cannot be read."""
        problems = []
        for i in range(len(self)):
            try:
                self.load(i).load()
            except ImageLoadError as error:
                problems.append(str(error))
        return problems


class SubsetSource(ImageSource):
    """Some items of another source, with the same classes and ids."""

    def __init__(self, parent: ImageSource, indices: Sequence[int] | np.ndarray):
        indices = np.asarray(indices, dtype=np.int64)
        if isinstance(parent, SubsetSource):
            indices, parent = parent.positions[indices], parent.parent
        self.parent = parent
        self.positions = indices
        super().__init__(
            [parent.ids[i] for i in indices],
            parent.labels[indices],
            parent.classes,
            parent.name,
            parent.split,
            parent.transform,
        )

    def _load(self, i: int) -> Image.Image:
        return self.parent.load(int(self.positions[i]))

    def describe(self, i: int) -> str:
        return self.parent.describe(int(self.positions[i]))

    def identity(self, i: int) -> str:
        return self.parent.identity(int(self.positions[i]))


class ConcatSource(ImageSource):
    """The items of several sources with the same classes, one after another (ids must stay unique), e.g. a
    test split and the training split its episodes draw unlabelled images from."""

    def __init__(self, sources: Sequence[ImageSource]):
        first = sources[0]
        for other in sources[1:]:
            if other.classes != first.classes:
                raise ValueError(f"{other.name} ({other.split}) and {first.name} ({first.split}) have other classes")
        self.sources = list(sources)
        self._starts = np.cumsum([0] + [len(s) for s in sources])
        super().__init__(
            [i for s in sources for i in s.ids],
            np.concatenate([s.labels for s in sources]),
            first.classes,
            first.name,
            "+".join(str(s.split) for s in sources),
            first.transform,
        )

    def _locate(self, i: int) -> tuple[ImageSource, int]:
        k = int(np.searchsorted(self._starts, i, side="right")) - 1
        return self.sources[k], i - int(self._starts[k])

    def _load(self, i: int) -> Image.Image:
        source, j = self._locate(i)
        return source.load(j)

    def describe(self, i: int) -> str:
        source, j = self._locate(i)
        return source.describe(j)

    def identity(self, i: int) -> str:
        source, j = self._locate(i)
        return source.identity(j)


def class_names_for(labels: Sequence[Any]) -> tuple[list[str], np.ndarray]:
    """Sorted class names for raw labels (numbers sort numerically) and each label's index into them.

    A label is a class name (str) or an integer; a float that is a whole number (``2.0``, as pandas and
    numpy often give indices) counts as that integer. NaN, None, booleans and fractional numbers are refused,
    as are labels of different types that would read as one class name (``1`` and ``"1"``).
    """
    raw = [_label(label, i) for i, label in enumerate(labels)]
    unique = sorted(set(raw), key=lambda v: (isinstance(v, str), v))
    names = [str(v) for v in unique]
    if len(set(names)) < len(names):
        clash = next(n for n in names if names.count(n) > 1)
        kinds = sorted({type(v).__name__ for v in unique if str(v) == clash})
        raise ValueError(
            f"labels of types {' and '.join(kinds)} both read as class {clash!r}; give every label as one type"
        )
    position = {value: k for k, value in enumerate(unique)}
    return names, np.array([position[v] for v in raw], dtype=np.int64)


def _label(label: Any, position: int) -> str | int:
    value = label.item() if hasattr(label, "item") else label
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        if float(value).is_integer():
            return int(value)
    raise ValueError(
        f"label {position} is {value!r}: labels must be class names (str) or integer indices (NaN, None, booleans "
        "and fractional numbers are not classes)"
    )


def read_image(file: Any) -> Image.Image:
    """Open and decode an image file (path or binary file object) fully, so no handle stays open."""
    with Image.open(file) as image:
        image.load()
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        # 16-bit and 32-bit greyscale: converting to RGB would clip every value above 255 to white.
        array = np.asarray(image)
        if array.dtype.kind in "iu" and 255 < array.max() <= 65535 and array.min() >= 0:
            array = array.astype(np.uint16)  # a 16-bit image, whatever integer type PIL gave it
        image = Image.fromarray(pixels_uint8(array))
    return image


def pixels_uint8(array: np.ndarray) -> np.ndarray:
    """Pixel values as uint8, never clipped: floats in [0, 1] are scaled by 255, floats and integers in
    [0, 255] kept, uint16 (16-bit images) divided by 257; anything else cannot be pixels and is refused."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return np.rint(array / 257.0).astype(np.uint8)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"image arrays must be uint8, uint16, other integers in 0..255 or float; got {array.dtype}")
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError("image array contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 255:
        raise ValueError(
            f"image values run from {low:.3g} to {high:.3g}; pixels are floats in [0, 1] or values in [0, 255]. "
            "Pass the images before any normalisation (the student normalises them itself)"
        )
    if np.issubdtype(array.dtype, np.floating) and high <= 1.0:
        array = array * 255.0
    return np.rint(array).astype(np.uint8)
