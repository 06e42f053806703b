"""Benchmark of the embedded-mode broker: task round trip through a real worker, and publish cost.

Round trip: a no-op task (``soak.mark`` of tests/config/soak_app.py, which creates one marker
file) is sent, and the clock stops when its marker appears; one real ``celery worker`` per
configuration, round trips one at a time with a random pause in between so publishing does not
phase-lock with the worker's polling.  Configurations: our ``fsq://`` (polling 0.05 s), kombu's
stock ``filesystem://`` with its default polling (1 s), and stock at 0.05 s.

Publish cost: median time of one ``put`` through ``fsq://`` with and without ``fsync``.

Run from the repository root::

    .venv/bin/python bench/broker.py [--round-trips 40] [--puts 300]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
APP_DIR = REPO_DIR / "tests" / "config"

#: name → (SOAK_BROKER, polling interval or None for the transport's default)
CONFIGURATIONS = {
    "fsq, polling 0.05 s": ("fsq", 0.05),
    "stock filesystem, default polling (1 s)": ("stock", 1.0),
    "stock filesystem, polling 0.05 s": ("stock", 0.05),
}


def child_env(soak_dir: Path, broker: str, polling: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(SOAK_DIR=str(soak_dir), SOAK_BROKER=broker, SOAK_POLLING_INTERVAL=str(polling), PYTHONPATH=str(APP_DIR))
    return env


def measure_round_trips(count: int) -> list[float]:
    """In a child process configured through SOAK_*: start a worker, time ``count`` round trips."""
    sys.path.insert(0, str(APP_DIR))
    import soak_app  # configured by the environment, hence imported here

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "soak_app", "worker", "-n", "bench@localhost"]
        + ["--pool=prefork", "--concurrency=1", "--loglevel=WARNING"],
        cwd=soak_app.SOAK_DIR,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: (soak_app.READY_DIR / "bench@localhost").exists(), timeout=30)
        samples = []
        with soak_app.app.producer_or_acquire() as producer:
            for n in range(-1, count):  # n = -1 warms up the connection and the worker
                time.sleep(random.uniform(0.0, 0.1))
                started = time.perf_counter()
                soak_app.app.send_task(soak_app.TASK_NAME, args=[n], producer=producer)
                wait_for((soak_app.DONE_DIR / str(n)).exists, timeout=30)
                if n >= 0:
                    samples.append(time.perf_counter() - started)
        return samples
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait()


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark worker did not respond")
        time.sleep(0.001)


def measure_puts(count: int, fsync: bool) -> list[float]:
    """Seconds per ``put`` of a small task-sized message through fsq://, fsync on or off."""
    sys.path.insert(0, str(REPO_DIR))
    from kombu import Connection

    from config.broker import register_transports

    register_transports()
    payload = {"args": [1], "kwargs": {}, "padding": "x" * 600}  # about a Celery task message
    with tempfile.TemporaryDirectory() as folder:
        conn = Connection(f"fsq://{folder}", transport_options={"fsync": fsync})
        queue = conn.SimpleQueue("bench")
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            queue.put(payload)
            samples.append(time.perf_counter() - started)
        queue.close()
        conn.release()
    return samples


def run_child(args: list[str], env: dict[str, str] | None = None) -> list[float]:
    output = subprocess.run(
        [sys.executable, __file__, *args], env=env, cwd=REPO_DIR, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=40)
    parser.add_argument("--puts", type=int, default=300)
    parser.add_argument("--child", choices=["round-trips", "puts", "puts-fsync"], help=argparse.SUPPRESS)
    options = parser.parse_args()

    # Children measure in a fresh interpreter: soak_app and kombu's transport state are per process.
    if options.child == "round-trips":
        print(json.dumps(measure_round_trips(options.round_trips)))
        return 0
    if options.child in ("puts", "puts-fsync"):
        print(json.dumps(measure_puts(options.puts, fsync=options.child == "puts-fsync")))
        return 0

    print(f"Task round trip through a real worker, median of {options.round_trips}:")
    for name, (broker, polling) in CONFIGURATIONS.items():
        with tempfile.TemporaryDirectory() as soak_dir:
            env = child_env(Path(soak_dir), broker, polling)
            samples = run_child(["--child", "round-trips", "--round-trips", str(options.round_trips)], env)
        print(f"  {name:<42} median {statistics.median(samples) * 1000:7.1f} ms   max {max(samples) * 1000:7.1f} ms")

    print(f"fsq:// publish (put) cost, median of {options.puts}:")
    for label, child in (("fsync off", "puts"), ("fsync on", "puts-fsync")):
        samples = run_child(["--child", child, "--puts", str(options.puts)])
        print(f"  {label:<42} median {statistics.median(samples) * 1e6:7.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
