"""What the run measures on: a fresh database set up by the service's own commands, the users, a dataset,
templates grown to each size, the routes (``Call``) and their SQL counted in this process."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from bench.api_bench.client import Call
from bench.api_bench.server import PYTHON
from bench.common import REPO

ADMIN, USER, PASSWORD = "bench-admin", "bench-user", "bench-password-1"
TF_TRAIN = "tensorflow_1_14_image_class_train"
SKLEARN_TRAIN = "sklearn_image_class_train"
META = "train_and_predict"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
DOGS_TRAIN_FILE = REPO / "templates" / "ufdl" / "image-classification__0010_dogs_dummy_image_class_train.json"
FILTERED = 20  # templates the filtered list selects, at every size


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_database(env: dict[str, str]) -> None:
    """Migrate, seed the catalogue, import ``templates/`` and make the admin, as a deployment does."""
    manage(env, "migrate", "--noinput")
    manage(env, "seed_catalogue")
    manage(env, "import_templates", "templates")
    manage(env, "ensure_admin")


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


@dataclass(frozen=True)
class Subjects:
    """The rows the routes name, found once the templates of ``templates/`` are in."""

    users: dict  # "admin" / "user" → User
    tf_pk: int
    sklearn_pk: int
    meta_pk: int
    dataset_pk: int
    domain_pk: int
    filtered_upto_pk: int  # the FILTERED-th template's pk: `pk <= it` selects FILTERED at every size


def make_subjects() -> Subjects:
    """The user (the admin exists), a private image-classification dataset of the user, the templates."""
    from django.contrib.auth import get_user_model

    from contracts.models import Domain, Licence
    from jobtemplates.models import JobTemplate
    from workspaces.models import Dataset

    user_model = get_user_model()
    regular = user_model.objects.create_user(username=USER, password=PASSWORD)
    domain = Domain.objects.get(name="ic")
    dataset = Dataset.objects.create(
        name="bench-dataset", version=1, domain=domain, licence=Licence.objects.order_by("pk").first(), creator=regular
    )
    pks = sorted(JobTemplate.objects.active().values_list("pk", flat=True))
    if len(pks) < FILTERED:
        raise SystemExit(f"templates/ holds {len(pks)} templates; the filtered list needs {FILTERED}")

    def latest(name: str) -> int:
        return JobTemplate.objects.active().filter(name=name).order_by("-version").values_list("pk", flat=True)[0]

    return Subjects(
        users={"admin": user_model.objects.get(username=ADMIN), "user": regular},
        tf_pk=latest(TF_TRAIN),
        sklearn_pk=latest(SKLEARN_TRAIN),
        meta_pk=latest(META),
        dataset_pk=dataset.pk,
        domain_pk=domain.pk,
        filtered_upto_pk=pks[FILTERED - 1],
    )


def grow_to(count: int) -> None:
    """Import variants of the UFDL templates (every tenth a meta-template) until there are ``count``."""
    from jobtemplates.models import JobTemplate
    from jobtemplates.services.templates import template_import
    from jobtemplates.services.templates.statistics import template_tables_analyse

    bodies = [json.loads(path.read_text()) for path in sorted((REPO / "templates" / "ufdl").glob("*.json"))]
    meta = {
        "name": "train_then_predict",
        "licence": "Apache 2.0",
        "domain": "ic",
        "specific": {
            "nodes": {
                "train": {"name": "dogs_dummy_image_class_train"},
                "predict": {"name": "dogs_dummy_image_class_predict"},
            },
            "dependencies": [{"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}],
        },
    }
    index = JobTemplate.objects.active().count()
    while index < count:
        body = copy.deepcopy(meta if index % 10 == 9 else bodies[index % len(bodies)])
        body.pop("version", None)
        body["name"] = f"{body['name']}-variant-{index}"
        template_import(data=body, creator=None)
        index += 1
    # As a bulk import leaves them (import_templates, bundles): the planner knows the tables' size.
    template_tables_analyse()


def filter_spec(subjects: Subjects) -> dict:
    """A filter spec selecting FILTERED templates at every size (the variants come after them), by name."""
    return {
        "expressions": [
            {"type": "compare", "field": "pk", "operator": "<=", "value": subjects.filtered_upto_pk},
            {"type": "contains", "field": "name", "sub_string": "-variant-", "invert": True},
        ],
        "order_by": [{"field": "name", "ascending": True}],
    }


def create_job_body(subjects: Subjects) -> dict:
    """A typical create-job body for the scikit-learn training template: its dataset and a few parameters.
    ``queue_anyway``: no worker runs in this benchmark, so nothing can run the job now; it waits."""
    return {
        "input_values": {"dataset": {"value": subjects.dataset_pk, "type": IC_DATASET}},
        "parameter_values": {
            "image_size": {"value": 16, "type": "int"},
            "classifier": {"value": "logistic", "type": "str"},
            "C": {"value": 1.0, "type": "float"},
            "test_fraction": {"value": 0.25, "type": "float"},
        },
        "description": "bench/api.py",
        "queue_anyway": True,
    }


def floor_call(subjects: Subjects) -> Call:
    return Call("floor", "GET", f"/bench/floor/{subjects.domain_pk}")


def calls(subjects: Subjects) -> list[Call]:
    import_body = json.loads(DOGS_TRAIN_FILE.read_text())
    import_body.pop("version")
    import_body["name"] = "bench_import"
    dataset = urlencode({"dataset": IC_DATASET}, quote_via=quote)
    tf, templates = subjects.tf_pk, "/v1/job-templates"
    matching = f"{templates}/get-all-matching-templates"
    return [
        floor_call(subjects),
        Call("GET list (page 1)", "GET", f"{templates}?page=1"),
        Call("list (full)", "POST", f"{templates}/list"),
        Call(f"list filtered {FILTERED}", "POST", f"{templates}/list", filter_spec(subjects)),
        Call(f"list ?limit={FILTERED}", "POST", f"{templates}/list?limit={FILTERED}"),
        Call("retrieve", "GET", f"{templates}/{tf}"),
        Call("get-all-parameters", "GET", f"{templates}/{tf}/get-all-parameters"),
        Call("get-types", "GET", f"{templates}/{tf}/get-types"),
        Call("get-outputs", "GET", f"{templates}/{tf}/get-outputs"),
        Call("export", "GET", f"{templates}/{tf}/export", as_admin=True),
        Call("graph (meta)", "GET", f"{templates}/{subjects.meta_pk}/graph"),
        Call("matching Train", "GET", f"{matching}/Train"),
        Call("matching Train+dataset", "GET", f"{matching}/Train?{dataset}"),
        Call("matching Predict+dataset", "GET", f"{matching}/Predict?{dataset}"),
        Call("create-job", "POST", f"{templates}/{subjects.sklearn_pk}/create-job", create_job_body(subjects)),
        Call("import", "POST", f"{templates}/import", import_body, as_admin=True, serial=True),
    ]


def count_queries(call: Call, subjects: Subjects) -> int | str:
    """SQL statements of the same request made through Django's test client in this process, the second of
    two (the first warms this process's caches, as the server's are warm); the status when it fails."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import RefreshToken

    user = subjects.users["admin" if call.as_admin else "user"]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    send = getattr(client, call.method.lower())
    try:
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                if call.body is None:
                    response = send(call.path)
                else:
                    response = send(call.path, call.body, content_type="application/json")
    except Exception as error:  # the code under measurement may be mid-edit: report, go on
        return f"raised {type(error).__name__}"
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}"
    return len(captured)


def job_queues() -> dict[str, int]:
    """Queue → jobs the run's create-job calls sent there ("" is the default queue)."""
    from django.db.models import Count

    from jobtemplates.models import Job

    return dict(Job.objects.values_list("queue").annotate(jobs=Count("pk")).values_list("queue", "jobs"))
