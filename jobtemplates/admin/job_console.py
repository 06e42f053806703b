"""What a job's admin page shows of its run: a progress bar, its log's tail, a meta-job's graph coloured by
its children's statuses, and the live state a page script polls (``…/<pk>/live/``) to refresh them."""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from jobtemplates.graph_svg import NodeDecoration, render_graph_svg
from jobtemplates.log_tail import job_log_output, log_tail
from jobtemplates.models import FINAL_STATUSES, Job, JobStatus

# A node whose child job does not exist yet (its upstream children have not finished).
PENDING = "pending"
# status → (fill, stroke) of its node in the graph and of its legend swatch.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    PENDING: ("#f4f4f4", "#9e9e9e"),
    JobStatus.CREATED: ("#e3ecf7", "#3c6e9f"),
    JobStatus.RUNNING: ("#fff3c4", "#c79100"),
    JobStatus.FINISHED: ("#d7f0d8", "#2e7d32"),
    JobStatus.ERRORED: ("#f9d6d5", "#c62828"),
    JobStatus.CANCELLED: ("#e6e0ec", "#6a4f85"),
}
# How often the page asks for the live state while the job runs.
POLL_MILLISECONDS = 2000


def job_admin_url(pk: int) -> str:
    return reverse("admin:jobtemplates_job_change", args=[pk])


def progress_bar(job: Job) -> SafeString:
    """The job's progress as a bar and a percentage (which the page script updates while it runs)."""
    return format_html(
        '<span class="job-progress" data-job="{}"><progress max="100" value="{}"></progress> '
        '<span data-live="percent">{}</span></span>',
        job.pk,
        round(job.progress * 100),
        f"{job.progress:.0%}",
    )


def live_marker(job: Job) -> SafeString:
    """The element that starts the page script's polling (none once the job is final: nothing changes)."""
    if job.status in FINAL_STATUSES:
        return mark_safe("")
    colours = {status: fill for status, (fill, _) in STATUS_COLOURS.items()}
    return format_html(
        '<span hidden data-job-live="{}" data-interval="{}" data-colours="{}"></span> '
        '<span data-live="final-note"></span>',
        reverse("admin:jobtemplates_job_live", args=[job.pk]),
        POLL_MILLISECONDS,
        json.dumps(colours),
    )


def log_panel(job: Job) -> SafeString:
    """The tail of a workable job's log (read from the end of its file) with a link to the whole of it."""
    output = job_log_output(job=job)
    if output is None:  # not run yet (the runner stores the log when the run ends)
        return format_html('<pre class="job-log" data-live="log"></pre><p data-live="log-note">{}</p>', "No log yet.")
    tail = log_tail(output.file)
    return format_html(
        '<pre class="job-log" data-live="log" style="max-height:32em;overflow:auto;white-space:pre-wrap">{}</pre>'
        '<p data-live="log-note">{} <a href="{}">Download the whole log ({} bytes)</a></p>',
        tail.text,
        "Earlier lines are not shown." if tail.truncated else "",
        reverse("job-output-download", kwargs={"pk": output.pk}),
        tail.size,
    )


def children_by_node(job: Job) -> dict[str, Job]:
    """A meta-job's children by node name (one query)."""
    children = Job.objects.filter(parent=job, superseded_time__isnull=True).only(
        "pk", "parent_id", "child_name", "status", "progress"
    )
    return {child.child_name: child for child in children if child.child_name}


def node_decorations(children: dict[str, Job], node_names: list[str]) -> dict[str, NodeDecoration]:
    """Each node's colours by its child's status (pending: no child yet), linking to the child's page."""
    decorations = {}
    for name in node_names:
        child = children.get(name)
        status = child.status if child is not None else PENDING
        fill, stroke = STATUS_COLOURS.get(status, STATUS_COLOURS[PENDING])
        href = job_admin_url(child.pk) if child is not None else ""
        decorations[name] = NodeDecoration(fill=fill, stroke=stroke, href=href, status=status)
    return decorations


def graph_panel(job: Job) -> SafeString:
    """A meta-job's graph, each node coloured by its child's status and linking to it, with a legend."""
    template = job.template
    names = [node.name for node in template.node_list()]
    svg = render_graph_svg(template, decorations=node_decorations(children_by_node(job), names))
    legend = format_html_join(
        " ",
        '<span style="display:inline-block;margin-right:1em"><span style="display:inline-block;width:1em;'
        'height:1em;vertical-align:middle;background:{};border:1px solid {}"></span> {}</span>',
        ((fill, stroke, status) for status, (fill, stroke) in STATUS_COLOURS.items()),
    )
    # The SVG is ours: every text in it is XML-escaped by render_graph_svg.
    return format_html(
        '<div class="job-graph" style="overflow:auto">{}</div><p class="job-graph-legend">{}</p>',
        mark_safe(svg),  # noqa: S308
        legend,
    )


def live_state(job: Job) -> dict[str, Any]:
    """What the page script refreshes: the job's status and progress, its children's (one query) and its
    log's tail (one query and one read from the end of the file). ``final``: nothing will change, stop."""
    children = (
        Job.objects.filter(parent=job, superseded_time__isnull=True)
        .order_by("pk")
        .values_list("pk", "child_name", "status", "progress")
    )
    output = job_log_output(job=job) if not job.template.is_meta else None
    log = None
    if output is not None:
        tail = log_tail(output.file)
        log = {
            "text": tail.text,
            "truncated": tail.truncated,
            "size": tail.size,
            "download": reverse("job-output-download", kwargs={"pk": output.pk}),
        }
    return {
        "pk": job.pk,
        "status": job.status,
        "progress": job.progress,
        "error_reason": job.error_reason,
        "final": job.status in FINAL_STATUSES,
        "children": [
            {"pk": pk, "name": name, "status": status, "progress": progress, "url": job_admin_url(pk)}
            for pk, name, status, progress in children
        ],
        "log": log,
    }
