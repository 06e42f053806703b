"""scikit-learn estimators for image classification: the training settings, the estimator each choice
builds, classifying with probabilities, evaluation, and the model output's bytes.

The model output is a pickle of a small dict (the fitted estimator, its labels and its preprocessing).
Unpickling runs code, so where the bytes come from matters: a ``model`` input is a job output whose
stored type is this framework's ``Model`` (checked at create-job), job outputs are written only by
workers running executors from ``EXECUTOR_ALLOWED_MODULES`` for templates an admin imported, and no
route uploads or replaces an output's bytes. The bytes were therefore written by ImageClassificationTrain
(or by other admin-installed code that already runs on the worker), and unpickling them runs nothing a
worker would not run anyway. Should outputs ever become uploadable, sign them or switch formats.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from executors.builtin.images import Preprocessing

MODEL_FORMAT = "executors.builtin.sklearn/image-classification"
MODEL_FORMAT_VERSION = 1
CLASSIFIERS = ("svc", "logistic", "random_forest")


@dataclass(frozen=True)
class TrainSettings:
    """The training parameters, checked before any image is read."""

    image_size: int
    classifier: str
    C: float  # scikit-learn's own name for the inverse regularisation strength
    max_iter: int
    n_estimators: int
    test_fraction: float
    random_seed: int

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> TrainSettings:
        settings = cls(
            image_size=int(parameters["image_size"]),
            classifier=str(parameters["classifier"]),
            C=float(parameters["C"]),
            max_iter=int(parameters["max_iter"]),
            n_estimators=int(parameters["n_estimators"]),
            test_fraction=float(parameters["test_fraction"]),
            random_seed=int(parameters["random_seed"]),
        )
        problems = []
        if settings.classifier not in CLASSIFIERS:
            problems.append(f"classifier must be one of {', '.join(CLASSIFIERS)}, not {settings.classifier!r}")
        if not settings.C > 0:
            problems.append(f"C must be positive, not {settings.C}")
        if settings.max_iter < 1 or settings.n_estimators < 1:
            problems.append("max_iter and n_estimators must be at least 1")
        if not 0 < settings.test_fraction < 1:
            problems.append(f"test_fraction must be between 0 and 1 (exclusive), not {settings.test_fraction}")
        if problems:
            raise ValueError("; ".join(problems))
        Preprocessing(settings.image_size)  # checks the size
        return settings


def build_classifier(settings: TrainSettings, *, smallest_class: int) -> Any:
    """An unfitted estimator for ``settings``. Every choice gives probabilities (the CSV's column)
    where it can: SVC through sigmoid calibration, which needs ≥ 2 training images per class."""
    if settings.classifier == "svc":
        svc = SVC(C=settings.C, gamma="scale", random_state=settings.random_seed)
        if smallest_class < 2:
            return svc
        # ensemble=False: one SVC fitted on all the training data, calibrated on cross-validated scores
        # (SVC(probability=True) is deprecated since scikit-learn 1.9).
        return CalibratedClassifierCV(svc, cv=min(5, smallest_class), ensemble=False)
    if settings.classifier == "logistic":
        # Standardised pixels: lbfgs converges in a fraction of the iterations it needs on raw ones.
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(C=settings.C, max_iter=settings.max_iter, random_state=settings.random_seed),
        )
    return RandomForestClassifier(n_estimators=settings.n_estimators, random_state=settings.random_seed)


def classify(estimator: Any, features: np.ndarray) -> tuple[list[str], list[float | None]]:
    """Labels and their probabilities. With probabilities the label is their argmax, so the two agree
    (a calibrated classifier's ``predict`` need not); without, the probability is ``None``."""
    if len(features) == 0:
        return [], []
    if hasattr(estimator, "predict_proba"):
        probabilities = estimator.predict_proba(features)
        best = probabilities.argmax(axis=1)
        labels = [str(label) for label in estimator.classes_[best]]
        return labels, [float(p) for p in probabilities[np.arange(len(best)), best]]
    return [str(label) for label in estimator.predict(features)], [None] * len(features)


def model_dump(
    *,
    estimator: Any,
    labels: list[str],
    preprocessing: Preprocessing,
    classifier: str,
    trained_on: str,
    accuracy: float | None,
) -> bytes:
    """The ``model`` output's bytes."""
    return pickle.dumps(
        {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "estimator": estimator,
            "labels": labels,
            "preprocessing": asdict(preprocessing),
            "classifier": classifier,
            "sklearn_version": sklearn.__version__,
            "trained_on": trained_on,
            "accuracy": accuracy,
        },
        protocol=pickle.HIGHEST_PROTOCOL,
    )


def model_load(data: bytes) -> dict[str, Any]:
    """A model written by ``model_dump`` (see the module docstring for why unpickling is safe here)."""
    try:
        model = pickle.loads(data)  # our own Train wrote these bytes (module docstring)
    except Exception as error:
        raise ValueError(f"the model input is not a model of this framework ({type(error).__name__})") from error
    if not isinstance(model, dict) or model.get("format") != MODEL_FORMAT:
        raise ValueError("the model input was not written by executors.builtin.sklearn.ImageClassificationTrain")
    if model.get("format_version") != MODEL_FORMAT_VERSION:
        raise ValueError(f"model format version {model.get('format_version')} is not {MODEL_FORMAT_VERSION}")
    return model


def evaluation(labels: list[str], truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows: true labels)."""
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    return {
        "accuracy": float(np.mean(np.asarray(truth) == np.asarray(predicted))) if truth else None,
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": {
            "labels": labels,
            "rows": "true label",
            "columns": "predicted label",
            "matrix": confusion_matrix(truth, predicted, labels=labels).tolist(),
        },
    }
