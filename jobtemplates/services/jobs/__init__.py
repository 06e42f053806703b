"""Job services: create, relaunch, retry, transition, cancel, abort, outputs, meta-job orchestration, reaping."""

from jobtemplates.services.jobs.cancellation import job_abort, job_cancel, job_cancel_tree
from jobtemplates.services.jobs.creation import TemplateDeleted, job_create
from jobtemplates.services.jobs.enqueueing import job_enqueue
from jobtemplates.services.jobs.metajobs import meta_job_advance, meta_job_child_started, meta_job_progress
from jobtemplates.services.jobs.outputs import job_output_delete, job_output_write
from jobtemplates.services.jobs.relaunch import NotRelaunchable, job_relaunch
from jobtemplates.services.jobs.retrying import NotRetryable, RetryPlan, meta_job_retry
from jobtemplates.services.jobs.transitions import (
    Claim,
    IllegalTransition,
    ParentFollowing,
    StaleClaim,
    job_claim,
    job_heartbeat,
    job_progress,
    job_transition,
    parent_following_install,
)

# A child's moves (transitions) tell its meta-job (metajobs, which builds on transitions): wired here,
# where both are loaded, so that the modules import one way.
parent_following_install(
    ParentFollowing(child_started=meta_job_child_started, progress=meta_job_progress, advance=meta_job_advance)
)

__all__ = [
    "Claim",
    "IllegalTransition",
    "NotRelaunchable",
    "NotRetryable",
    "RetryPlan",
    "StaleClaim",
    "TemplateDeleted",
    "job_abort",
    "job_cancel",
    "job_cancel_tree",
    "job_claim",
    "job_create",
    "job_enqueue",
    "job_heartbeat",
    "job_output_delete",
    "job_output_write",
    "job_progress",
    "job_relaunch",
    "job_transition",
    "meta_job_advance",
    "meta_job_retry",
]
