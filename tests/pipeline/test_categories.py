"""Labels from categories, through the runner in this process (``run_job`` on jobs of the shipped templates)
with a real database and storage: Train learns from a dataset's categories (over its folders) and leaves
out images with several categories or none; Predict scores against categories and writes its predictions
back as the categories of the dataset it creates. The rules are in executors/builtin/labels.py.
"""

from __future__ import annotations

import csv
import io
import json
from itertools import islice

import numpy as np
import pytest

from contracts.models import Domain, Licence
from executors.builtin.classifiers import model_load
from executors.management.demo_data import DEMO_DATASETS, digit_files
from executors.runner import run_job
from jobtemplates.models import Job, JobOutput
from jobtemplates.services.jobs import job_create
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.factories import DatasetFactory
from tests.pipeline.conftest import IC_DATASET, SKLEARN_MODEL, pattern_image, template_body
from workspaces.models import Dataset
from workspaces.services.datasets import dataset_categories

pytestmark = pytest.mark.django_db(transaction=True)

KINDS = ("dark", "light", "stripes")
DIGITS = 400  # of scikit-learn's digits: accuracy far above chance (0.1) in about a second
DIGITS_FLOOR = 0.9  # measured: 0.9875 on the 80 held out (calibrated SVC, 16x16, seed 0)
PYTHON_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}


# --- data and jobs ---------------------------------------------------------------------------------


def png(kind: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    pattern_image(kind, np.random.default_rng(seed)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def templates(seeded_catalogue, admin_user) -> dict:
    return {
        name: template_import(data=template_body(name), creator=admin_user).template
        for name in ("sklearn_image_class_train", "sklearn_image_class_predict")
    }


@pytest.fixture
def dataset(seeded_catalogue, media, user):
    """``dataset(name, files, categories)``: a private image-classification dataset of ``user``."""
    domain, licence = Domain.objects.get(name="ic"), Licence.objects.get(name="CC-BY-4.0")

    def make(name: str, files: dict[str, bytes], categories: dict[str, list[str]] | None = None) -> Dataset:
        return DatasetFactory(
            name=name, domain=domain, licence=licence, creator=user, files=files, categories=categories
        )

    return make


def run(template, user, inputs: dict, **parameters) -> Job:
    """A job of ``template`` as create-job checks and resolves it (template defaults included), run to its
    end by the runner in this process; it must finish."""
    body = {
        "input_values": inputs,
        "parameter_values": {name: {"value": v, "type": PYTHON_TYPES[type(v)]} for name, v in parameters.items()},
    }
    job = job_create(template=template, body=body, creator=user, dry_run=True)  # checked, not enqueued
    job.save()
    outcome = run_job(job_id=job.pk, worker="test")
    job.refresh_from_db()
    assert job.status == "finished", f"{outcome}\n{log_of(job)}"
    return job


def output(job: Job, name: str) -> JobOutput:
    return job.outputs.get(name=name)


def json_output(job: Job, name: str):
    with output(job, name).file.open("rb") as handle:
        return json.loads(handle.read())


def log_of(job: Job) -> str:
    row = job.outputs.filter(name="log").first()
    if row is None:
        return ""
    with row.file.open("rb") as handle:
        return handle.read().decode()


def train(templates, user, data: Dataset, **parameters) -> Job:
    return run(
        templates["sklearn_image_class_train"], user, {"dataset": {"value": data.pk, "type": IC_DATASET}}, **parameters
    )


def predict(templates, user, trained: Job, data: Dataset, **parameters) -> Job:
    model = {"value": output(trained, "model").pk, "type": f"JobOutput<{SKLEARN_MODEL}>"}
    inputs = {"model": model, "dataset": {"value": data.pk, "type": IC_DATASET}}
    return run(templates["sklearn_image_class_predict"], user, inputs, **parameters)


def files_of(pk: int) -> dict[str, bytes]:
    files = {}
    for row in Dataset.objects.get(pk=pk).files.all():
        with row.file.open("rb") as handle:
            files[row.filename] = handle.read()
    return files


def csv_rows(job: Job) -> dict[str, dict]:
    with output(job, "predictions.csv").file.open("rb") as handle:
        return {row["filename"]: row for row in csv.DictReader(io.StringIO(handle.read().decode()))}


@pytest.fixture
def patterns(dataset) -> Dataset:
    """Eight images of each kind, flat (no folders), each labelled by one category: its kind."""
    files = {f"{kind}-{i:02d}.png": png(kind, seed=10 * k + i) for k, kind in enumerate(KINDS) for i in range(8)}
    return dataset("patterns", files, {name: [name.split("-")[0]] for name in files})


# --- Train -----------------------------------------------------------------------------------------


def test_train_on_digits_labelled_only_by_categories(templates, dataset, user):
    # "3/digit-0003.png" → "digit-0003.png" with category "3": no class folder left.
    digits = [
        (name.split("/")[1], name.split("/")[0], data) for name, data in islice(digit_files(DEMO_DATASETS[0]), DIGITS)
    ]
    files = {name: data for name, _, data in digits}
    job = train(templates, user, dataset("flat-digits", files, {name: [digit] for name, digit, _ in digits}))

    metrics = json_output(job, "metrics")
    assert metrics["label_source"] == "categories"
    assert metrics["accuracy"] >= DIGITS_FLOOR, metrics["accuracy"]
    assert metrics["images"] == {
        "used": DIGITS,
        "train": 320,
        "test": 80,
        "unlabelled_left_out": 0,
        "several_categories_left_out": 0,
    }
    model = model_load(output(job, "model").file.open("rb").read())
    assert model["labels"] == [str(d) for d in range(10)]
    assert "labels from its categories" in log_of(job)


def test_categories_win_over_folders(templates, dataset, user):
    """Folders x/ and y/ mix the kinds; the categories say which kind each image is."""
    files = {
        f"{'xy'[i % 2]}/{kind}-{i:02d}.png": png(kind, seed=10 * k + i)
        for k, kind in enumerate(KINDS)
        for i in range(8)
    }
    job = train(templates, user, dataset("both", files, {name: [name[2:].split("-")[0]] for name in files}))
    metrics = json_output(job, "metrics")
    assert metrics["label_source"] == "categories" and metrics["accuracy"] == 1.0
    assert metrics["class_counts"] == {"dark": 8, "light": 8, "stripes": 8}
    assert model_load(output(job, "model").file.open("rb").read())["labels"] == list(KINDS)


def test_images_with_several_categories_or_none_are_left_out_and_logged(templates, dataset, user):
    files = {f"{kind}-{i:02d}.png": png(kind, seed=10 * k + i) for k, kind in enumerate(KINDS) for i in range(8)}
    categories = {name: [name.split("-")[0]] for name in files}
    files |= {"both-1.png": png("dark", 90), "both-2.png": png("light", 91), "dark/plain.png": png("dark", 92)}
    files["notes.txt"] = b"not an image"
    categories |= {"both-1.png": ["dark", "light"], "both-2.png": ["light", "stripes"], "notes.txt": ["dark"]}
    # dark/plain.png has no category: its folder is not consulted once the dataset has categories.
    job = train(templates, user, dataset("mixed", files, categories))

    metrics = json_output(job, "metrics")
    assert metrics["label_source"] == "categories"
    assert metrics["images"] == {
        "used": 24,
        "train": 19,
        "test": 5,
        "unlabelled_left_out": 1,
        "several_categories_left_out": 2,
    }
    assert metrics["class_counts"] == {"dark": 8, "light": 8, "stripes": 8}
    log = log_of(job)
    assert "WARNING 2 images with several categories left out (one label per image): both-1.png, both-2.png" in log
    assert "WARNING 1 images without a category left out: dark/plain.png" in log


def test_a_dataset_without_categories_is_labelled_by_folders(templates, dataset, user):
    files = {f"{kind}/{i:02d}.png": png(kind, seed=10 * k + i) for k, kind in enumerate(KINDS) for i in range(6)}
    metrics = json_output(train(templates, user, dataset("folders", files | {"top.png": png("dark", 99)})), "metrics")
    assert metrics["label_source"] == "folders" and metrics["accuracy"] == 1.0
    assert metrics["images"]["used"] == 18 and metrics["images"]["unlabelled_left_out"] == 1


def test_one_category_among_the_single_labelled_images_is_not_enough(templates, dataset, user):
    files = {f"{i}.png": png("dark", i) for i in range(4)} | {"x.png": png("light", 9)}
    data = dataset("one", files, {**{f"{i}.png": ["dark"] for i in range(4)}, "x.png": ["dark", "light"]})
    body = {"input_values": {"dataset": {"value": data.pk, "type": IC_DATASET}}}
    job = job_create(template=templates["sklearn_image_class_train"], body=body, creator=user, dry_run=True)
    job.save()
    run_job(job_id=job.pk, worker="test")
    job.refresh_from_db()
    assert job.status == "errored"
    assert "has images of 1 class(es) by its categories" in job.error_reason


# --- Predict ---------------------------------------------------------------------------------------


@pytest.fixture
def unseen(dataset) -> Dataset:
    """Three images of each kind with their kind as category, in folders that say otherwise, plus one of
    a kind the model never saw, one with two categories, one without any (in a kind's folder) and a text."""
    files = {f"other/{kind}-{i}.png": png(kind, seed=50 + 10 * k + i) for k, kind in enumerate(KINDS) for i in range(3)}
    categories = {name: [name.split("/")[1].split("-")[0]] for name in files}
    files |= {"new.png": png("light", 81), "two.png": png("dark", 82), "dark/none.png": png("dark", 83)}
    categories |= {"new.png": ["cloudy"], "two.png": ["dark", "light"]}
    return dataset("unseen", files | {"notes.txt": b"n"}, categories)


def test_predictions_are_written_back_as_the_new_datasets_categories(templates, patterns, unseen, user):
    job = predict(templates, user, train(templates, user, patterns), unseen)  # write_categories: the default
    rows = csv_rows(job)
    images = {name for name in files_of(unseen.pk) if name != "notes.txt"}
    assert set(rows) == images

    metrics = json_output(job, "metrics")
    assert (metrics["label_source"], metrics["labelled"], metrics["accuracy"]) == ("categories", 9, 1.0)
    assert metrics["unknown_labels"] == ["cloudy"]
    assert (metrics["unlabelled"], metrics["several_categories"]) == (1, 1)
    assert metrics["predictions_layout"] == "categories"
    # Truth from categories only: not the folders (other/, dark/), not a label the model does not know.
    assert rows["other/light-0.png"]["true_label"] == "light"
    assert {rows[name]["true_label"] for name in ("new.png", "two.png", "dark/none.png")} == {""}

    pk = metrics["predictions_dataset"]
    assert json.loads(output(job, "predictions").file.open("rb").read()) == pk
    stored = files_of(pk)
    originals = files_of(unseen.pk)
    assert set(stored) == images | {"predictions.csv"}
    assert all(stored[name] == originals[name] for name in images)
    predicted = {name: [row["predicted_label"]] for name, row in rows.items()}
    assert dataset_categories(dataset=Dataset.objects.get(pk=pk)) == predicted
    assert predicted["dark/none.png"] == ["dark"] and predicted["other/stripes-2.png"] == ["stripes"]

    # What UFDL's client reads.
    response = bearer_client(user).get(f"/v1/classify/datasets/{pk}/categories")
    assert response.status_code == 200, response.content
    assert response.json() == predicted


def test_predict_scores_against_folders_when_the_input_has_no_categories(templates, patterns, dataset, user):
    files = {f"{kind}/{i}.png": png(kind, seed=60 + 10 * k + i) for k, kind in enumerate(KINDS) for i in range(3)}
    job = predict(
        templates, user, train(templates, user, patterns), dataset("by-folder", files | {"top.png": png("dark", 1)})
    )
    metrics = json_output(job, "metrics")
    assert (metrics["label_source"], metrics["labelled"], metrics["accuracy"]) == ("folders", 9, 1.0)
    assert metrics["unlabelled"] == 1
    predictions = Dataset.objects.get(pk=metrics["predictions_dataset"])
    assert dataset_categories(dataset=predictions) == {
        name: [row["predicted_label"]] for name, row in csv_rows(job).items()
    }


def test_without_write_categories_the_images_are_refiled_and_uncategorised(templates, patterns, unseen, user):
    job = predict(templates, user, train(templates, user, patterns), unseen, write_categories=False)
    metrics = json_output(job, "metrics")
    assert metrics["predictions_layout"] == "class_folders" and metrics["accuracy"] == 1.0
    predictions = Dataset.objects.get(pk=metrics["predictions_dataset"])
    assert dataset_categories(dataset=predictions) == {}
    refiled = {f"{row['predicted_label']}/{name.rsplit('/', 1)[-1]}" for name, row in csv_rows(job).items()}
    assert set(files_of(predictions.pk)) == refiled | {"predictions.csv"}
