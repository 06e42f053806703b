"""Who runs a template's jobs, and on which Celery queue (pure functions of settings and fields)."""

from __future__ import annotations

from django.conf import settings

CELERY = "celery"
NODE = "node"
NONE = "none"
RUNNERS = (CELERY, NODE, NONE)


def runner_map() -> dict[str, str]:
    """Module prefix → runner: node modules, then Celery's allowed modules, then explicit pairs."""
    mapping = {prefix.rstrip("."): NODE for prefix in settings.EXECUTOR_NODE_MODULES}
    mapping.update({prefix.rstrip("."): CELERY for prefix in settings.EXECUTOR_ALLOWED_MODULES})
    mapping.update({prefix.strip().rstrip("."): runner.strip() for prefix, runner in settings.EXECUTOR_RUNNERS.items()})
    return mapping


def runner_for(executor_class: str) -> str:
    """The runner of an executor class: the longest matching module prefix decides."""
    best, runner = -1, NONE
    for prefix, candidate in runner_map().items():
        if (executor_class == prefix or executor_class.startswith(prefix + ".")) and len(prefix) > best:
            best, runner = len(prefix), candidate if candidate in RUNNERS else NONE
    return runner


def queue_for(*, queue: str, min_hardware_generation: str) -> str:
    """The Celery queue of a workable template's jobs: its own, else the GPU queue when it needs a GPU,
    else "" (the default queue, resolved when the task is sent)."""
    if queue:
        return queue
    if min_hardware_generation:
        return settings.CELERY_GPU_QUEUE
    return ""


def resolved_queue(queue: str) -> str:
    """A job's queue by name: "" is the Celery app's default queue (CELERY_TASK_DEFAULT_QUEUE)."""
    from config.celery import app

    return queue or app.conf.task_default_queue
