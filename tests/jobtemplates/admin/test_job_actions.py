"""Cancel, abort and relaunch on a job's admin page (Django's test client): each behind a confirmation page
that POSTs with its CSRF token, who may do which, buttons only where the action is allowed, refusals of the
job services (409) shown as error messages, and relaunch with the same, edited and invalid values."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from jobtemplates.models import Job, JobOutput
from jobtemplates.services.jobs import job_output_write
from tests.factories import JobFactory
from tests.jobtemplates.admin.conftest import JOBS, NOOP_BODY

pytestmark = pytest.mark.django_db


def page(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def buttons(browser: Client, job: Job) -> list[str]:
    """The labels of the job page's action buttons."""
    return re.findall(r'class="job-action">([^<]+)</a>', page(browser.get(f"{JOBS}/{job.pk}/change/")))


class TestCancel:
    def test_a_confirmation_page_then_a_post_with_its_csrf_token(self, noop_job, operator):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(operator)
        confirm = browser.get(f"{JOBS}/{noop_job.pk}/cancel/")
        html = page(confirm)
        assert f"Cancel job {noop_job.pk}?" in html and 'name="csrfmiddlewaretoken"' in html
        assert Job.objects.get(pk=noop_job.pk).status == "created"  # asking changes nothing
        assert browser.post(f"{JOBS}/{noop_job.pk}/cancel/").status_code == 403  # no token, no cancel
        assert Job.objects.get(pk=noop_job.pk).status == "created"
        token = confirm.context["csrf_token"]
        done = browser.post(f"{JOBS}/{noop_job.pk}/cancel/", {"csrfmiddlewaretoken": str(token)}, follow=True)
        assert done.redirect_chain == [(f"{JOBS}/{noop_job.pk}/change/", 302)]
        assert messages_of(done) == [("success", f"Job {noop_job.pk} cancelled.")]
        job = Job.objects.get(pk=noop_job.pk)
        assert (job.status, job.is_cancelled) == ("cancelled", True)

    def test_its_creator_and_a_superuser_see_the_button_another_operator_does_not(
        self, noop_job, operator_browser, root_browser, other_operator
    ):
        assert "Cancel" in buttons(operator_browser, noop_job)
        assert "Cancel" in buttons(root_browser, noop_job)
        other = Client()
        other.force_login(other_operator)
        assert "Cancel" not in buttons(other, noop_job)

    def test_another_operator_is_refused(self, noop_job, other_operator):
        other = Client()
        other.force_login(other_operator)
        assert other.get(f"{JOBS}/{noop_job.pk}/cancel/").status_code == 403
        assert other.post(f"{JOBS}/{noop_job.pk}/cancel/").status_code == 403
        assert Job.objects.get(pk=noop_job.pk).status == "created"

    def test_cancel_any_job_lets_an_operator_cancel_others_jobs(self, noop_job, other_operator):
        other_operator.user_permissions.add(Permission.objects.get(codename="cancel_any_job"))
        other = Client()
        other.force_login(other_operator)
        assert "Cancel" in buttons(other, noop_job)
        other.post(f"{JOBS}/{noop_job.pk}/cancel/")
        assert Job.objects.get(pk=noop_job.pk).status == "cancelled"

    @pytest.mark.parametrize("state", ["finished", "errored", "cancelled"])
    def test_no_button_for_a_final_job_and_a_post_is_refused_with_a_message(self, templates, root_browser, state):
        job = JobFactory(template=templates["noop"], **{state: True})
        assert "Cancel" not in buttons(root_browser, job)
        response = root_browser.post(f"{JOBS}/{job.pk}/cancel/", follow=True)
        if state == "cancelled":  # cancelling a cancelled job changes nothing (as in the API)
            assert messages_of(response) == [("success", f"Job {job.pk} cancelled.")]
        else:
            assert messages_of(response) == [("error", f"Job {job.pk}: A {state} job cannot be cancelled.")]
        assert Job.objects.get(pk=job.pk).status == state

    def test_cancelling_a_meta_job_cancels_its_unfinished_children(self, templates, root_browser):
        parent = JobFactory(template=templates["meta"], running=True)
        done = JobFactory(template=templates["train"], finished=True, parent=parent, child_name="train")
        queued = JobFactory(template=templates["predict"], parent=parent, child_name="predict")
        root_browser.post(f"{JOBS}/{parent.pk}/cancel/")
        statuses = dict(Job.objects.filter(parent=parent).values_list("pk", "status"))
        assert statuses == {done.pk: "finished", queued.pk: "cancelled"}
        assert Job.objects.get(pk=parent.pk).status == "cancelled"


class TestAbort:
    @pytest.mark.parametrize("state", ["running", "errored"])
    def test_a_superuser_resets_the_job_with_its_outputs_removed(self, templates, root_browser, state):
        job = JobFactory(template=templates["noop"], progress=0.5, **{state: True})
        job_output_write(job=job, name="log", output_type="BLOB<'log'>", data=b"line\n")
        assert "Abort (reset and queue again)" in buttons(root_browser, job)
        assert f"Abort job {job.pk}?" in page(root_browser.get(f"{JOBS}/{job.pk}/abort/"))
        assert Job.objects.get(pk=job.pk).status == state
        response = root_browser.post(f"{JOBS}/{job.pk}/abort/", follow=True)
        assert messages_of(response) == [("success", f"Job {job.pk} aborted: back to created and queued again.")]
        job.refresh_from_db()
        assert (job.status, job.progress, job.worker, job.start_time) == ("created", 0.0, None, None)
        assert not JobOutput.objects.filter(job=job).exists()

    def test_plain_staff_cannot_abort_even_their_own_job(self, templates, operator, operator_browser):
        job = JobFactory(template=templates["noop"], creator=operator, running=True)
        assert "Abort (reset and queue again)" not in buttons(operator_browser, job)
        assert operator_browser.get(f"{JOBS}/{job.pk}/abort/").status_code == 403
        assert operator_browser.post(f"{JOBS}/{job.pk}/abort/").status_code == 403
        assert Job.objects.get(pk=job.pk).status == "running"

    def test_abort_job_lets_an_operator_abort(self, templates, operator, operator_browser):
        operator.user_permissions.add(Permission.objects.get(codename="abort_job"))
        job = JobFactory(template=templates["noop"], errored=True)
        assert "Abort (reset and queue again)" in buttons(operator_browser, job)
        operator_browser.post(f"{JOBS}/{job.pk}/abort/")
        assert Job.objects.get(pk=job.pk).status == "created"

    @pytest.mark.parametrize("state", ["created", "finished", "cancelled"])
    def test_other_states_have_no_button_and_a_post_is_refused_with_a_message(self, templates, root_browser, state):
        job = JobFactory(template=templates["noop"], **({} if state == "created" else {state: True}))
        assert "Abort (reset and queue again)" not in buttons(root_browser, job)
        response = root_browser.post(f"{JOBS}/{job.pk}/abort/", follow=True)
        [(level, text)] = messages_of(response)
        assert level == "error" and text.startswith(f"Job {job.pk}: ")
        assert Job.objects.get(pk=job.pk).status == state

    def test_a_meta_job_cannot_be_aborted(self, templates, root_browser):
        parent = JobFactory(template=templates["meta"], errored=True)
        assert "Abort (reset and queue again)" not in buttons(root_browser, parent)
        response = root_browser.post(f"{JOBS}/{parent.pk}/abort/", follow=True)
        refusal = f"Job {parent.pk}: A meta-job cannot be aborted; cancel it instead."
        assert messages_of(response) == [("error", refusal)]
        assert Job.objects.get(pk=parent.pk).status == "errored"


class TestRelaunch:
    def form_values(self, browser: Client, job: Job) -> dict[str, str]:
        """What the relaunch form holds when it opens (the job's own values)."""
        form = browser.get(f"{JOBS}/{job.pk}/relaunch/").context["form"]
        return {name: form[name].value() or "" for name in ("input_values", "parameter_values", "description")}

    def test_the_form_opens_with_the_jobs_values(self, noop_job, operator_browser):
        assert "Relaunch" in buttons(operator_browser, noop_job)
        values = self.form_values(operator_browser, noop_job)
        assert json.loads(values["input_values"]) == noop_job.input_values == {}
        assert json.loads(values["parameter_values"]) == NOOP_BODY["parameter_values"]
        assert values["description"] == "first"

    def test_the_same_values_make_a_new_job_that_names_its_origin(self, noop_job, root_browser, admin_user):
        values = self.form_values(root_browser, noop_job)
        response = root_browser.post(f"{JOBS}/{noop_job.pk}/relaunch/", values, follow=True)
        relaunched = Job.objects.exclude(pk=noop_job.pk).get()
        assert response.redirect_chain == [(f"{JOBS}/{relaunched.pk}/change/", 302)]
        assert messages_of(response) == [("success", f"Job {relaunched.pk} created, relaunching job {noop_job.pk}.")]
        assert (relaunched.template_id, relaunched.relaunched_from_id, relaunched.creator_id) == (
            noop_job.template_id,
            noop_job.pk,
            admin_user.pk,
        )
        assert (relaunched.input_values, relaunched.parameter_values, relaunched.resolved_parameters) == (
            noop_job.input_values,
            noop_job.parameter_values,
            noop_job.resolved_parameters,
        )
        assert relaunched.status == "created"

    def test_edited_values(self, noop_job, operator_browser):
        values = self.form_values(operator_browser, noop_job)
        values["parameter_values"] = json.dumps({"steps": {"value": 3, "type": "int"}})
        values["description"] = "again, in three steps"
        operator_browser.post(f"{JOBS}/{noop_job.pk}/relaunch/", values)
        relaunched = Job.objects.get(relaunched_from=noop_job)
        assert relaunched.parameter_values == {"steps": {"value": 3, "type": "int"}}
        assert relaunched.resolved_parameters["steps"]["value"] == 3
        assert relaunched.resolved_parameters["sleep"]["value"] == 0.0  # the default again: not given
        assert relaunched.description == "again, in three steps"

    def test_an_invalid_edit_shows_each_problem_by_path_keeps_the_text_and_creates_nothing(
        self, noop_job, operator_browser
    ):
        values = self.form_values(operator_browser, noop_job)
        edited = json.dumps({"sleep": {"value": "slow", "type": "float"}, "nope": {"value": 1, "type": "int"}})
        values["parameter_values"] = edited
        values["input_values"] = json.dumps({"dataset": {"value": 1, "type": "int"}})
        response = operator_browser.post(f"{JOBS}/{noop_job.pk}/relaunch/", values)
        html = page(response)
        assert "The job was not relaunched" in html
        form = response.context["form"]
        parameter_errors = form.errors["parameter_values"]
        assert any(error.startswith("parameter_values.sleep.value: ") for error in parameter_errors), parameter_errors
        assert any(error.startswith("parameter_values.nope: ") for error in parameter_errors), parameter_errors
        assert any(error.startswith("input_values.dataset") for error in form.errors["input_values"])
        assert form["parameter_values"].value() == edited  # what was typed is kept
        assert Job.objects.count() == 1

    def test_text_that_is_not_json_is_a_problem_of_its_field(self, noop_job, operator_browser):
        values = self.form_values(operator_browser, noop_job)
        values["parameter_values"] = '{"sleep": '
        response = operator_browser.post(f"{JOBS}/{noop_job.pk}/relaunch/", values)
        [error] = response.context["form"].errors["parameter_values"]
        assert error.startswith("Not valid JSON")
        assert Job.objects.count() == 1

    def test_a_child_job_has_no_button_and_is_refused(self, templates, root_browser):
        parent = JobFactory(template=templates["meta"], finished=True)
        child = JobFactory(template=templates["noop"], finished=True, parent=parent, child_name="train")
        assert "Relaunch" not in buttons(root_browser, child)
        assert "Relaunch" in buttons(root_browser, parent)
        response = root_browser.post(
            f"{JOBS}/{child.pk}/relaunch/", {"input_values": "{}", "parameter_values": "{}", "description": ""}
        )
        errors = response.context["form"].non_field_errors()
        assert any("relaunch the meta-job" in error for error in errors), errors
        assert not Job.objects.filter(relaunched_from=child).exists()


def test_the_actions_are_for_staff_who_may_view_jobs(noop_job, user):
    outsider = Client()
    outsider.force_login(user)  # not staff
    for action in ("cancel", "abort", "relaunch"):
        response = outsider.get(f"{JOBS}/{noop_job.pk}/{action}/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"], action
    assert Client().post(f"{JOBS}/{noop_job.pk}/cancel/").status_code == 302
    assert Job.objects.get(pk=noop_job.pk).status == "created"
