"""Cancel, abort and relaunch on a job's admin page, each behind a confirmation page (a POST with its CSRF
token), and the live state the page's script polls.

Who may do what follows the API (http-api.md §4.2): cancel is for the job's creator and for operators
holding ``cancel_any_job``; abort for those holding ``abort_job`` (superusers hold both); relaunch for
anyone who may see the job, as themselves, checked as create-job checks. A button shows only when its
action is allowed for the job's status and the user; a refusal of the service (a 409: the job moved on
meanwhile) comes back as an error message on the job's page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from config.errors import ApplicationError
from jobtemplates.admin.job_console import job_admin_url, live_state
from jobtemplates.admin.relaunch_form import RelaunchForm
from jobtemplates.models import FINAL_STATUSES, Job, JobStatus
from jobtemplates.services.jobs import job_abort, job_cancel, job_relaunch

ABORTABLE = frozenset({JobStatus.RUNNING, JobStatus.ERRORED})


def user_may_cancel(user, job: Job) -> bool:
    """``user`` created the job or may cancel any job."""
    return (job.creator_id is not None and job.creator_id == user.pk) or user.has_perm("jobtemplates.cancel_any_job")


def may_cancel(user, job: Job) -> bool:
    """The job is unfinished and ``user`` may cancel it."""
    return job.status not in FINAL_STATUSES and user_may_cancel(user, job)


def may_abort(user, job: Job) -> bool:
    """A running or errored workable job (a meta-job runs no executor) and a user who may abort jobs."""
    return job.status in ABORTABLE and not job.template.is_meta and user.has_perm("jobtemplates.abort_job")


def may_relaunch(user, job: Job) -> bool:
    """Any job but a meta-job's child (its inputs are wired by its parent: relaunch the parent)."""
    return job.parent_id is None


@dataclass(frozen=True)
class JobActionButton:
    label: str
    url: str


def job_action_buttons(user, job: Job) -> list[JobActionButton]:
    """The buttons of the job's page: the actions allowed for its status and for ``user``."""
    allowed = [
        ("cancel", "Cancel", may_cancel),
        ("abort", "Abort (reset and queue again)", may_abort),
        ("relaunch", "Relaunch", may_relaunch),
    ]
    return [
        JobActionButton(label, reverse(f"admin:jobtemplates_job_{name}", args=[job.pk]))
        for name, label, rule in allowed
        if rule(user, job)
    ]


if TYPE_CHECKING:  # a mixin of a ModelAdmin: what it calls (admin_site, get_object, message_user…) is the admin's
    _AdminBase = admin.ModelAdmin
else:
    _AdminBase = object


class JobConsoleViews(_AdminBase):
    """The job admin's own pages (a mixin of JobAdmin): ``<pk>/cancel/``, ``abort/``, ``relaunch/``, ``live/``."""

    def console_urls(self) -> list[URLPattern]:
        views = {
            "cancel": self.cancel_view,
            "abort": self.abort_view,
            "relaunch": self.relaunch_view,
            "live": self.live_view,
        }
        return [
            path(f"<int:pk>/{name}/", self.admin_site.admin_view(view), name=f"jobtemplates_job_{name}")
            for name, view in views.items()
        ]

    def visible_job(self, request: HttpRequest, pk: int) -> Job:
        """The job, for a user who may view it here (404 / 403 otherwise)."""
        job = self.get_object(request, str(pk))
        if job is None:
            raise Http404(f"No job {pk}.")
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return job

    def confirmation(
        self, request: HttpRequest, job: Job, *, action: str, question: str, consequence: str
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": question,
            "opts": self.model._meta,
            "object": job,
            "action": action,
            "consequence": consequence,
            "back": job_admin_url(job.pk),
        }
        return TemplateResponse(request, "admin/jobtemplates/job/confirm_action.html", context)

    def perform(self, request: HttpRequest, job: Job, service: Callable[..., Job], done: str) -> HttpResponseRedirect:
        """Run ``service(job=job)``; say what happened, or why the service refused, on the job's page."""
        try:
            service(job=job)
        except ApplicationError as error:
            self.message_user(request, f"Job {job.pk}: {error.detail}", messages.ERROR)
        else:
            self.message_user(request, f"Job {job.pk} {done}.", messages.SUCCESS)
        return HttpResponseRedirect(job_admin_url(job.pk))

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.visible_job(request, pk)
        if not user_may_cancel(request.user, job):
            raise PermissionDenied
        if request.method == "POST":
            return self.perform(request, job, job_cancel, "cancelled")
        return self.confirmation(
            request,
            job,
            action="cancel",
            question=f"Cancel job {job.pk}?",
            consequence="It and its unfinished children are cancelled: a queued job never runs, a running one "
            "is asked to stop (and terminated after a grace period).",
        )

    def abort_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.visible_job(request, pk)
        if not request.user.has_perm("jobtemplates.abort_job"):
            raise PermissionDenied
        if request.method == "POST":
            return self.perform(request, job, job_abort, "aborted: back to created and queued again")
        return self.confirmation(
            request,
            job,
            action="abort",
            question=f"Abort job {job.pk}?",
            consequence="It goes back to created: its outputs are removed, its worker or node let go, and it is "
            "queued again.",
        )

    def relaunch_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.visible_job(request, pk)
        if request.method == "POST":
            form = RelaunchForm(request.POST)
            if form.is_valid():
                try:
                    relaunched = job_relaunch(job=job, creator=request.user, changes=form.changes())
                except ApplicationError as error:
                    form.add_problems(error)
                else:
                    self.message_user(
                        request, f"Job {relaunched.pk} created, relaunching job {job.pk}.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(job_admin_url(relaunched.pk))
        else:
            form = RelaunchForm.for_job(job)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Relaunch job {job.pk}",
            "opts": self.model._meta,
            "object": job,
            "form": form,
            "back": job_admin_url(job.pk),
        }
        return TemplateResponse(request, "admin/jobtemplates/job/relaunch.html", context)

    def live_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The job's live state as JSON (admin_view marks it never cached)."""
        return JsonResponse(live_state(self.visible_job(request, pk)))
