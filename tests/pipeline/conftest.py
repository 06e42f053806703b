"""Pipeline fixtures: the scikit-learn templates as shipped and small image datasets on disk (the real
worker comes from the end-to-end plugin, tests/e2e.py)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
BUILTIN = REPO / "templates" / "builtin"
PIPELINE_TEMPLATES = ("sklearn_image_class_train", "sklearn_image_class_predict", "train_and_predict")
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
SKLEARN_MODEL = "Model<Domain<'Image Classification'>, Framework<'scikit-learn', '1'>>"


def template_body(name: str) -> dict:
    return json.loads((BUILTIN / f"{name}.json").read_text(encoding="utf-8"))


def run_command(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO(), no_color=True)
    return out.getvalue()


def pattern_image(kind: str, rng: np.random.Generator, size: int = 12) -> Image.Image:
    """A noisy RGB image of one of three easily told apart kinds: 'dark', 'light' or 'stripes'."""
    if kind == "dark":
        base = np.full((size, size), 40.0)
    elif kind == "light":
        base = np.full((size, size), 215.0)
    else:
        base = np.tile(np.where(np.arange(size) % 4 < 2, 30.0, 225.0), (size, 1))
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([pixels] * 3, axis=-1))


def write_pattern_dataset(folder: Path, *, per_class: int, seed: int = 0, extras: bool = True) -> Path:
    """Images in one folder per class (dark/, light/, stripes/); with ``extras``, also an image at the top
    level (no class) and a text file (not an image)."""
    rng = np.random.default_rng(seed)
    for kind in ("dark", "light", "stripes"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            pattern_image(kind, rng).save(folder / kind / f"{kind}-{index:02d}.png")
    if extras:
        pattern_image("light", rng).save(folder / "loose.png")
        (folder / "README.txt").write_text("not an image")
    return folder


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Dataset files and job outputs of a test without a worker go to a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
