"""A UFDL user's whole session, sent exactly as UFDL's Python client sends it, against a real Celery worker:
an admin makes a team and adds a member; the member makes a project and an image-classification dataset,
uploads 100 images with flat names (no class folders: the labels are only in the categories), finds the
scikit-learn Train template by matching, trains on the dataset (held-out accuracy far above chance), and
predicts on a second dataset, the predictions coming back as the categories of a new dataset.

Chance is 0.1 (ten digits); the floor is 0.5. Measured (deterministic: fixed data and seed): 0.95
held-out on 20 of the 100 images with the shipped defaults (calibrated RBF SVC), and 0.66 on the 50
prediction images (a model of 80 training images). A label mix-up (images paired with other images'
categories) lands near chance and fails loudly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from executors.management.demo_data import DEMO_DATASETS, digit_files
from tests.e2e import wait_for_status
from tests.workspaces.ufdl_client import UFDLClient
from workspaces.models import Dataset

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
SKLEARN_MODEL = "Model<Domain<'Image Classification'>, Framework<'scikit-learn', '1'>>"
CHANCE_FLOOR = 0.5


@pytest.fixture(autouse=True)
def media_root(shared_media):
    """The worker's media folder (not the data-layer tests' own): uploads must be where the worker reads."""
    return shared_media


def digits(count: int, *, offset: int = 0) -> list[tuple[str, bytes, str]]:
    """``count`` digit images as (flat file name, PNG bytes, digit), taking every digit in turn."""
    images = list(digit_files(DEMO_DATASETS[0]))[offset:]
    by_label: dict[str, list[tuple[str, bytes]]] = {}
    for name, data in images:
        by_label.setdefault(name.split("/")[0], []).append((name, data))
    chosen = []
    while len(chosen) < count:
        for label in sorted(by_label):
            name, data = by_label[label].pop(0)
            chosen.append((f"img-{name.split('-')[-1]}", data, label))
    return chosen[:count]


def upload_labelled(client: UFDLClient, pk: int, images: list[tuple[str, bytes, str]]) -> None:
    for name, data, _ in images:
        assert client.ic_datasets.add_file(pk, name, data)["filename"] == name
    by_label: dict[str, list[str]] = {}
    for name, _, label in images:
        by_label.setdefault(label, []).append(name)
    for label, names in by_label.items():
        assert client.ic_datasets.add_categories(pk, names, [label]) == {name: [label] for name in names}


def output_pk(job: dict, name: str) -> int:
    (output,) = [output for output in job["outputs"] if output["name"] == name]
    return output["pk"]


def finished(client: UFDLClient, pk: int, worker) -> dict:
    job = wait_for_status(pk, {"finished", "errored", "cancelled"}, timeout=120)
    assert job.status == "finished", f"{job.error_reason}\n{worker.tail()}"
    return client.jobs.retrieve(pk)


def test_a_ufdl_users_session_from_team_to_predicted_categories(worker, seeded_catalogue, ufdl):
    admin, alice = ufdl("root", staff=True), ufdl("alice")
    for name in ("sklearn_image_class_train", "sklearn_image_class_predict"):
        body = json.loads((REPO / "templates" / "builtin" / f"{name}.json").read_text())
        admin.job_templates.import_template(body)

    # The admin makes a team and makes alice a writer in it; alice makes a project there.
    team = admin.teams.create("vision")
    admin.teams.add_membership(team["pk"], "alice", "W")
    assert alice.teams.get_permissions_for_user(team["pk"], "alice") == "W"
    project = alice.projects.create("digits", team["pk"])
    licence = next(row for row in alice.context.post("v1/licences/list", None).json() if row["name"] == "CC-BY-4.0")

    # An image-classification dataset of 100 images labelled only by their categories.
    train_set = alice.ic_datasets.create("digits-100", project["pk"], licence["pk"], description="flat names")
    train_images = digits(100)
    upload_labelled(alice, train_set["pk"], train_images)
    assert len(alice.ic_datasets.retrieve(train_set["pk"])["categories"]) == 100

    # Matching finds the scikit-learn trainer for such a dataset; training on it beats chance by far.
    matching = alice.job_templates.get_all_matching_templates("Train", dataset=IC_DATASET)
    trainer = max((t for t in matching if t["name"] == "sklearn_image_class_train"), key=lambda t: t["version"])
    job = alice.job_templates.create_job(
        trainer["pk"],
        {"input_values": {"dataset": {"value": train_set["pk"], "type": IC_DATASET}}, "description": "100 digits"},
    )
    job = finished(alice, job["pk"], worker)
    metrics = json.loads(alice.jobs.get_output(job["pk"], "metrics", "JSON"))
    assert metrics["label_source"] == "categories"
    assert metrics["images"]["used"] == 100 and metrics["images"]["test"] == 20
    assert metrics["accuracy"] >= CHANCE_FLOOR, metrics["accuracy"]

    # Predict on 50 other images; the predictions come back as the categories of a new dataset.
    test_set = alice.ic_datasets.create("digits-50", project["pk"], licence["pk"])
    test_images = digits(50, offset=500)
    upload_labelled(alice, test_set["pk"], test_images)
    predictor = max(
        (t for t in alice.job_templates.list() if t["name"] == "sklearn_image_class_predict"),
        key=lambda t: t["version"],
    )
    prediction = alice.job_templates.create_job(
        predictor["pk"],
        {
            "input_values": {
                "model": {"value": output_pk(job, "model"), "type": f"JobOutput<{SKLEARN_MODEL}>"},
                "dataset": {"value": test_set["pk"], "type": IC_DATASET},
            }
        },
    )
    prediction = finished(alice, prediction["pk"], worker)
    predicted_pk = json.loads(alice.jobs.get_output(prediction["pk"], "predictions", IC_DATASET))
    predicted = alice.ic_datasets.retrieve(predicted_pk)
    assert (predicted["project"], predicted["domain"]) == (project["pk"], "Image Classification")
    categories = alice.ic_datasets.get_categories(predicted_pk)
    truth = {name: label for name, _, label in test_images}
    assert set(categories) == set(truth) and all(len(labels) == 1 for labels in categories.values())
    correct = sum(categories[name] == [label] for name, label in truth.items())
    assert correct / len(truth) >= CHANCE_FLOOR, correct
    predict_metrics = json.loads(alice.jobs.get_output(prediction["pk"], "metrics", "JSON"))
    assert predict_metrics["accuracy"] == pytest.approx(correct / len(truth))
    # The team's members see the jobs and the new dataset; nobody else does.
    assert Dataset.objects.get(pk=predicted_pk).project_id == project["pk"]
    outsider = ufdl("mallory")
    assert outsider.jobs.list() == [] and outsider.ic_datasets.list() == []
