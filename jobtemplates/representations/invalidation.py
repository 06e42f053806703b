"""Kept representations read a few other rows: their changes drop the kept rows that read them.

A domain's ``name`` is in the §3.1 representation and the export, a licence's ``name`` in the export;
a saved domain or licence drops the kept rows of its templates (they are made again when next read),
at once and again when the transaction commits, so that a read which loaded the old name meanwhile
does not keep it. Everything else a template's answers read is the template's own and immutable, or
spliced in per answer (``jobtemplates.services.templates.representing``). Connected from the app's ``ready()``.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models.signals import post_save

from jobtemplates.models import JobTemplate
from jobtemplates.services.templates.representing import representations_drop


def _drop(**lookup) -> None:
    representations_drop(templates=JobTemplate.objects.filter(**lookup))


def domain_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created or raw:
        return  # a new domain has no templates yet (and fixtures load before anything is kept)
    _drop(domain_id=instance.pk)
    transaction.on_commit(partial(_drop, domain_id=instance.pk))


def licence_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created or raw:
        return
    _drop(licence_id=instance.pk)
    transaction.on_commit(partial(_drop, licence_id=instance.pk))


def connect_invalidation() -> None:
    """Connect the receivers (idempotent: each has a dispatch uid)."""
    post_save.connect(domain_saved, sender="contracts.Domain", dispatch_uid="kept-representations-domain")
    post_save.connect(licence_saved, sender="contracts.Licence", dispatch_uid="kept-representations-licence")
