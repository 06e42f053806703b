"""The image helpers of the built-in executors, without Django: what is an image, its class folder,
pixels as features, re-filing under a predicted class, the predictions CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from PIL import Image

from executors.builtin.images import (
    CSV_HEADER,
    ImageError,
    Preprocessing,
    is_image,
    label_of,
    predictions_csv,
    refiled_name,
)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("cat/001.png", True),
        ("a/b/C.JPG", True),
        ("x.jpeg", True),
        ("scan.TIFF", True),
        ("predictions.csv", False),
        ("README", False),
        ("cat/notes.txt", False),
        ("archive.png.zip", False),
    ],
)
def test_images_are_told_by_their_suffix(filename, expected):
    assert is_image(filename) is expected


@pytest.mark.parametrize(
    ("filename", "label"),
    [("cat/001.png", "cat"), ("train/dog/7.png", "dog"), ("001.png", None), ("3/digit-0042.png", "3")],
)
def test_the_class_is_the_folder_directly_holding_the_image(filename, label):
    assert label_of(filename) == label


class TestPreprocessing:
    def test_colour_becomes_grayscale_resized_and_scaled_to_unit_range(self, tmp_path):
        Image.new("RGB", (10, 6), (255, 0, 0)).save(tmp_path / "red.png")
        vector = Preprocessing(3).vector(tmp_path / "red.png")
        assert vector.dtype == np.float32 and vector.shape == (9,)
        red_as_gray = round(255 * 299 / 1000) / 255  # ITU-R 601-2 luma, as Pillow's "L" conversion
        assert vector == pytest.approx([red_as_gray] * 9, abs=1 / 255)

    def test_resizing_keeps_where_things_are(self, tmp_path):
        pixels = np.zeros((16, 16, 3), dtype=np.uint8)
        pixels[:, 8:] = 255  # dark left half, white right half
        Image.fromarray(pixels).save(tmp_path / "halves.png")
        left, right = Preprocessing(2).vector(tmp_path / "halves.png").reshape(2, 2).T
        assert (left < 0.5).all() and (right > 0.5).all()

    def test_bytes_and_paths_give_the_same_features(self, tmp_path):
        Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4).save(tmp_path / "image.png")
        data = (tmp_path / "image.png").read_bytes()
        preprocessing = Preprocessing(8)
        assert np.array_equal(preprocessing.vector(data), preprocessing.vector(tmp_path / "image.png"))
        assert preprocessing.vector(data)[:3] == pytest.approx([0.0, 4 / 255, 8 / 255])

    def test_a_file_that_is_not_an_image_names_itself(self, tmp_path):
        (tmp_path / "fake.png").write_bytes(b"not a png")
        with pytest.raises(ImageError, match="cat/fake.png: not a readable image"):
            Preprocessing(8).vector(tmp_path / "fake.png", name="cat/fake.png")

    @pytest.mark.parametrize("size", [0, -3, 513])
    def test_sizes_out_of_range_are_refused(self, size):
        with pytest.raises(ValueError, match="image_size must be between 1 and 512"):
            Preprocessing(size)


def test_refiling_keeps_base_names_and_numbers_clashes():
    taken = {"predictions.csv"}
    assert refiled_name("cat", "cat/1.png", taken) == "cat/1.png"
    assert refiled_name("cat", "dog/1.png", taken) == "cat/1-2.png"
    assert refiled_name("cat", "a/b/1.png", taken) == "cat/1-3.png"
    assert refiled_name("dog", "cat/1.png", taken) == "dog/1.png"
    assert taken == {"predictions.csv", "cat/1.png", "cat/1-2.png", "cat/1-3.png", "dog/1.png"}


@pytest.mark.parametrize(
    ("label", "expected"),
    [("animal/cat", "animal_cat/1.png"), ("a\\b", "a_b/1.png"), (".", "_/1.png"), ("..", "_/1.png"), ("3", "3/1.png")],
)
def test_a_label_from_categories_refiles_under_one_safe_folder(label, expected):
    assert refiled_name(label, "x/1.png", set()) == expected


def test_the_csv_has_a_header_and_empty_cells_for_unknowns():
    data = predictions_csv([("cat/1.png", "cat", 0.98765432, "cat"), ("x, y.png", "dog", None, None)])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows == [list(CSV_HEADER), ["cat/1.png", "cat", "0.987654", "cat"], ["x, y.png", "dog", "", ""]]
    assert data.startswith(b"filename,predicted_label,probability,true_label\n")
