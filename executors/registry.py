"""What this process can run, as a worker reports it to the registry (runners.Worker).

Executor classes are found by importing every module under the allowed prefixes and keeping the
``Executor`` subclasses defined there; a module that fails to import is skipped (its classes are then
not runnable here, which is the truth).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import os
import pkgutil
import shutil
import subprocess
from importlib import metadata

from django.conf import settings

from contracts.models import Hardware
from executors.base import Executor

logger = logging.getLogger(__name__)


def executor_classes(prefixes: list[str]) -> list[str]:
    """Dotted paths of the Executor subclasses importable under ``prefixes``, sorted."""
    found: set[str] = set()
    for prefix in prefixes:
        for module in _modules_under(prefix.rstrip(".")):
            for _, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, Executor) and value is not Executor and value.__module__ == module.__name__:
                    if not inspect.isabstract(value) and value.contract:
                        found.add(f"{value.__module__}.{value.__qualname__}")
    return sorted(found)


def _modules_under(prefix: str):
    try:
        root = importlib.import_module(prefix)
    except Exception:  # noqa: BLE001 - not installed or broken: nothing under it can run here
        logger.info("executor modules under %s cannot be imported here", prefix)
        return
    yield root
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=prefix + "."):
        try:
            yield importlib.import_module(info.name)
        except Exception:  # noqa: BLE001
            logger.warning("executor module %s failed to import; its classes are not runnable here", info.name)


def installed_distributions() -> dict[str, str]:
    return {
        dist.metadata["Name"]: dist.version
        for dist in metadata.distributions()
        if dist.metadata and dist.metadata["Name"]
    }


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def gpus() -> list[dict]:
    """The GPUs ``nvidia-smi`` reports (none when it is absent): index, model, memory and compute
    (``with_generations`` adds each one's generation)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name,memory.total,compute_cap", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in result.stdout.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 4:
            continue
        index, model, memory_mib, compute = parts
        try:
            found.append(
                {
                    "index": int(index),
                    "model": model,
                    "memory_bytes": int(float(memory_mib) * 1024 * 1024),
                    "compute": float(compute),
                }
            )
        except ValueError:
            continue
    return found


def gpu_generation(compute: float | None, generations: list[tuple[str, float, float]]) -> str | None:
    """The generation whose compute capabilities span ``compute`` (``generations``: name, min, max).

    Adjacent generations share a bound (Kepler 3.0–5.0, Maxwell 5.0–6.0): the later one wins, as a
    capability is the first of its generation. None when no generation spans it."""
    if compute is None:
        return None
    spanning = [(low, name) for name, low, high in generations if low <= compute <= high]
    return max(spanning)[1] if spanning else None


def with_generations(found: list[dict]) -> list[dict]:
    """``found`` (as ``gpus`` gives them) each with its ``generation`` from the hardware catalogue
    (contracts.Hardware; one query, none without GPUs)."""
    if not found:
        return []
    generations = list(Hardware.objects.values_list("generation", "min_compute_capability", "max_compute_capability"))
    return [{**gpu, "generation": gpu_generation(gpu.get("compute"), generations)} for gpu in found]


@functools.cache
def local_gpus() -> tuple[dict, ...]:
    """This machine's GPUs, looked up once per process."""
    return tuple(gpus())


def worker_capabilities(*, queues: list[str], concurrency: int | None = None) -> dict:
    """Everything a worker reports about itself (the keys of runners.services.WORKER_FIELDS)."""
    prefixes = list(settings.EXECUTOR_ALLOWED_MODULES)
    return {
        "queues": sorted(set(queues)),
        "executor_modules": prefixes,
        "executor_classes": executor_classes(prefixes),
        "distributions": installed_distributions(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "gpus": with_generations(gpus()),
        "concurrency": concurrency,
        "pid": os.getpid(),
        "version": _version(),
    }


def _version() -> str:
    try:
        return metadata.version("jobtemplate-service")
    except metadata.PackageNotFoundError:
        return ""
