"""The pipeline end to end with a real Celery worker: ``train_and_predict`` on the digits demo data,
through the HTTP API as an ordinary user, from create-job to the downloaded model and predictions. The
demo images carry their digit both as folder and as category; training takes the categories, and the
predictions come back as the categories of a new dataset, read as UFDL's client reads them.

Accuracy floor: 0.95, on both the held-out part of ``digits`` (Train's metrics) and ``digits-test``
(Predict's). Measured with the shipped defaults (calibrated RBF SVC, C=10, 16x16, seed 0): 0.991 on the
324 held-out images and 0.989 on the 179 test images. The floor leaves room for scikit-learn releases to
move a few images either way, and still fails loudly for a broken preprocessing or label mix-up (which
lands near 0.1, chance for ten classes).
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from executors.builtin.classifiers import classify, model_load
from executors.builtin.images import Preprocessing
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.e2e import wait_for_status
from tests.pipeline.conftest import IC_DATASET, PIPELINE_TEMPLATES, SKLEARN_MODEL, run_command, template_body
from workspaces.models import Dataset

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ACCURACY_FLOOR = 0.95
CSV_TYPE = "BLOB<'text/csv'>"


def content(response) -> bytes:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def test_train_and_predict_on_digits(worker, seeded_catalogue, admin_user, user):
    for name in PIPELINE_TEMPLATES:
        template_import(data=template_body(name), creator=admin_user)
    run_command("seed_demo_data")
    digits, digits_test = Dataset.objects.get(name="digits"), Dataset.objects.get(name="digits-test")
    client = bearer_client(user)
    meta = client.post(
        "/v1/job-templates/list",
        {"expressions": [{"type": "exact", "field": "name", "value": "train_and_predict"}]},
        format="json",
    ).json()[0]

    response = client.post(
        f"/v1/job-templates/{meta['pk']}/create-job",
        {
            "input_values": {
                "train:dataset": {"value": digits.pk, "type": IC_DATASET},
                "predict:dataset": {"value": "digits-test v1", "type": "Name<Dataset<Domain<'Image Classification'>>>"},
            },
            "description": "digits end to end",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    parent = wait_for_status(response.json()["pk"], {"finished", "errored", "cancelled"}, timeout=120)
    assert parent.status == "finished", f"{parent.error_reason}\n{worker.tail()}"
    train, predict = parent.children.get(child_name="train"), parent.children.get(child_name="predict")
    assert train.creator == predict.creator == user

    # Train: held-out accuracy above the floor, the rest of the metrics consistent with the data.
    metrics = json.loads(content(client.get(f"/v1/jobs/{train.pk}/outputs/metrics/JSON")))
    assert metrics["accuracy"] >= ACCURACY_FLOOR, metrics["accuracy"]
    assert metrics["label_source"] == "categories"
    assert metrics["images"] == {
        "used": 1618,
        "train": 1294,
        "test": 324,
        "unlabelled_left_out": 0,
        "several_categories_left_out": 0,
    }
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == 324
    assert metrics["confusion_matrix"]["labels"] == [str(d) for d in range(10)]

    # The model, downloaded through the API from the parent (where the child's outputs surface), works.
    model = model_load(content(client.get(f"/v1/jobs/{parent.pk}/outputs/train:model/{SKLEARN_MODEL}")))
    assert model["labels"] == [str(d) for d in range(10)] and model["preprocessing"] == {"image_size": 16}
    seven = digits_test.files.filter(filename__startswith="7/").first()
    with seven.file.open("rb") as handle:
        labels, _ = classify(model["estimator"], np.stack([Preprocessing(16).vector(handle.read())]))
    assert labels == ["7"]

    # Predict: a new dataset of the caller's, public like its input: every image under its own name with
    # its predicted label as its category, plus predictions.csv.
    predictions_pk = json.loads(content(client.get(f"/v1/jobs/{predict.pk}/outputs/predictions/{IC_DATASET}")))
    dataset = client.get(f"/v1/datasets/{predictions_pk}").json()
    assert (dataset["name"], dataset["domain"], dataset["creator"], dataset["is_public"]) == (
        "digits-test-predictions",
        "Image Classification",
        user.pk,
        True,
    )
    assert dataset["licence"] == digits_test.licence_id
    assert len(dataset["files"]) == 179 + 1 and "predictions.csv" in dataset["files"]

    rows = list(
        csv.DictReader(
            io.StringIO(content(client.get(f"/v1/jobs/{predict.pk}/outputs/predictions.csv/{CSV_TYPE}")).decode())
        )
    )
    assert len(rows) == 179 and all(row["true_label"] for row in rows)
    csv_accuracy = np.mean([row["predicted_label"] == row["true_label"] for row in rows])
    predict_metrics = json.loads(content(client.get(f"/v1/jobs/{parent.pk}/outputs/predict:metrics/JSON")))
    assert predict_metrics["accuracy"] == pytest.approx(csv_accuracy) and csv_accuracy >= ACCURACY_FLOOR
    assert predict_metrics["predictions_dataset"] == predictions_pk
    assert (predict_metrics["label_source"], predict_metrics["predictions_layout"]) == ("categories", "categories")
    assert {row["filename"] for row in rows} | {"predictions.csv"} == set(dataset["files"])
    categories = client.get(f"/v1/classify/datasets/{predictions_pk}/categories")
    assert categories.status_code == 200, categories.json()
    assert categories.json() == {row["filename"]: [row["predicted_label"]] for row in rows}
    assert content(client.get(f"/v1/datasets/{predictions_pk}/files/predictions.csv")) == content(
        client.get(f"/v1/jobs/{predict.pk}/outputs/predictions.csv/{CSV_TYPE}")
    )
