"""Image-classification datasets on disk, for the built-in executors: which files are images, their class
folder (UFDL's sub-directory layout), pixels as feature vectors, re-filing under a predicted class, the CSV.

Pure functions (numpy and Pillow, no Django): the executors call them, the tests call them directly.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
CSV_HEADER = ("filename", "predicted_label", "probability", "true_label")


class ImageError(ValueError):
    """A file that claims to be an image (by its name) cannot be read as one."""


def is_image(filename: str) -> bool:
    """Whether ``filename`` names an image, by its suffix (any other file, e.g. a CSV, is not data)."""
    return posixpath.splitext(filename)[1].lower() in IMAGE_SUFFIXES


def label_of(filename: str) -> str | None:
    """The class of an image: the name of the folder directly holding it (``cat/001.png`` → ``cat``,
    ``train/cat/001.png`` → ``cat``); ``None`` for a file at the top level."""
    folder = posixpath.dirname(filename)
    return posixpath.basename(folder) if folder else None


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes a feature vector: grayscale, resized to ``image_size`` × ``image_size``,
    pixels scaled to [0, 1]. Stored with the model so predictions preprocess exactly as training did."""

    image_size: int

    def __post_init__(self) -> None:
        if not 1 <= self.image_size <= 512:
            raise ValueError(f"image_size must be between 1 and 512, not {self.image_size}")

    @property
    def features(self) -> int:
        return self.image_size * self.image_size

    def vector(self, source: Path | bytes, *, name: str = "") -> np.ndarray:
        """The feature vector (float32, length ``features``) of the image in ``source``."""
        try:
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
                # Bilinear resampling in Pillow is a proper (antialiased) filter when shrinking photos.
                pixels = image.convert("L").resize((self.image_size, self.image_size), Image.Resampling.BILINEAR)
                return np.asarray(pixels, dtype=np.float32).reshape(-1) / 255.0
        except (UnidentifiedImageError, OSError) as error:
            shown = name or (f"{len(source)} bytes" if isinstance(source, bytes) else str(source))
            raise ImageError(f"{shown}: not a readable image ({error})") from error


def folder_for(label: str) -> str:
    """``label`` as one folder name: a label from categories may hold ``/`` or ``\\``, or be ``.`` or ``..``,
    which a folder name cannot; those become ``_``."""
    folder = label.replace("/", "_").replace("\\", "_")
    return "_" if folder in (".", "..") else folder


def refiled_name(label: str, filename: str, taken: set[str]) -> str:
    """Where an image goes in a predictions dataset: ``<label>/<its base name>``, with ``-2``, ``-3``…
    before the suffix when two images of one class share a base name. Adds the result to ``taken``."""
    stem, suffix = posixpath.splitext(posixpath.basename(filename))
    folder = folder_for(label)
    candidate, number = f"{folder}/{stem}{suffix}", 1
    while candidate in taken:
        number += 1
        candidate = f"{folder}/{stem}-{number}{suffix}"
    taken.add(candidate)
    return candidate


def predictions_csv(rows: Iterable[tuple[str, str, float | None, str | None]]) -> bytes:
    """The predictions as CSV (UTF-8, header ``CSV_HEADER``): one row per image, an empty cell where
    the probability or the true label is unknown."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for filename, predicted, probability, true_label in rows:
        writer.writerow(
            [
                filename,
                predicted,
                "" if probability is None else f"{probability:.6f}",
                "" if true_label is None else true_label,
            ]
        )
    return buffer.getvalue().encode("utf-8")
