"""What a job's notifications need beyond the job's own row, read without a query where possible.

* Its template's kind (meta or workable: which defaults apply) and label (``name vN``, in every message):
  template versions are never edited in place, so each process keeps them per template id (bounded).
  A template the job already carries (``job.template`` loaded) is used as it is; a template saved or
  deleted in this process drops its entry (test databases reuse ids after a rollback).
* Its creator's email address: read only when an email to the creator applies (an address may change
  any time, so it is never kept).

Models are reached through the job's own fields (no import of jobtemplates: dependencies point one way).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from django.db.models.signals import post_delete, post_save

TEMPLATE_CACHE_SIZE = 4096


@dataclass(frozen=True)
class TemplateFacts:
    is_meta: bool
    label: str  # "name vN", as messages show it


class _Bounded:
    """A small thread-safe LRU map (the notifier runs deliveries, and dispatches, on threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[int, TemplateFacts] = OrderedDict()
        self.lock = Lock()

    def get(self, key: int) -> TemplateFacts | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: int, value: TemplateFacts) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def drop(self, key: int | None = None) -> None:
        with self.lock:
            if key is None:
                self.items.clear()
            else:
                self.items.pop(key, None)


_templates = _Bounded(TEMPLATE_CACHE_SIZE)


def _facts_of(template) -> TemplateFacts:
    return TemplateFacts(is_meta=template.kind == "meta", label=f"{template.name} v{template.version}")


def template_facts(job) -> TemplateFacts:
    """The kind and label of ``job``'s template: from the job's loaded template, this process's cache,
    or (once per template and process) one query."""
    field = type(job)._meta.get_field("template")
    if field.is_cached(job):
        facts = _facts_of(job.template)
        _templates.put(job.template_id, facts)
        return facts
    kept = _templates.get(job.template_id)
    if kept is not None:
        return kept
    kind, name, version = (
        field.related_model._base_manager.filter(pk=job.template_id).values_list("kind", "name", "version").get()
    )
    facts = TemplateFacts(is_meta=kind == "meta", label=f"{name} v{version}")
    _templates.put(job.template_id, facts)
    return facts


def creator_email(job) -> str | None:
    """The email address of ``job``'s creator ("" and no creator: None); a query unless loaded."""
    if job.creator_id is None:
        return None
    field = type(job)._meta.get_field("creator")
    if field.is_cached(job):
        return job.creator.email or None
    email = field.related_model._base_manager.filter(pk=job.creator_id).values_list("email", flat=True).first()
    return email or None


def forget_templates() -> None:
    """Drop every kept template (tests)."""
    _templates.drop()


def _template_changed(sender, instance, **kwargs) -> None:
    _templates.drop(instance.pk)


# A lazy sender ("app_label.Model"): connected once the model is registered, without importing it.
post_save.connect(_template_changed, sender="jobtemplates.JobTemplate", dispatch_uid="notifications.facts.saved")
post_delete.connect(_template_changed, sender="jobtemplates.JobTemplate", dispatch_uid="notifications.facts.deleted")
