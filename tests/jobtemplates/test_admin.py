"""The templates' admin, as a curator uses it (Django's test client, logged in as a superuser): the
changelist with its filters and search, read-only template pages (parameters; graph, derived inputs,
outputs and parameters), "Import a template" with every problem shown, export, and the actions; and the
read-only pages of jobs and job outputs.
"""

from __future__ import annotations

import copy
import json

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from contracts.models import Domain
from jobtemplates.admin_changelist import is_test_template
from jobtemplates.models import Job, JobOutput, JobTemplate
from jobtemplates.services.jobs import job_output_write
from jobtemplates.services.templates import template_export, template_import
from tests.factories import JobFactory, UserFactory
from tests.jobtemplates.conftest import REPO, load_template, meta_body

pytestmark = pytest.mark.django_db

ADMIN = "/admin/jobtemplates"
DOGS_TRAIN = "image-classification__0010_dogs_dummy_image_class_train.json"
TF_TRAIN = "image-classification__0001_tensorflow_1_14_image_class_train.json"
OD_PREDICT = "object-detection__0008_tensorflow_objectdetection_1_14_predict.json"
# What only the graph picture holds (the admin's own icons are SVG too).
GRAPH_MARK = '<marker id="arrow"'


@pytest.fixture
def browser(admin_user) -> Client:
    """A logged-in superuser's browser (CSRF is not enforced by the test client)."""
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def templates(train_predict, import_body, ufdl_bodies, user) -> dict[str, JobTemplate]:
    """Two workable templates and a meta-template (ic), an object-detection one (od), one of scope user
    and one soft-deleted."""
    train, predict = train_predict
    personal = copy.deepcopy(ufdl_bodies[TF_TRAIN])
    personal["scope"] = "user"
    made = {
        "train": train,
        "predict": predict,
        "meta": import_body(meta_body()),
        "od_predict": import_body(ufdl_bodies[OD_PREDICT]),
        "personal": template_import(data=personal, creator=user).template,
    }
    gone = copy.deepcopy(ufdl_bodies[DOGS_TRAIN])
    gone.update(name="retired_train", version=1)
    made["retired"] = import_body(gone)
    JobTemplate.objects.filter(pk=made["retired"].pk).update(deletion_time=made["retired"].creation_time)
    return made


@pytest.fixture
def test_templates(import_body) -> list[str]:
    """The built-in test templates (templates/builtin), by name."""
    names = ["fail", "noop", "sleep_predict", "sleep_train", "stubborn"]
    for name in names:
        import_body(load_template(REPO / "templates" / "builtin" / f"{name}.json"))
    return names


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return sorted(template.name for template in response.context["cl"].result_list)


def page_text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- changelist ------------------------------------------------------------------------------------


class TestChangelist:
    def test_lists_every_template_with_its_filters(self, browser, templates):
        response = browser.get(f"{ADMIN}/jobtemplate/")
        assert listed(response) == sorted(t.name for t in templates.values())
        titles = [spec.title for spec in response.context["cl"].filter_specs]
        assert titles == ["kind", "use", "contract name", "domain", "scope", "state"]
        assert "Import a template" in page_text(response)

    def test_filters(self, browser, templates):
        od = Domain.objects.get(name="od")
        cases = {
            "kind__exact=meta": ["dogs_train_and_predict"],
            "contract_name__exact=Predict": sorted(
                ["dogs_dummy_image_class_predict", "dogs_train_and_predict", "tensorflow_objectdetection_1.14-predict"]
            ),
            f"domain__id__exact={od.pk}": ["tensorflow_objectdetection_1.14-predict"],
            "scope__exact=user": ["tensorflow_1_14_image_class_train"],
            "state=deleted": ["retired_train"],
        }
        for query, expected in cases.items():
            assert listed(browser.get(f"{ADMIN}/jobtemplate/?{query}")) == expected, query
        active = listed(browser.get(f"{ADMIN}/jobtemplate/?state=active"))
        assert "retired_train" not in active and len(active) == len(templates) - 1

    def test_real_templates_come_before_test_ones(self, browser, templates, test_templates):
        listed_in = {}
        for section, kinds in (("jobtemplate", ["workable", "meta"]), ("workabletemplate", ["workable"])):
            names = listed_in[section] = [
                template.name for template in browser.get(f"{ADMIN}/{section}/").context["cl"].result_list
            ]
            shown = JobTemplate.objects.filter(kind__in=kinds).order_by("name", "-version")
            real = list(shown.exclude(is_test_template()).values_list("name", flat=True))
            tests = list(shown.filter(is_test_template()).values_list("name", flat=True))
            assert sorted(tests) == sorted(test_templates) and real
            assert names == real + tests, section  # each part by name (the database's collation)
        html = page_text(browser.get(f"{ADMIN}/jobtemplate/"))
        assert html.count('class="template-test"') == len(test_templates)
        # A column a curator sorts by replaces the order (o=1: the name, after the checkbox): test templates
        # then come among the others.
        by_name = [template.name for template in browser.get(f"{ADMIN}/jobtemplate/?o=1").context["cl"].result_list]
        everything = JobTemplate.objects.order_by("name", "-pk")
        assert by_name == list(everything.values_list("name", flat=True)) != listed_in["jobtemplate"]

    def test_the_use_filter_leaves_out_or_picks_the_test_templates(self, browser, templates, test_templates):
        real = listed(browser.get(f"{ADMIN}/jobtemplate/?use=real"))
        assert real == sorted(t.name for t in templates.values())
        assert listed(browser.get(f"{ADMIN}/jobtemplate/?use=test")) == sorted(test_templates)
        assert listed(browser.get(f"{ADMIN}/workabletemplate/?use=test")) == sorted(test_templates)

    def test_the_columns_are_compact_with_their_full_text_in_tooltips(self, browser, templates):
        html = page_text(browser.get(f"{ADMIN}/jobtemplate/"))
        od_predict = templates["od_predict"]
        assert f'<span title="{escape(od_predict.contract)}">Predict</span>' in html
        assert '<span title="Object Detection">od</span>' in html
        assert "tensorflow_<wbr>objectdetection_<wbr>1.<wbr>14-<wbr>predict" in html  # wraps at separators
        workable = page_text(browser.get(f"{ADMIN}/workabletemplate/"))
        executor = od_predict.executor_class
        assert f'<span title="{executor}">{executor.rsplit(".", 1)[1]}</span>' in workable

    def test_search(self, browser, templates):
        assert listed(browser.get(f"{ADMIN}/jobtemplate/", {"q": "objectdetection"})) == [
            "tensorflow_objectdetection_1.14-predict"
        ]
        # The contract string and the executor class are searched too.
        assert listed(browser.get(f"{ADMIN}/jobtemplate/", {"q": "dogs_dummy'"})) == sorted(
            [
                "dogs_dummy_image_class_predict",
                "dogs_dummy_image_class_train",
                "dogs_train_and_predict",
                "retired_train",
            ]
        )
        assert listed(browser.get(f"{ADMIN}/jobtemplate/", {"q": "ImageClassificationTrain_TF"})) == [
            "tensorflow_1_14_image_class_train"
        ]

    def test_kind_pages_list_their_kind(self, browser, templates):
        assert listed(browser.get(f"{ADMIN}/metatemplate/")) == ["dogs_train_and_predict"]
        assert "dogs_train_and_predict" not in listed(browser.get(f"{ADMIN}/workabletemplate/"))
        assert len(listed(browser.get(f"{ADMIN}/workabletemplate/"))) == len(templates) - 1

    def test_templates_are_never_added_or_edited_in_place(self, browser, templates):
        assert browser.get(f"{ADMIN}/jobtemplate/add/").status_code == 403
        train = templates["train"]
        response = browser.post(f"{ADMIN}/jobtemplate/{train.pk}/change/", {"description": "edited"})
        assert response.status_code in (200, 302, 403)
        assert JobTemplate.objects.get(pk=train.pk).description == train.description

    def test_only_staff_get_in(self, templates):
        outsider = Client()
        outsider.force_login(UserFactory(username="carol"))
        for url in (
            f"{ADMIN}/jobtemplate/",
            f"{ADMIN}/jobtemplate/import/",
            f"{ADMIN}/jobtemplate/{templates['train'].pk}/export/",
        ):
            response = outsider.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url


# --- template pages --------------------------------------------------------------------------------


class TestTemplatePages:
    @pytest.mark.parametrize("section", ["jobtemplate", "workabletemplate"])
    def test_a_workable_template_shows_its_parameters(self, browser, templates, section):
        train = templates["train"]
        response = browser.get(f"{ADMIN}/{section}/{train.pk}/change/")
        html = page_text(response)
        inline_names = [formset.opts.model.__name__ for formset in response.context["inline_admin_formsets"]]
        assert inline_names == ["Parameter"]
        for text in (
            "factor",
            "The accuracy factor.",
            "frontend_metadata",
            train.executor_class,
            "Download JSON (import format)",
        ):
            assert text in html, text
        assert GRAPH_MARK not in html

    @pytest.mark.parametrize("section", ["jobtemplate", "metatemplate"])
    def test_a_meta_template_shows_its_graph_and_what_it_derives(self, browser, templates, section):
        meta = templates["meta"]
        response = browser.get(f"{ADMIN}/{section}/{meta.pk}/change/")
        html = page_text(response)
        inline_names = [formset.opts.model.__name__ for formset in response.context["inline_admin_formsets"]]
        assert inline_names == ["MetaNode", "MetaDependency", "Parameter"]
        assert GRAPH_MARK in html
        for text in (
            "dogs_dummy_image_class_train v1",  # a node's template, in the picture and the nodes inline
            "model → model",  # the edge's label
            "<code>train:dataset</code>",  # derived inputs
            "<code>predict:predictions</code>",  # derived outputs
            "train:factor",  # derived parameters
            "predict:per_class",
        ):
            assert text in html, text

    def test_a_soft_deleted_template_shows_when_it_was_deleted(self, browser, templates):
        html = page_text(browser.get(f"{ADMIN}/jobtemplate/{templates['retired'].pk}/change/"))
        assert "Deletion time" in html and "retired_train" in html


# --- import ----------------------------------------------------------------------------------------


class TestImport:
    def test_the_page_offers_a_file_and_a_text_box(self, browser, catalogue):
        html = page_text(browser.get(f"{ADMIN}/jobtemplate/import/"))
        assert 'type="file"' in html and "<textarea" in html

    def test_importing_a_file(self, browser, catalogue, ufdl_bodies):
        upload = SimpleUploadedFile("train.json", json.dumps(ufdl_bodies[DOGS_TRAIN]).encode(), "application/json")
        response = browser.post(f"{ADMIN}/jobtemplate/import/", {"file": upload})
        template = JobTemplate.objects.get(name="dogs_dummy_image_class_train")
        assert response.status_code == 302
        assert response["Location"] == f"{ADMIN}/jobtemplate/{template.pk}/change/"
        notes = messages_of(response)
        assert any(note.startswith("Imported dogs_dummy_image_class_train v1") for note in notes)
        assert any("specific.executor_class" in note for note in notes)  # the warning, with its path

    def test_importing_pasted_json_and_again_identical(self, browser, catalogue, ufdl_bodies):
        text = json.dumps(ufdl_bodies[DOGS_TRAIN])
        browser.post(f"{ADMIN}/jobtemplate/import/", {"text": text})
        again = browser.post(f"{ADMIN}/jobtemplate/import/", {"text": text})
        assert JobTemplate.objects.filter(name="dogs_dummy_image_class_train").count() == 1
        assert any(note.startswith("Already present (identical)") for note in messages_of(again))

    def test_a_meta_template_from_the_meta_templates_page(self, browser, train_predict):
        response = browser.post(f"{ADMIN}/metatemplate/import/", {"text": json.dumps(meta_body())})
        assert response.status_code == 302
        assert JobTemplate.objects.get(name="dogs_train_and_predict").kind == "meta"

    def test_every_problem_is_shown_with_its_path(self, browser, catalogue, ufdl_bodies):
        body = copy.deepcopy(ufdl_bodies[DOGS_TRAIN])
        body["licence"] = "No such licence"
        body["specific"]["parameters"]["factor"]["default"] = "many"
        body["specific"]["parameters"]["delay"]["types"] = ["Array<"]
        body["colour"] = "blue"
        response = browser.post(f"{ADMIN}/jobtemplate/import/", {"text": json.dumps(body)})
        html = page_text(response)
        shown = {problem["path"] for problem in response.context["problems"]}
        assert shown == {
            "licence",
            "specific.parameters.factor.default",
            "specific.parameters.delay.types[0]",
            "colour",
        }
        assert "4 problems" in html
        for path in shown:
            assert f"<code>{path}</code>" in html
        assert not JobTemplate.objects.exists()

    def test_a_409_is_shown_too(self, browser, import_body, ufdl_bodies):
        import_body(ufdl_bodies[DOGS_TRAIN])
        changed = copy.deepcopy(ufdl_bodies[DOGS_TRAIN])
        changed["description"] = "something else"
        response = browser.post(f"{ADMIN}/jobtemplate/import/", {"text": json.dumps(changed)})
        assert [problem["path"] for problem in response.context["problems"]] == ["description"]
        assert JobTemplate.objects.count() == 1

    @pytest.mark.parametrize("form", [{"text": "{not json"}, {"text": ""}, {"text": "[1, 2]"}])
    def test_unreadable_input_is_refused(self, browser, catalogue, form):
        response = browser.post(f"{ADMIN}/jobtemplate/import/", form)
        assert response.status_code == 200
        assert response.context["form"].errors or response.context["problems"]
        assert not JobTemplate.objects.exists()


# --- export and actions ----------------------------------------------------------------------------


class TestExportAndActions:
    def test_the_export_link_downloads_the_import_format(self, browser, templates, admin_user):
        meta = templates["meta"]
        html = page_text(browser.get(f"{ADMIN}/metatemplate/{meta.pk}/change/"))
        link = f"{ADMIN}/jobtemplate/{meta.pk}/export/"
        assert f'href="{link}"' in html
        response = browser.get(link)
        assert response["Content-Type"] == "application/json"
        assert response["Content-Disposition"] == 'attachment; filename="dogs_train_and_predict-v1.json"'
        exported = json.loads(response.content)
        assert exported == template_export(template=meta)
        # It imports back as the same template.
        again = template_import(data=exported, creator=admin_user)
        assert again.template.pk == meta.pk and not again.created

    def run_action(self, browser, action: str, *pks: int):
        return browser.post(f"{ADMIN}/jobtemplate/", {"action": action, "_selected_action": [str(pk) for pk in pks]})

    def test_soft_delete_and_reinstate(self, browser, templates):
        train, predict = templates["train"], templates["predict"]
        response = self.run_action(browser, "soft_delete_templates", train.pk, predict.pk)
        assert response.status_code == 302
        assert "Soft-deleted 2 template(s)." in messages_of(response)
        assert JobTemplate.objects.filter(pk__in=[train.pk, predict.pk], deletion_time__isnull=True).count() == 0
        response = self.run_action(browser, "reinstate_templates", train.pk)
        assert f"{train} reinstated." in messages_of(response)
        assert JobTemplate.objects.get(pk=train.pk).deletion_time is None
        assert JobTemplate.objects.get(pk=predict.pk).deletion_time is not None

    def test_reinstate_clash_is_reported_and_changes_nothing(self, browser, templates, import_body, ufdl_bodies):
        train = templates["train"]
        self.run_action(browser, "soft_delete_templates", train.pk)
        replacement = import_body(ufdl_bodies[DOGS_TRAIN])  # v1 is free again among active templates
        assert replacement.pk != train.pk
        response = self.run_action(browser, "reinstate_templates", train.pk)
        assert any("already has this name and version" in note for note in messages_of(response))
        assert JobTemplate.objects.get(pk=train.pk).deletion_time is not None

    def test_export_action(self, browser, templates):
        one = self.run_action(browser, "export_templates", templates["meta"].pk)
        assert one["Content-Disposition"] == 'attachment; filename="dogs_train_and_predict-v1.json"'
        assert json.loads(one.content) == template_export(template=templates["meta"])
        two = self.run_action(browser, "export_templates", templates["train"].pk, templates["predict"].pk)
        assert two["Content-Disposition"] == 'attachment; filename="templates.json"'
        assert [body["name"] for body in json.loads(two.content)] == [
            "dogs_dummy_image_class_train",
            "dogs_dummy_image_class_predict",
        ]


# --- jobs and job outputs (read-only) --------------------------------------------------------------


class TestJobs:
    @pytest.fixture
    def jobs(self, templates, user, other_user, settings, tmp_path) -> dict[str, Job]:
        """alice's finished train job with a model, bob's errored predict job, a running job at 40 %, a
        soft-deleted job, and a meta-job with one child."""
        settings.MEDIA_ROOT = tmp_path / "media"
        train, predict = templates["train"], templates["predict"]
        made = {
            "finished": JobFactory(template=train, creator=user, finished=True),
            "errored": JobFactory(template=predict, creator=other_user, errored=True, error_reason="ValueError: nope"),
            "running": JobFactory(template=train, creator=user, running=True, progress=0.4),
            "gone": JobFactory(template=train, creator=user, finished=True, deletion_time=timezone.now()),
            "meta": JobFactory(template=templates["meta"], creator=user, running=True),
        }
        made["child"] = JobFactory(template=train, creator=user, parent=made["meta"], child_name="train")
        job_output_write(job=made["finished"], name="model", output_type="BLOB<'weights'>", data=b"weights")
        return made

    @staticmethod
    def listed_pks(response) -> list[int]:
        assert response.status_code == 200, response.content[:500]
        return sorted(row.pk for row in response.context["cl"].result_list)

    def test_the_changelist_with_its_filters_and_search(self, browser, jobs, templates, other_user):
        response = browser.get(f"{ADMIN}/job/")
        assert self.listed_pks(response) == sorted(job.pk for job in jobs.values())
        titles = [spec.title for spec in response.context["cl"].filter_specs]
        assert titles == ["status", "runner", "template", "creator", "state"]
        cases = {
            "status__exact=errored": [jobs["errored"].pk],
            f"template__id__exact={templates['predict'].pk}": [jobs["errored"].pk],
            f"creator__id__exact={other_user.pk}": [jobs["errored"].pk],
            "state=deleted": [jobs["gone"].pk],
            "q=ValueError": [jobs["errored"].pk],  # the error reason
            "q=bob": [jobs["errored"].pk],  # the creator
            "q=dogs_train_and": [jobs["meta"].pk],  # the template
        }
        for query, expected in cases.items():
            assert self.listed_pks(browser.get(f"{ADMIN}/job/?{query}")) == expected, query
        assert jobs["gone"].pk not in self.listed_pks(browser.get(f"{ADMIN}/job/?state=active"))
        assert "40%" in page_text(browser.get(f"{ADMIN}/job/?status__exact=running"))

    def test_a_job_page_shows_its_outputs_with_download_links(self, browser, jobs):
        job = jobs["finished"]
        output = JobOutput.objects.get(job=job, name="model")
        response = browser.get(f"{ADMIN}/job/{job.pk}/change/")
        html = page_text(response)
        assert [formset.opts.model.__name__ for formset in response.context["inline_admin_formsets"]] == ["JobOutput"]
        link = f"/v1/job-outputs/{output.pk}/download"
        assert f'href="{link}"' in html and "BLOB&lt;&#x27;weights&#x27;&gt;" in html and "100%" in html
        download = browser.get(link)
        assert download.status_code == 200 and b"".join(download.streaming_content) == b"weights"

    def test_a_job_page_shows_its_error_and_a_meta_job_its_children(self, browser, jobs):
        assert "ValueError: nope" in page_text(browser.get(f"{ADMIN}/job/{jobs['errored'].pk}/change/"))
        response = browser.get(f"{ADMIN}/job/{jobs['meta'].pk}/change/")
        inline_names = [formset.opts.verbose_name_plural for formset in response.context["inline_admin_formsets"]]
        assert inline_names == ["job outputs", "child jobs"]
        assert f"{ADMIN}/job/{jobs['child'].pk}/change/" in page_text(response)

    def test_jobs_are_never_added_changed_or_deleted_here(self, browser, jobs):
        job = jobs["running"]
        assert browser.get(f"{ADMIN}/job/add/").status_code == 403
        edit = browser.post(f"{ADMIN}/job/{job.pk}/change/", {"description": "edited", "status": "finished"})
        assert edit.status_code == 403
        assert browser.get(f"{ADMIN}/job/{job.pk}/delete/").status_code == 403
        job.refresh_from_db()
        assert job.description != "edited" and job.status == "running"
        assert 'name="_save"' not in page_text(browser.get(f"{ADMIN}/job/{job.pk}/change/"))

    def test_the_outputs_changelist(self, browser, jobs):
        output = JobOutput.objects.get(job=jobs["finished"], name="model")
        html = page_text(browser.get(f"{ADMIN}/joboutput/"))
        assert f'href="/v1/job-outputs/{output.pk}/download"' in html
        assert self.listed_pks(browser.get(f"{ADMIN}/joboutput/?q=model")) == [output.pk]
        assert self.listed_pks(browser.get(f"{ADMIN}/joboutput/?state=deleted")) == []
        assert page_text(browser.get(f"{ADMIN}/joboutput/{output.pk}/change/"))
        assert browser.get(f"{ADMIN}/joboutput/add/").status_code == 403

    def test_only_staff_get_in(self, jobs):
        outsider = Client()
        outsider.force_login(UserFactory(username="carol"))
        for url in (f"{ADMIN}/job/", f"{ADMIN}/joboutput/", f"{ADMIN}/job/{jobs['finished'].pk}/change/"):
            response = outsider.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url
