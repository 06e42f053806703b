"""Idempotent create-job: a request's ``Idempotency-Key`` (per user, kept ``IDEMPOTENCY_KEY_TTL_SECONDS``).

The key is written in the job's own transaction, so a request that created its job (even one whose
client gave up waiting) has recorded its key, and one that failed has recorded nothing: its retry is
a fresh request. The same key again with the same template and body answers the job it made (as it is
now); with anything else, a 409 ``idempotency_key_reused``. Two requests with one key at the same
time make one job: the unique constraint makes the second wait for the first and then answer its job.
"""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.errors import Conflict, MalformedRequest, Problem
from jobtemplates.models import IdempotencyKey, Job, JobTemplate
from jobtemplates.models.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from jobtemplates.services.jobs.creation import job_create_with_children

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class IdempotentCreation:
    job: Job
    replayed: bool  # True: an earlier request with this key made the job
    children: list[int] | None = None  # made now: the children created with it (a replay: None, read the job)


def idempotency_key_parse(raw: str | None) -> str | None:
    """The header's key, or None without one; a bad one (empty, too long, not printable ASCII) is a 400."""
    if raw is None:
        return None
    key = raw.strip()
    problem = None
    if not key:
        problem = "must not be empty"
    elif len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        problem = f"must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters (it has {len(key)})"
    elif not all(" " <= char <= "~" for char in key):
        problem = "must be printable ASCII"
    if problem is None:
        return key
    raise MalformedRequest(
        f"{IDEMPOTENCY_KEY_HEADER} {problem}.",
        code="invalid_idempotency_key",
        problems=[Problem(path=f"headers.{IDEMPOTENCY_KEY_HEADER}", code="invalid_idempotency_key", message=problem)],
    )


def request_fingerprint(*, template: JobTemplate, body: Any) -> str:
    """SHA-256 of the template's pk and the body as canonical JSON (keys sorted, no spaces)."""
    canonical = json.dumps({"template": template.pk, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _expiry_cutoff():
    return timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)


def idempotent_job(*, user, key: str, fingerprint: str) -> Job | None:
    """The job an unexpired ``key`` of ``user`` made, or None; the key with another request is a 409.
    An expired record of the key (not pruned yet) is deleted here, making way for this request."""
    record = IdempotencyKey.objects.filter(user=user, key=key).select_related("job").first()
    if record is None:
        return None
    if record.creation_time < _expiry_cutoff():
        IdempotencyKey.objects.filter(pk=record.pk, creation_time__lt=_expiry_cutoff()).delete()
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"{IDEMPOTENCY_KEY_HEADER} {key!r} was used for another request (job {record.job_id}); "
            "use a new key for a new request.",
            problems=[
                Problem(
                    path=f"headers.{IDEMPOTENCY_KEY_HEADER}",
                    code="idempotency_key_reused",
                    message=f"used for job {record.job_id} with another template or body",
                )
            ],
            extra={"job": record.job_id},
        )
    return record.job


def job_create_idempotent(*, template: JobTemplate, body: Any, creator, key: str) -> IdempotentCreation:
    """create-job under an idempotency key: the job the key made, or a new job written with its key (in
    the job's own statement or transaction: creation.job_create_with_children)."""
    fingerprint = request_fingerprint(template=template, body=body)
    earlier = idempotent_job(user=creator, key=key, fingerprint=fingerprint)
    if earlier is not None:
        return IdempotentCreation(job=earlier, replayed=True)
    record = IdempotencyKey(user=creator, key=key, fingerprint=fingerprint)
    try:
        # Inside a caller's transaction, a savepoint keeps it usable when the key's insert conflicts.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            creation = job_create_with_children(template=template, body=body, creator=creator, with_row=record)
    except IntegrityError:
        # A request with the same key committed first (its insert made ours wait): answer its job.
        earlier = idempotent_job(user=creator, key=key, fingerprint=fingerprint)
        if earlier is None:
            raise
        logger.info("create-job: a concurrent request with key %r made job %s first", key, earlier.pk)
        return IdempotentCreation(job=earlier, replayed=True)
    return IdempotentCreation(job=creation.job, replayed=False, children=creation.children)


def idempotency_keys_prune() -> int:
    """Delete the keys older than ``IDEMPOTENCY_KEY_TTL_SECONDS``; how many went."""
    deleted, _ = IdempotencyKey.objects.filter(creation_time__lt=_expiry_cutoff()).delete()
    return deleted
