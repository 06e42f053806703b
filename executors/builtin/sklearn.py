"""Image classification with scikit-learn: a Train executor that fits a classifier on a dataset of labelled
images (by their categories, else by class folder), and a Predict executor that labels a dataset's images
with that model.

Estimators, evaluation and the model's bytes (and why unpickling them is safe) are in ``classifiers``;
which label an image has (and which images have none) in ``labels``; image files, pixels and the CSV in
``images``.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split

from executors.base import Executor
from executors.builtin.classifiers import (
    TrainSettings,
    build_classifier,
    classify,
    evaluation,
    model_dump,
    model_load,
)
from executors.builtin.images import Preprocessing, is_image, predictions_csv, refiled_name
from executors.builtin.labels import CATEGORIES, Labelling, examples, image_labels
from executors.context import ExecutionContext, LocalFile

FRAMEWORK = "Framework<'scikit-learn', '1'>"
DOMAIN = "Domain<'Image Classification'>"
CSV_OUTPUT = ("predictions.csv", "BLOB<'text/csv'>")
CANCEL_CHECK_EVERY = 64  # images between two cancellation checks (and progress reports) while loading

# What a predictions dataset holds besides predictions.csv (``predictions_layout`` in Predict's metrics).
LAYOUT_CATEGORIES = "categories"  # the images under their own names, each one's predicted label its category
LAYOUT_CLASS_FOLDERS = "class_folders"  # the images filed under <predicted label>/
LAYOUT_CSV_ONLY = "csv_only"
LAYOUT_DESCRIPTIONS = {
    LAYOUT_CATEGORIES: " The images keep their names; each one's category is its predicted label.",
    LAYOUT_CLASS_FOLDERS: " The images are filed under their predicted class.",
    LAYOUT_CSV_ONLY: "",
}


# --- reading images -------------------------------------------------------------------------------


def image_files(ctx: ExecutionContext, dataset: Any) -> list[LocalFile]:
    """The dataset's images (other files, such as a CSV, are logged and left out)."""
    files = list(ctx.dataset_files(dataset))
    images = [file for file in files if is_image(file.filename)]
    if len(images) < len(files):
        ctx.log.info("%s: %s files that are not images left out", dataset, len(files) - len(images))
    return images


def labelling_of(ctx: ExecutionContext, dataset: Any, images: list[LocalFile], *, consequence: str) -> Labelling:
    """The images' labels (the rules are in ``labels``); logs where they came from, and the images without
    one with what becomes of them (``consequence``: "left out", "not scored")."""
    labelling = image_labels([file.filename for file in images], ctx.dataset_categories(dataset))
    ctx.log.info("%s: labels from its %s", dataset, labelling.source)
    if labelling.several:
        ctx.log.warning(
            "%s images with several categories %s (one label per image): %s",
            len(labelling.several),
            consequence,
            examples(labelling.several),
        )
    if labelling.unlabelled:
        ctx.log.warning(
            "%s images %s %s: %s",
            len(labelling.unlabelled),
            "without a category" if labelling.source == CATEGORIES else "at the top level (no class folder)",
            consequence,
            examples(labelling.unlabelled),
        )
    return labelling


def load_features(
    ctx: ExecutionContext, files: list[LocalFile], preprocessing: Preprocessing, *, progress_to: float
) -> np.ndarray:
    """One feature row per file, reporting progress from 0 to ``progress_to`` and stopping on cancel."""
    features = np.empty((len(files), preprocessing.features), dtype=np.float32)
    for index, file in enumerate(files):
        if index % CANCEL_CHECK_EVERY == 0:
            ctx.raise_if_cancelled()
            ctx.progress(progress_to * index / len(files), phase="loading", loaded=index, total=len(files))
        features[index] = preprocessing.vector(file.path, name=file.filename)
    ctx.raise_if_cancelled()
    return features


def fit_logging_warnings(ctx: ExecutionContext, estimator: Any, features: np.ndarray, labels: list[str]) -> None:
    """Fit, sending scikit-learn's warnings (e.g. no convergence within max_iter) to the job's log."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(features, labels)
    for warning in {str(w.message) for w in caught}:
        ctx.log.warning("scikit-learn: %s", warning)


def split(ctx: ExecutionContext, features: np.ndarray, labels: list[str], settings: TrainSettings) -> tuple:
    """A held-out split, stratified by class when every class has enough images for it."""
    try:
        return (
            *train_test_split(
                features, labels, test_size=settings.test_fraction, random_state=settings.random_seed, stratify=labels
            ),
            True,
        )
    except ValueError as error:  # a class with one image, or fewer test images than classes
        ctx.log.warning("not stratifying the held-out split: %s", error)
        return (
            *train_test_split(features, labels, test_size=settings.test_fraction, random_state=settings.random_seed),
            False,
        )


# --- the executors --------------------------------------------------------------------------------


class ImageClassificationTrain(Executor):
    """Fits a scikit-learn classifier on grayscale, resized images labelled by their categories (or, in a
    dataset without any, by their class folder); writes the ``model`` and a ``metrics`` JSON (which labels
    were used, accuracy on a held-out split, per class, confusion matrix)."""

    contract = f"Train<{DOMAIN}, {FRAMEWORK}>"
    parameters = {
        "image_size": "int",
        "classifier": "str",
        "C": "float",
        "max_iter": "int",
        "n_estimators": "int",
        "test_fraction": "float",
        "random_seed": "int",
    }

    def run(self, ctx: ExecutionContext) -> None:
        settings = TrainSettings.from_parameters(ctx.parameters)
        preprocessing = Preprocessing(settings.image_size)
        dataset = ctx.inputs["dataset"]
        started = time.monotonic()

        ctx.progress(0.0, phase="loading")
        images = image_files(ctx, dataset)
        labelling = labelling_of(ctx, dataset, images, consequence="left out")
        labelled = [file for file in images if labelling.label(file.filename) is not None]
        labels = [labelling.labels[file.filename] for file in labelled]
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError(
                f"{dataset} has images of {len(classes)} class(es) by its categories; training needs at least "
                "two (images with exactly one category each)"
                if labelling.source == CATEGORIES
                else f"{dataset} has {len(classes)} class folder(s) with images and no categories; training "
                "needs at least two classes (files named <class>/<image>.png, or categories)"
            )
        features = load_features(ctx, labelled, preprocessing, progress_to=0.5)
        loaded = time.monotonic()

        train_x, test_x, train_y, test_y, stratified = split(ctx, features, labels, settings)
        ctx.progress(0.5, phase="fitting", train=len(train_y), test=len(test_y))
        estimator = build_classifier(settings, smallest_class=min(Counter(train_y).values()))
        ctx.log.info("fitting %s on %s images of %s classes", settings.classifier, len(train_y), len(classes))
        fit_logging_warnings(ctx, estimator, train_x, train_y)
        fitted = time.monotonic()
        ctx.raise_if_cancelled()

        ctx.progress(0.85, phase="evaluating")
        predicted, _ = classify(estimator, test_x)
        metrics = {
            **evaluation(classes, list(test_y), predicted),
            "classifier": settings.classifier,
            "settings": asdict(settings),
            "dataset": {"pk": dataset.pk, "name": str(dataset)},
            "label_source": labelling.source,
            "images": {
                "used": len(labelled),
                "train": len(train_y),
                "test": len(test_y),
                "unlabelled_left_out": len(labelling.unlabelled),
                "several_categories_left_out": len(labelling.several),
            },
            "class_counts": dict(sorted(Counter(labels).items())),
            "test_class_counts": dict(sorted(Counter(test_y).items())),
            "stratified": stratified,
            "seconds": {
                "loading": round(loaded - started, 3),
                "fitting": round(fitted - loaded, 3),
                "evaluating": round(time.monotonic() - fitted, 3),
            },
            "sklearn_version": sklearn.__version__,
            # The model is the one evaluated (fitted on the training part only), not refitted on all.
            "model": "fitted on the training part; accuracy is on the held-out part",
        }
        ctx.log.info("held-out accuracy %.4f on %s images", metrics["accuracy"], len(test_y))
        ctx.raise_if_cancelled()

        ctx.progress(0.95, phase="writing")
        ctx.write_output(
            "model",
            model_dump(
                estimator=estimator,
                labels=classes,
                preprocessing=preprocessing,
                classifier=settings.classifier,
                trained_on=str(dataset),
                accuracy=metrics["accuracy"],
            ),
        )
        ctx.write_output("metrics", metrics, type="JSON")
        ctx.progress(1.0, phase="done")


class ImageClassificationPredict(Executor):
    """Labels every image of a dataset with a model from ImageClassificationTrain. The ``predictions`` are
    a new dataset: ``predictions.csv`` and, with ``copy_images``, the images, either under their own names
    with their predicted label as their category (``write_categories``) or filed under their predicted
    class. The CSV is also an output, and ``metrics`` has the accuracy against the input's labels (its
    categories, else its class folders) when it has any."""

    contract = f"Predict<{DOMAIN}, {FRAMEWORK}>"
    # write_categories is read too, but optionally (see ``layout``): declared, it would be required of every
    # template, and version 1 of sklearn_image_class_predict (exported elsewhere, say) would no longer import.
    parameters = {"copy_images": "bool"}

    def run(self, ctx: ExecutionContext) -> None:
        model_input = ctx.inputs["model"]
        model = model_load(model_input.read_bytes())
        if model["sklearn_version"] != sklearn.__version__:
            ctx.log.warning(
                "model fitted with scikit-learn %s, predicting with %s", model["sklearn_version"], sklearn.__version__
            )
        preprocessing = Preprocessing(**model["preprocessing"])
        known = set(model["labels"])
        dataset = ctx.inputs["dataset"]
        layout = self.layout(ctx)

        ctx.progress(0.0, phase="loading")
        images = image_files(ctx, dataset)
        labelling = labelling_of(ctx, dataset, images, consequence="not scored")
        features = load_features(ctx, images, preprocessing, progress_to=0.5)
        ctx.progress(0.5, phase="predicting", images=len(images))
        predicted, probabilities = classify(model["estimator"], features)
        given = [labelling.label(file.filename) for file in images]
        truth = [label if label in known else None for label in given]
        rows = list(zip((f.filename for f in images), predicted, probabilities, truth, strict=True))
        csv_bytes = predictions_csv(rows)
        ctx.raise_if_cancelled()

        labelled = [(t, p) for t, p in zip(truth, predicted, strict=True) if t is not None]
        metrics = {
            "images": len(images),
            "predicted_counts": dict(sorted(Counter(predicted).items())),
            "label_source": labelling.source,
            "labelled": len(labelled),
            "accuracy": float(np.mean([t == p for t, p in labelled])) if labelled else None,
            # Labels the model was not trained on: those images are predicted but not scored.
            "unknown_labels": sorted({g for g, t in zip(given, truth, strict=True) if g is not None and t is None}),
            "unlabelled": len(labelling.unlabelled),
            "several_categories": len(labelling.several),
            "model": {"job": model_input.job_id, "output": model_input.pk, "trained_on": model["trained_on"]},
            "dataset": {"pk": dataset.pk, "name": str(dataset)},
            "predictions_layout": layout,
        }
        if metrics["accuracy"] is not None:
            ctx.log.info(
                "accuracy %.4f on the %s images labelled by %s", metrics["accuracy"], len(labelled), labelling.source
            )

        ctx.progress(0.6, phase="storing")
        names = self.stored_names(images, predicted, layout)
        pk = ctx.create_dataset(
            name=f"{dataset.name}-predictions",
            files=self.predictions_files(ctx, images, names, csv_bytes),
            like=dataset,
            description=(
                f"Predictions of job {ctx.job_id} for {dataset} with the model of job {model_input.job_id} "
                f"(trained on {model['trained_on']}). predictions.csv lists each image's filename, "
                f"predicted label, probability and true label (by the input's {labelling.source}, when it had "
                f"one).{LAYOUT_DESCRIPTIONS[layout]}"
            ),
            categories=(
                {file.filename: [label] for file, label in zip(images, predicted, strict=True)}
                if layout == LAYOUT_CATEGORIES
                else None
            ),
        )
        metrics["predictions_dataset"] = pk
        ctx.log.info("predictions stored as dataset %s (%s)", pk, layout)
        ctx.write_output("predictions", pk)
        ctx.write_output(CSV_OUTPUT[0], csv_bytes, type=CSV_OUTPUT[1])
        ctx.write_output("metrics", metrics, type="JSON")
        ctx.progress(1.0, phase="done")

    @staticmethod
    def layout(ctx: ExecutionContext) -> str:
        """What the predictions dataset holds besides the CSV, from ``copy_images`` and ``write_categories``."""
        # Version 1 of sklearn_image_class_predict has no write_categories, and a template version never
        # changes once imported: its jobs keep version 1's behaviour (images re-filed under their class).
        write_categories = bool(ctx.parameters.get("write_categories", False))
        if not ctx.parameters["copy_images"]:
            if write_categories:
                ctx.log.info("copy_images is false: only predictions.csv is stored, so there are no categories")
            return LAYOUT_CSV_ONLY
        return LAYOUT_CATEGORIES if write_categories else LAYOUT_CLASS_FOLDERS

    @staticmethod
    def stored_names(images: list[LocalFile], predicted: list[str], layout: str) -> list[str]:
        """The name each image gets in the predictions dataset (none are stored with only the CSV)."""
        if layout == LAYOUT_CATEGORIES:
            return [file.filename for file in images]
        if layout == LAYOUT_CLASS_FOLDERS:
            taken: set[str] = {CSV_OUTPUT[0]}
            return [refiled_name(label, file.filename, taken) for file, label in zip(images, predicted, strict=True)]
        return []

    @staticmethod
    def predictions_files(
        ctx: ExecutionContext, images: list[LocalFile], names: list[str], csv_bytes: bytes
    ) -> Iterator[tuple[str, Any]]:
        """The predictions dataset's files, reporting progress (0.6 → 0.95) as the runner stores them."""
        yield CSV_OUTPUT[0], csv_bytes
        if not names:
            return
        for index, (file, name) in enumerate(zip(images, names, strict=True)):
            if index % CANCEL_CHECK_EVERY == 0:
                ctx.progress(0.6 + 0.35 * index / len(names), phase="storing", stored=index, total=len(names))
            yield name, file.path
