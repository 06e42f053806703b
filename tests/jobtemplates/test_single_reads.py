"""The answers of one template (retrieve, get-types, get-outputs, export, get-all-parameters) read it with
one statement compiled once per process (jobtemplates.representations.single): the same visibility as
every other read, soft-deleted templates included, a pk that is no template's answered 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobtemplates.models import JobTemplate, TemplateRepresentation
from jobtemplates.representations.single import template_one
from jobtemplates.selectors import template_visible_to
from jobtemplates.services.templates import template_soft_delete
from tests.factories import ProjectFactory, UserFactory
from tests.jobtemplates.conftest import meta_body
from workspaces.models import Membership, Project, Team

pytestmark = pytest.mark.django_db

API = "/v1/job-templates"
PARTS = ("detail", "parameters", "types", "outputs", "export")


@pytest.fixture
def world(import_body, ufdl_bodies, train_predict, admin_user):
    """Callers of every kind and templates of every scope, some of them in projects whose team or
    membership has gone."""
    alice, bob, carol, dave = (UserFactory(username=name) for name in ("alice", "bob", "carol", "dave"))
    ProjectFactory(name="lab", members={alice: "R", carol: "W"})
    closed = ProjectFactory(name="closed", members={alice: "A", dave: "R"})
    gone_team = ProjectFactory(name="gone_team", members={alice: "R"})
    body = ufdl_bodies["image-classification__0010_dogs_dummy_image_class_train.json"]

    def scoped(name: str, **fields):
        return import_body({**body, "name": name, **fields})

    templates = [
        *train_predict,
        scoped("public_variant"),
        scoped("alice_own", scope="user"),
        scoped("lab_train", scope="project", project="lab"),
        scoped("closed_train", scope="project", project="closed"),
        scoped("gone_team_train", scope="project", project="gone_team"),
        import_body({**meta_body("lab_meta"), "scope": "project", "project": "lab"}),
    ]
    JobTemplate.objects.filter(name="alice_own").update(creator=alice)
    template_soft_delete(template=JobTemplate.objects.get(name="public_variant"))
    Project.objects.filter(pk=closed.pk).update(deletion_time=timezone.now())
    Team.objects.filter(pk=gone_team.team_id).update(deletion_time=timezone.now())
    Membership.objects.filter(user=carol).update(deletion_time=timezone.now())
    callers = [alice, bob, carol, dave, admin_user]
    return callers, [JobTemplate.objects.get(pk=template.pk) for template in templates]


def test_one_template_is_found_exactly_when_the_visibility_rule_finds_it(world):
    callers, templates = world
    seen = set()
    for caller in callers:
        for template in templates:
            expected = template_visible_to(user=caller).filter(pk=template.pk).exists()
            for part in PARTS:
                found = template_one(pk=template.pk, user=caller, part=part)
                assert (found is not None) == expected, (caller.username, template.name, part)
                if found is not None:
                    seen.add((caller.username, template.name))
                    assert (found.pk, found.name, found.version, found.kind) == (
                        template.pk,
                        template.name,
                        template.version,
                        template.kind,
                    )
                    assert found.deletion_time == template.deletion_time
                    assert found.creator_id == template.creator_id
    # The matrix is not trivial: some callers see some templates and not others.
    assert ("alice", "lab_train") in seen and ("bob", "lab_train") not in seen
    assert ("alice", "closed_train") not in seen and ("alice", "gone_team_train") not in seen
    assert ("carol", "lab_meta") not in seen and ("root", "closed_train") in seen
    assert ("bob", "public_variant") in seen  # soft-deleted: still answered, with its deletion_time


def test_the_kept_part_is_the_kept_rows_column(world):
    _, templates = world
    template = templates[0]
    kept = TemplateRepresentation.objects.get(template=template)
    for part in PARTS:
        found = template_one(pk=template.pk, user=None, part=part)
        assert found.representation.fingerprint == kept.fingerprint
        assert bytes(getattr(found.representation, part)) == bytes(getattr(kept, part))


def test_a_deleted_soft_deleted_time_reads_as_an_aware_datetime(world):
    _, templates = world
    deleted = next(template for template in templates if template.deletion_time is not None)
    found = template_one(pk=deleted.pk, user=None)
    assert timezone.is_aware(found.deletion_time) and found.deletion_time == deleted.deletion_time


def test_anonymous_callers_and_unknown_parts_find_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    _, templates = world
    assert template_one(pk=templates[0].pk, user=AnonymousUser()) is None
    with pytest.raises(ValueError, match="unknown kept part"):
        template_one(pk=templates[0].pk, user=None, part="content")


@pytest.mark.parametrize("pk", ["0", "-1", str(2**63), "9" * 40, "1e3", "abc", "١٢"])
def test_a_pk_that_is_no_template_is_404_on_every_single_read(world, admin_client, client, pk):
    for suffix in ("", "/get-all-parameters", "/get-types", "/get-outputs"):
        for caller in (client, admin_client):
            response = caller.get(f"{API}/{pk}{suffix}")
            assert response.status_code == 404, (pk, suffix, response.content)
            assert response.json()["code"] == "not_found"
    assert admin_client.get(f"{API}/{pk}/export").status_code == 404


def test_single_reads_are_one_statement_beyond_the_callers_user(world, client, user):
    _, templates = world
    workable = templates[0]
    client.get(f"{API}/{workable.pk}/get-types")  # the statement is compiled on the first call
    for suffix in ("/get-types", "/get-outputs"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}/{workable.pk}{suffix}")
        assert response.status_code == 200
        statements = [query["sql"] for query in queries.captured_queries]
        # The bearer's user (the suite reads it on every request), then the template with its kept part.
        assert len(statements) == 2, statements
        assert "jobtemplates_templaterepresentation" in statements[1]


def test_a_template_whose_kept_row_is_gone_is_answered_and_kept_again(world, client):
    _, templates = world
    template = templates[0]
    before = client.get(f"{API}/{template.pk}").content
    TemplateRepresentation.objects.filter(template=template).delete()
    assert client.get(f"{API}/{template.pk}").content == before
    assert TemplateRepresentation.objects.filter(template=template).exists()
    TemplateRepresentation.objects.filter(template=template).update(fingerprint="stale")
    assert client.get(f"{API}/{template.pk}/get-types").json() == client.get(f"{API}/{template.pk}/get-types").json()
    assert TemplateRepresentation.objects.get(template=template).fingerprint != "stale"


def test_catalogue_names_and_pks_of_one_answer_are_one_statement_and_never_stale(
    catalogue, ufdl_bodies, import_body, client
):
    """``Name<DockerImage<…>>`` and ``PK<DockerImage<…>>`` (rows every caller may use) are listed by one
    statement compiled once; a docker image added since is listed by the next answer."""
    from contracts.models import DockerImage

    template = import_body(ufdl_bodies["image-classification__0001_tensorflow_1_14_image_class_train.json"])
    url = f"{API}/{template.pk}/get-all-parameters"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        before = client.get(url).json()
    docker = [query["sql"] for query in queries.captured_queries if "contracts_dockerimage" in query["sql"]]
    assert len(docker) == 1, docker

    def listed(answer: dict) -> tuple[list, list]:
        types = answer["docker_image"]["types"]
        enums = {key: schema.get("enum") for key, schema in types.items() if schema and "enum" in schema}
        names = next(values for key, values in enums.items() if key.startswith("Name<"))
        pks = next(values for key, values in enums.items() if key.startswith("PK<"))
        return names, pks

    names, pks = listed(before)
    assert names and pks and len(names) == len(pks)
    model = DockerImage.objects.get(pk=pks[0])
    model.pk = None
    model.version = "99.0"
    model.save()
    names_after, pks_after = listed(client.get(url).json())
    assert model.pk in pks_after and f"{model.name} v99.0" in names_after


def test_create_jobs_template_instance_is_the_orms_row_for_every_caller(world):
    """create-job's template (``template_instance``): found exactly when the visibility rule finds it,
    every column equal to the ORM's (JSON, datetimes and all) on this database."""
    from jobtemplates.representations.single import template_instance

    callers, templates = world
    compared = 0
    for caller in callers:
        for template in templates:
            expected = template_visible_to(user=caller).filter(pk=template.pk).first()
            found = template_instance(pk=template.pk, user=caller)
            assert (found is None) == (expected is None), (caller.username, template.name)
            if found is not None:
                compared += 1
                for field in JobTemplate._meta.concrete_fields:
                    assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
                assert found._state.adding is False and found._state.db == "default"
    assert compared > len(templates)
    assert template_instance(pk="nope", user=None) is None and template_instance(pk=2**63, user=None) is None


def test_kept_rows_are_lz4_compressed_on_postgresql(catalogue, ufdl_bodies, import_body):
    """Migration 0009: on PostgreSQL the kept bytes are lz4 (decompressed in about 40% of pglz's time);
    elsewhere the table is as it was."""
    template = import_body(ufdl_bodies["image-classification__0001_tensorflow_1_14_image_class_train.json"])
    kept = TemplateRepresentation.objects.get(template=template)
    assert len(kept.parameters) + len(kept.detail) > 4096  # a row PostgreSQL compresses (past ~2 kB)
    if connection.vendor != "postgresql":
        assert bytes(kept.detail)  # SQLite: nothing to compress with; the rows read as ever
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(detail), pg_column_compression(parameters), "
            "pg_column_compression(export) FROM jobtemplates_templaterepresentation WHERE template_id = %s",
            [template.pk],
        )
        methods = set(cursor.fetchone()) - {None}  # None: stored as it is (small enough)
    assert methods == {"lz4"}, methods
