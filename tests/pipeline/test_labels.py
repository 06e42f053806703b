"""Which label each image has (executors/builtin/labels.py), without Django: categories when the dataset has
any (exactly one per image, else none), class folders when it has none."""

from __future__ import annotations

from executors.builtin.labels import CATEGORIES, FOLDERS, examples, image_labels

IMAGES = ["cat/1.png", "cat/2.png", "dog/3.png", "4.png"]


def test_without_categories_the_folder_is_the_label():
    labelling = image_labels(IMAGES, {})
    assert labelling.source == FOLDERS
    assert labelling.labels == {"cat/1.png": "cat", "cat/2.png": "cat", "dog/3.png": "dog"}
    assert (labelling.unlabelled, labelling.several) == (["4.png"], [])


def test_with_categories_only_a_single_category_labels_an_image_and_folders_are_ignored():
    labelling = image_labels(IMAGES, {"cat/1.png": ["dog"], "cat/2.png": ["cat", "pet"], "4.png": ["cat"]})
    assert labelling.source == CATEGORIES
    assert labelling.labels == {"cat/1.png": "dog", "4.png": "cat"}
    assert labelling.several == ["cat/2.png"]
    assert labelling.unlabelled == ["dog/3.png"]  # its folder is not consulted
    assert labelling.label("dog/3.png") is None


def test_categories_of_files_that_are_not_among_the_images_change_nothing():
    labelling = image_labels(["a.png"], {"a.png": ["x"], "notes.txt": ["y", "z"]})
    assert (labelling.labels, labelling.several, labelling.unlabelled) == ({"a.png": "x"}, [], [])


def test_log_lines_name_a_few():
    assert examples(["a", "b"]) == "a, b"
    assert examples([str(i) for i in range(10)]) == "0, 1, 2 and 7 more"
