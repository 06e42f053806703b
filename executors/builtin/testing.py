"""Executors for tests, demos and benchmarks: a no-op/sleep with progress, train/predict stand-ins that
produce real outputs, and one that fails on purpose."""

from __future__ import annotations

import time

from executors.base import Executor
from executors.context import ExecutionContext

# Progress slices are cosmetic: a client asking for 2**62 of them gets this many, not a job that
# never ends.
MAX_PROGRESS_STEPS = 10_000


def sleep_with_progress(ctx: ExecutionContext, seconds: float, steps: int) -> bool:
    """Sleep ``seconds`` in ``steps`` slices (1 to MAX_PROGRESS_STEPS), reporting progress; False if
    cancelled meanwhile."""
    steps = max(1, min(steps, MAX_PROGRESS_STEPS))
    for step in range(steps):
        if ctx.cancelled():
            ctx.log.info("cancelled at step %s of %s", step, steps)
            return False
        if seconds > 0:
            time.sleep(seconds / steps)
        ctx.progress((step + 1) / steps, step=step + 1, steps=steps)
    return True


class NoOp(Executor):
    """Does nothing (optionally sleeps, reporting progress): the cheapest job there is."""

    contract = "Export"
    parameters = {"sleep": "float", "steps": "int"}

    def run(self, ctx: ExecutionContext) -> None:
        sleep_with_progress(ctx, ctx.parameters["sleep"], ctx.parameters["steps"])


class Fail(Executor):
    """Fails on purpose, after an optional sleep, with a message of the caller's choosing."""

    contract = "Export"
    parameters = {"sleep": "float", "message": "str"}

    def run(self, ctx: ExecutionContext) -> None:
        sleep_with_progress(ctx, ctx.parameters["sleep"], 1)
        raise RuntimeError(ctx.parameters["message"])


class Stubborn(Executor):
    """Ignores cancellation (sleeps in one long call): for testing the runner's terminate path."""

    contract = "Export"
    parameters = {"sleep": "float"}

    def run(self, ctx: ExecutionContext) -> None:
        ctx.progress(0.1)
        time.sleep(ctx.parameters["sleep"])


class SleepTrain(Executor):
    """A stand-in trainer: sleeps, then writes a small ``model`` and a ``metrics`` output."""

    contract = "Train<Domain, Framework>"
    parameters = {"sleep": "float", "fail": "bool"}

    def run(self, ctx: ExecutionContext) -> None:
        dataset = ctx.inputs["dataset"]
        if not sleep_with_progress(ctx, ctx.parameters["sleep"], 4):
            return
        if ctx.parameters["fail"]:
            raise RuntimeError("training failed on purpose")
        ctx.write_output("model", f"model trained on dataset {dataset.pk}".encode())
        ctx.write_output("metrics", {"dataset": dataset.pk, "accuracy": 1.0}, type="JSON")


class SleepPredict(Executor):
    """A stand-in predictor: reads its model, sleeps, and names its input dataset as the predictions."""

    contract = "Predict<Domain, Framework>"
    parameters = {"sleep": "float", "fail": "bool"}

    def run(self, ctx: ExecutionContext) -> None:
        model = ctx.inputs["model"].read_bytes()
        dataset = ctx.inputs["dataset"]
        if not sleep_with_progress(ctx, ctx.parameters["sleep"], 4):
            return
        if ctx.parameters["fail"]:
            raise RuntimeError("prediction failed on purpose")
        ctx.log.info("predicting with a model of %s bytes", len(model))
        ctx.write_output("predictions", dataset.pk)
