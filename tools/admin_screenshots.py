"""Screenshots of the operations console of a running service, as a curator or an operator sees it.

Signs in to the Django admin through its login form in a headless Chromium (tools/chromium.py) and saves
a PNG of each page docs/operations.md describes (the whole page; for the API docs, the window): the
template changelist, a meta-template with its graph, a meta-job (its children), a job (log, progress),
the workers, the nodes and the API docs. Pages are found by following the admin's own links, so any
installation will do; ``--demo-job`` first runs ``train_and_predict`` on the demo datasets through the
API so there are jobs to show.

    .venv/bin/python -m tools.admin_screenshots --url http://127.0.0.1:8000 --out var/screenshots \
        --username admin --password "$ADMIN_PASSWORD" [--demo-job]

(``make screenshots``). Needs Chromium (``apt-get install chromium``) and the dev dependencies (websockets).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.chromium import INSTALL_HINT, LoginFailed, Page, admin_login, chromium_page, chromium_path

FINAL = {"finished", "errored", "cancelled"}
DEMO_TEMPLATE = "train_and_predict"
DEMO_DATASET = "{kind}<Dataset<Domain<'Image Classification'>>>"


@dataclass(frozen=True)
class Shot:
    """One screenshot: its file name, what it shows, how to find the page's URL (None: nothing to show),
    optionally what to wait for once the page has loaded (a JavaScript expression), and whether to take
    the whole page or only the window (the API docs run to tens of thousands of pixels)."""

    name: str
    shows: str
    locate: Callable[[Page, str, dict[str, str]], str | None]
    ready: str = ""
    full_page: bool = True


def _first_link(page: Page, url: str, selector: str) -> str | None:
    page.open(url)
    return page.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).href || null")


FIRST_ROW = "#result_list tbody tr th a"


def _meta_template(page: Page, base: str, found: dict[str, str]) -> str | None:
    url = _first_link(page, f"{base}/admin/jobtemplates/metatemplate/?q={DEMO_TEMPLATE}", FIRST_ROW)
    url = url or _first_link(page, f"{base}/admin/jobtemplates/metatemplate/", FIRST_ROW)
    match = re.search(r"/metatemplate/(\d+)/", url or "")
    if match:
        found["meta_template"] = match.group(1)
    return url


def _meta_job(page: Page, base: str, found: dict[str, str]) -> str | None:
    if "meta_job" in found:
        return f"{base}/admin/jobtemplates/job/{found['meta_job']}/change/"
    if "meta_template" not in found:
        return None
    return _first_link(page, f"{base}/admin/jobtemplates/job/?template__id__exact={found['meta_template']}", FIRST_ROW)


def _job(page: Page, base: str, found: dict[str, str]) -> str | None:
    meta_job = _meta_job(page, base, found)
    child = _first_link(page, meta_job, "a.inlineviewlink, a.inlinechangelink") if meta_job else None
    return child or _first_link(page, f"{base}/admin/jobtemplates/job/", FIRST_ROW)


def _fixed(path: str) -> Callable[[Page, str, dict[str, str]], str]:
    return lambda page, base, found: f"{base}{path}"


SHOTS = [
    Shot("template-changelist", "every template, real ones first", _fixed("/admin/jobtemplates/jobtemplate/")),
    Shot("meta-template", "a meta-template: its graph, derived inputs and outputs, nodes", _meta_template),
    Shot("meta-job", "a meta-job: its children, coloured by status in its graph", _meta_job),
    Shot("job", "a job: status, progress, log and outputs", _job),
    Shot("workers", "the Celery workers and what they can run", _fixed("/admin/runners/worker/")),
    Shot("nodes", "UFDL job-launcher nodes", _fixed("/admin/runners/node/")),
    Shot(
        "api-docs",
        "the API docs (Swagger UI, served offline)",
        _fixed("/v1/docs"),
        ready="!!document.querySelector('.swagger-ui .information-container .title')",
        full_page=False,
    ),
]


def take_screenshots(page: Page, base: str, out: Path, *, found: dict[str, str]) -> list[str]:
    """Save each page's screenshot under ``out``; a line per page saying what was saved or skipped."""
    lines = []
    for number, shot in enumerate(SHOTS, start=1):
        url = shot.locate(page, base, found)
        if url is None:
            lines.append(f"skipped {shot.name}: nothing to show (no such page yet; --demo-job makes jobs)")
            continue
        page.open(url)
        if shot.ready:
            page.wait_for(shot.ready, what=f"{shot.name} to render")
        time.sleep(0.3)  # let late layout (fonts, the admin's own scripts) settle
        path = out / f"{number:02d}-{shot.name}.png"
        path.write_bytes(page.screenshot_png(full_page=shot.full_page))
        lines.append(f"saved {path} — {shot.shows} ({url})")
    return lines


# --- a demo job, through the API ---------------------------------------------------------------------


def _api(base: str, method: str, path: str, body: dict | None = None, token: str = "") -> Any:
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{method} {path}: {error.code} {error.read().decode(errors='replace')[:500]}") from error


def _named(base: str, token: str, resource: str, name: str) -> list:
    listing = {"expressions": [{"type": "exact", "field": "name", "value": name}]}
    return _api(base, "POST", f"/v1/{resource}/list", listing, token)


def demo_job(base: str, *, username: str, password: str, timeout: float) -> str:
    """Create a ``train_and_predict`` job on the demo datasets (``digits``, ``digits-test``; ``make run``
    seeds them) and wait up to ``timeout`` seconds for it to end; its pk."""
    token = _api(base, "POST", "/v1/auth/obtain", {"username": username, "password": password})["access"]
    templates = _named(base, token, "job-templates", DEMO_TEMPLATE)
    datasets = {name: _named(base, token, "datasets", name) for name in ("digits", "digits-test")}
    if not templates or not all(datasets.values()):
        raise SystemExit(f"{DEMO_TEMPLATE} or the demo datasets are missing (make run imports and seeds them)")
    template = max(templates, key=lambda row: row["version"])
    train_on = max(datasets["digits"], key=lambda row: row["version"])
    body = {
        "input_values": {
            # train:dataset takes a PK only; predict:dataset a name too.
            "train:dataset": {"value": train_on["pk"], "type": DEMO_DATASET.format(kind="PK")},
            "predict:dataset": {"value": "digits-test v1", "type": DEMO_DATASET.format(kind="Name")},
        },
        "description": "demo job for the screenshots (tools/admin_screenshots.py)",
    }
    job = _api(base, "POST", f"/v1/job-templates/{template['pk']}/create-job", body, token)
    deadline = time.monotonic() + timeout
    while job["status"] not in FINAL and time.monotonic() < deadline:
        time.sleep(1)
        job = _api(base, "GET", f"/v1/jobs/{job['pk']}", token=token)
    print(f"demo job {job['pk']}: {job['status']}")
    return str(job["pk"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running service")
    parser.add_argument("--out", default="var/screenshots", help="folder for the PNG files")
    parser.add_argument("--username", default=os.environ.get("ADMIN_USERNAME") or "admin")
    parser.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD"), help="default: $ADMIN_PASSWORD")
    parser.add_argument("--width", type=int, default=1400, help="the browser window's width, px")
    parser.add_argument("--height", type=int, default=1000, help="its height (screenshots take the whole page)")
    parser.add_argument("--demo-job", action="store_true", help=f"first run {DEMO_TEMPLATE} on the demo datasets")
    parser.add_argument("--timeout", type=float, default=180, help="how long to wait for the demo job, s")
    args = parser.parse_args(argv)
    if not args.password:
        parser.error("give --password or set ADMIN_PASSWORD")
    if chromium_path() is None:
        parser.error(INSTALL_HINT)
    base = args.url.rstrip("/")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    found: dict[str, str] = {}
    if args.demo_job:
        found["meta_job"] = demo_job(base, username=args.username, password=args.password, timeout=args.timeout)
    with chromium_page(width=args.width, height=args.height) as page:
        try:
            admin_login(page, base, username=args.username, password=args.password)
        except LoginFailed as error:
            print(error, file=sys.stderr)
            return 1
        for line in take_screenshots(page, base, out, found=found):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
