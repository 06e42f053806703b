"""The scikit-learn executors run in-process with a real ``ExecutionContext`` whose dataset access and
output storage are stand-ins (no database, no worker): what they read, report, write and create. Datasets
here are folders without categories; labels from categories, on a real database, are in
``test_categories``."""

from __future__ import annotations

import csv
import io
import logging
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from executors.builtin import sklearn as sklearn_executors
from executors.builtin.classifiers import (
    CLASSIFIERS,
    TrainSettings,
    build_classifier,
    classify,
    model_load,
)
from executors.builtin.images import Preprocessing
from executors.builtin.sklearn import ImageClassificationPredict, ImageClassificationTrain
from executors.context import ExecutionContext, JobCancelled, LocalFile, OutputFile
from tests.pipeline.conftest import (
    IC_DATASET,
    SKLEARN_MODEL,
    pattern_image,
    template_body,
    write_pattern_dataset,
)

CREATED_PK = 99


@dataclass
class DatasetRow:
    """Stands in for the dataset row an input gives (executors read pk, name and str())."""

    pk: int
    name: str

    def __str__(self) -> str:
        return f"{self.name} v1"


def defaults(template: str) -> dict:
    return {name: spec["default"] for name, spec in template_body(template)["specific"]["parameters"].items()}


class RecordingContext(ExecutionContext):
    reported: list

    def progress(self, fraction: float, **data) -> None:
        self.reported.append((fraction, data))
        super().progress(fraction, **data)


class Harness:
    """A context over folders on disk (one per dataset pk) that records outputs and created datasets."""

    def __init__(self, scratch: Path, *, inputs: dict, parameters: dict, outputs: dict, folders: dict[int, Path]):
        self.folders = folders
        self.categories: dict[int, dict[str, list[str]]] = {}
        self.written: dict[str, tuple[str, object]] = {}
        self.created: list[dict] = []
        self.listed = 0
        self.on_list = lambda: None
        self.cancelled = threading.Event()
        self.ctx = RecordingContext(
            job_id=11,
            inputs=inputs,
            parameters=parameters,
            outputs=outputs,
            scratch_dir=scratch,
            cancelled=self.cancelled,
            write=self.write,
            logger=logging.getLogger("tests.pipeline"),
            dataset_files=self.dataset_files,
            dataset_categories=lambda dataset: self.categories.get(dataset.pk, {}),
            create_dataset=self.create_dataset,
        )
        self.ctx.reported = []

    def dataset_files(self, dataset):
        self.listed += 1
        self.on_list()
        root = self.folders[dataset.pk]
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            yield LocalFile(path.relative_to(root).as_posix(), path)

    def create_dataset(self, *, name, files, like, description, categories):
        stored = {filename: data if isinstance(data, bytes) else Path(data).read_bytes() for filename, data in files}
        self.created.append(
            {"name": name, "files": stored, "like": like, "description": description, "categories": categories}
        )
        return CREATED_PK

    def write(self, name, output_type, data):
        self.written[name] = (output_type, data)


def train(tmp_path: Path, folder: Path, **parameters) -> Harness:
    dataset = DatasetRow(1, "shapes")
    harness = Harness(
        tmp_path,
        inputs={"dataset": dataset},
        parameters={**defaults("sklearn_image_class_train"), **parameters},
        outputs={"model": SKLEARN_MODEL},
        folders={1: folder},
    )
    ImageClassificationTrain().run(harness.ctx)
    return harness


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    """Three classes of 12 noisy images each, plus an unlabelled image and a text file."""
    return write_pattern_dataset(tmp_path_factory.mktemp("shapes"), per_class=12)


@pytest.fixture(scope="module")
def model_bytes(shapes, tmp_path_factory) -> bytes:
    return train(tmp_path_factory.mktemp("scratch"), shapes).written["model"][1]


class TestTrain:
    def test_fits_reports_its_phases_and_writes_the_model_and_metrics(self, shapes, tmp_path):
        harness = train(tmp_path, shapes)
        assert set(harness.written) == {"model", "metrics"}
        model_type, model = harness.written["model"]
        assert model_type == SKLEARN_MODEL
        loaded = model_load(model)
        assert loaded["labels"] == ["dark", "light", "stripes"]
        assert loaded["preprocessing"] == {"image_size": 16} and loaded["classifier"] == "svc"
        assert loaded["trained_on"] == "shapes v1"

        metrics_type, metrics = harness.written["metrics"]
        assert metrics_type == "JSON"
        # 36 labelled images (the top-level one is left out, the text file is no image), 20% held out.
        assert metrics["label_source"] == "folders"
        assert metrics["images"] == {
            "used": 36,
            "train": 28,
            "test": 8,
            "unlabelled_left_out": 1,
            "several_categories_left_out": 0,
        }
        assert metrics["class_counts"] == {"dark": 12, "light": 12, "stripes": 12}
        assert metrics["stratified"] is True and sum(metrics["test_class_counts"].values()) == 8
        assert metrics["accuracy"] == 1.0  # three kinds no classifier can confuse
        matrix = metrics["confusion_matrix"]
        assert matrix["labels"] == ["dark", "light", "stripes"]
        assert sum(map(sum, matrix["matrix"])) == 8
        assert set(metrics["per_class"]) == {"dark", "light", "stripes"}

        phases = [data.get("phase") for _, data in harness.ctx.reported]
        assert [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]] == [
            "loading",
            "fitting",
            "evaluating",
            "writing",
            "done",
        ]
        fractions = [fraction for fraction, _ in harness.ctx.reported]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0

    @pytest.mark.parametrize("classifier", CLASSIFIERS)
    def test_every_classifier_learns_the_shapes(self, shapes, tmp_path, classifier):
        harness = train(tmp_path, shapes, classifier=classifier, image_size=8)
        assert harness.written["metrics"][1]["accuracy"] == 1.0
        model = model_load(harness.written["model"][1])
        fresh = np.stack([Preprocessing(8).vector(_png(kind, seed=7)) for kind in ("dark", "light", "stripes")])
        labels, probabilities = classify(model["estimator"], fresh)
        assert labels == ["dark", "light", "stripes"]
        assert all(0.5 < p <= 1.0 for p in probabilities)

    @pytest.mark.parametrize(
        ("parameters", "message"),
        [
            ({"classifier": "knn"}, "classifier must be one of svc, logistic, random_forest, not 'knn'"),
            ({"test_fraction": 1.0}, "test_fraction must be between 0 and 1"),
            ({"C": 0.0}, "C must be positive"),
            ({"image_size": 0}, "image_size must be between 1 and 512"),
        ],
    )
    def test_bad_parameters_fail_before_any_image_is_read(self, shapes, tmp_path, parameters, message):
        harness = Harness(
            tmp_path,
            inputs={"dataset": DatasetRow(1, "shapes")},
            parameters={**defaults("sklearn_image_class_train"), **parameters},
            outputs={"model": SKLEARN_MODEL},
            folders={1: shapes},
        )
        with pytest.raises(ValueError, match=message):
            ImageClassificationTrain().run(harness.ctx)
        assert harness.listed == 0 and harness.written == {}

    def test_one_class_is_not_enough(self, tmp_path):
        folder = tmp_path / "one"
        (folder / "only").mkdir(parents=True)
        for index in range(4):
            (folder / "only" / f"{index}.png").write_bytes(_png("dark", seed=index))
        with pytest.raises(ValueError, match="1 class folder.* and no categories"):
            train(tmp_path, folder)

    def test_cancelled_while_loading_writes_nothing(self, shapes, tmp_path):
        harness = Harness(
            tmp_path,
            inputs={"dataset": DatasetRow(1, "shapes")},
            parameters=defaults("sklearn_image_class_train"),
            outputs={"model": SKLEARN_MODEL},
            folders={1: shapes},
        )
        harness.on_list = harness.cancelled.set
        with pytest.raises(JobCancelled):
            ImageClassificationTrain().run(harness.ctx)
        assert harness.written == {}

    def test_cancelled_while_fitting_stops_before_evaluating(self, shapes, tmp_path, monkeypatch):
        harness = Harness(
            tmp_path,
            inputs={"dataset": DatasetRow(1, "shapes")},
            parameters=defaults("sklearn_image_class_train"),
            outputs={"model": SKLEARN_MODEL},
            folders={1: shapes},
        )
        fit = sklearn_executors.fit_logging_warnings

        def fit_then_cancel(*args):
            fit(*args)
            harness.cancelled.set()

        monkeypatch.setattr(sklearn_executors, "fit_logging_warnings", fit_then_cancel)
        with pytest.raises(JobCancelled):
            ImageClassificationTrain().run(harness.ctx)
        assert harness.written == {}
        assert "evaluating" not in {data.get("phase") for _, data in harness.ctx.reported}


class TestPredict:
    @pytest.fixture
    def unseen(self, tmp_path) -> Path:
        """Three images per class, one in a folder that is no class, one at the top level, a text file."""
        folder = write_pattern_dataset(tmp_path / "unseen", per_class=3, seed=5)
        (folder / "unknown").mkdir()
        (folder / "unknown" / "dark-00.png").write_bytes(_png("dark", seed=9))
        return folder

    def predict(self, tmp_path, folder, model: bytes, **parameters) -> Harness:
        (tmp_path / "model.bin").write_bytes(model)
        model_input = OutputFile(pk=5, name="model", type=SKLEARN_MODEL, job_id=3, path=tmp_path / "model.bin")
        harness = Harness(
            tmp_path,
            inputs={"model": model_input, "dataset": DatasetRow(2, "unseen")},
            parameters={**defaults("sklearn_image_class_predict"), **parameters},
            outputs={"predictions": IC_DATASET},
            folders={2: folder},
        )
        ImageClassificationPredict().run(harness.ctx)
        return harness

    def test_labels_every_image_into_a_new_dataset_a_csv_and_metrics(self, tmp_path, unseen, model_bytes):
        harness = self.predict(tmp_path, unseen, model_bytes)
        assert harness.written["predictions"] == (IC_DATASET, CREATED_PK)
        csv_type, csv_bytes = harness.written["predictions.csv"]
        assert csv_type == "BLOB<'text/csv'>"
        rows = list(csv.DictReader(io.StringIO(csv_bytes.decode())))
        assert len(rows) == 11  # 9 in class folders, unknown/dark-00.png, loose.png; README.txt is no image
        by_name = {row["filename"]: row for row in rows}
        assert by_name["dark/dark-00.png"]["true_label"] == "dark"
        assert by_name["unknown/dark-00.png"]["true_label"] == "" and by_name["loose.png"]["true_label"] == ""
        assert all(row["predicted_label"] == row["true_label"] for row in rows if row["true_label"])
        assert by_name["unknown/dark-00.png"]["predicted_label"] == "dark"
        assert all(0 < float(row["probability"]) <= 1 for row in rows)

        metrics = harness.written["metrics"][1]
        assert metrics["images"] == 11 and metrics["labelled"] == 9 and metrics["accuracy"] == 1.0
        assert metrics["label_source"] == "folders" and metrics["unlabelled"] == 1  # loose.png
        assert metrics["unknown_labels"] == ["unknown"] and metrics["predictions_dataset"] == CREATED_PK
        assert metrics["model"] == {"job": 3, "output": 5, "trained_on": "shapes v1"}
        assert metrics["predictions_layout"] == "categories"

        # By default the images keep their names and their predicted labels become their categories.
        (created,) = harness.created
        assert created["name"] == "unseen-predictions" and created["like"].pk == 2
        assert "job 11" in created["description"] and "model of job 3" in created["description"]
        assert "category is its predicted label" in created["description"]
        files = created["files"]
        assert files["predictions.csv"] == csv_bytes
        assert set(files) == set(by_name) | {"predictions.csv"}
        assert files["unknown/dark-00.png"] == (unseen / "unknown" / "dark-00.png").read_bytes()
        assert created["categories"] == {name: [row["predicted_label"]] for name, row in by_name.items()}

    def test_without_categories_the_images_are_refiled_under_their_predicted_class(self, tmp_path, unseen, model_bytes):
        harness = self.predict(tmp_path, unseen, model_bytes, write_categories=False)
        (created,) = harness.created
        assert created["categories"] is None
        assert "filed under their predicted class" in created["description"]
        images = sorted(name for name in created["files"] if name != "predictions.csv")
        assert len(images) == 11
        # The two dark-00.png (dark/ and unknown/) do not collide.
        assert {"dark/dark-00.png", "dark/dark-00-2.png", "stripes/stripes-02.png"} <= set(images)
        assert created["files"]["dark/dark-00.png"] == (unseen / "dark" / "dark-00.png").read_bytes()
        assert harness.written["metrics"][1]["predictions_layout"] == "class_folders"

    def test_a_job_of_version_1_without_write_categories_refiles_as_version_1_did(self, tmp_path, unseen, model_bytes):
        harness = Harness(
            tmp_path,
            inputs={
                "model": OutputFile(pk=5, name="model", type=SKLEARN_MODEL, job_id=3, path=tmp_path / "model.bin"),
                "dataset": DatasetRow(2, "unseen"),
            },
            parameters={"copy_images": True},  # version 1's only parameter
            outputs={"predictions": IC_DATASET},
            folders={2: unseen},
        )
        (tmp_path / "model.bin").write_bytes(model_bytes)
        ImageClassificationPredict().run(harness.ctx)
        (created,) = harness.created
        assert created["categories"] is None and "dark/dark-00-2.png" in created["files"]

    @pytest.mark.parametrize("write_categories", [True, False])
    def test_without_copying_images_the_dataset_holds_only_the_csv(
        self, tmp_path, unseen, model_bytes, write_categories
    ):
        harness = self.predict(tmp_path, unseen, model_bytes, copy_images=False, write_categories=write_categories)
        (created,) = harness.created
        assert list(created["files"]) == ["predictions.csv"] and created["categories"] is None
        assert harness.written["metrics"][1]["predictions_layout"] == "csv_only"

    @pytest.mark.parametrize("model", [b"garbage", pickle.dumps({"format": "something else"})])
    def test_a_model_of_another_kind_is_refused(self, tmp_path, unseen, model):
        with pytest.raises(ValueError, match="model"):
            self.predict(tmp_path, unseen, model)


def test_svc_without_enough_images_per_class_for_calibration_still_predicts():
    settings = TrainSettings.from_parameters(defaults("sklearn_image_class_train"))
    estimator = build_classifier(settings, smallest_class=1)
    rng = np.random.default_rng(0)
    features = np.stack([Preprocessing(4).vector(_png(kind, seed=i)) for i, kind in enumerate(["dark", "light"])])
    estimator.fit(features, ["dark", "light"])
    labels, probabilities = classify(estimator, features + rng.normal(0, 0.01, features.shape).astype(np.float32))
    assert labels == ["dark", "light"] and probabilities == [None, None]


def _png(kind: str, *, seed: int) -> bytes:
    buffer = io.BytesIO()
    pattern_image(kind, np.random.default_rng(seed)).save(buffer, format="PNG")
    return buffer.getvalue()
